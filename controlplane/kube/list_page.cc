// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/list_page.h"

#include "common/base/json_depth.h"

namespace netfence::kube {

using nlohmann::json;

bool ParsePage(const std::string& body, const ResourceSpec& resource, Page* page, std::string* error) {
  if (Status depth = CheckJsonDepth(body); !depth.ok()) {
    *error = depth.message();
    return false;
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    *error = "response is not a JSON object";
    return false;
  }
  auto meta = j.find("metadata");
  if (meta == j.end() || !meta->is_object()) {
    *error = "response has no metadata";
    return false;
  }
  if (auto rv = meta->find("resourceVersion"); rv != meta->end() && rv->is_string()) {
    page->resource_version = rv->get<std::string>();
  }
  if (auto c = meta->find("continue"); c != meta->end() && c->is_string()) page->continue_token = c->get<std::string>();
  auto items = j.find("items");
  if (items != j.end() && !items->is_null() && !items->is_array()) {
    *error = "items is not an array";
    return false;
  }
  if (items == j.end() || items->is_null()) return true;
  std::string api_version = resource.api_version;
  if (auto a = j.find("apiVersion"); a != j.end() && a->is_string()) api_version = a->get<std::string>();
  page->items.reserve(items->size());
  for (json& item : *items) {
    if (item.is_object()) {
      if (!item.contains("kind")) item["kind"] = resource.kind;
      if (!item.contains("apiVersion")) item["apiVersion"] = api_version;
    }
    page->items.push_back(std::move(item));
  }
  return true;
}

}  // namespace netfence::kube
