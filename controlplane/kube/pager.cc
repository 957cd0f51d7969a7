// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/pager.h"

#include "common/base/json_depth.h"

namespace netfence::kube {
namespace {

using nlohmann::json;

struct Page {
  std::string resource_version;
  std::string continue_token;
  std::vector<json> items;
};

// Parses one page; the error message names what is wrong with it.
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

}  // namespace

std::string ListQuery(int limit, const std::string& resource_version, const std::string& continue_token) {
  std::string q;
  auto add = [&](const std::string& k, const std::string& v) {
    q += (q.empty() ? "?" : "&") + k + "=" + QueryEscape(v);
  };
  if (limit > 0) add("limit", std::to_string(limit));
  if (!continue_token.empty()) {
    add("continue", continue_token);
  } else if (!resource_version.empty()) {
    add("resourceVersion", resource_version);
    add("resourceVersionMatch", "NotOlderThan");
  }
  return q;
}

boost::asio::awaitable<ListResult> ListAll(ApiClient& client, const ResourceSpec& resource, const ListRequest& request,
                                           ConnectionSlot* slot) {
  ListResult out;
  int limit = request.page_size;
  std::string rv = request.resource_version;
  std::string cont;
  for (;;) {
    if (slot->stopped()) {
      out.error = TransportError("stopped");
      co_return out;
    }
    const std::string path = resource.path + ListQuery(limit, rv, cont);
    auto res = co_await client.GetAll(path, slot);
    if (!res.ok()) {
      out.error = TransportError(res.status().message());
      co_return out;
    }
    if (res->status != 200) {
      ApiError e = ErrorFromResponse(res->status, res->body, res->retry_after, "GET " + client.url().str() + path);
      if (e.gone() && !cont.empty() && out.continue_restarts < kMaxContinueRestarts) {
        // The continue token expired mid-list: start over, in pages again.
        ++out.continue_restarts;
        cont.clear();
        out.items.clear();
        out.pages = 0;
        continue;
      }
      if ((e.gone() || e.resource_version_too_large) && !rv.empty() && cont.empty()) {
        // The last RV we saw is no longer (or not yet) served: list the most recent state.
        ++out.rv_fallbacks;
        rv.clear();
        out.items.clear();
        out.pages = 0;
        continue;
      }
      out.error = std::move(e);
      co_return out;
    }
    Page page;
    std::string why;
    if (!ParsePage(res->body, resource, &page, &why)) {
      out.error = TransportError("GET " + client.url().str() + path + ": " + why);
      co_return out;
    }
    if (out.pages++ == 0) {
      if (page.resource_version.empty()) {
        out.error = TransportError("GET " + client.url().str() + path + ": list has no metadata.resourceVersion");
        co_return out;
      }
      out.resource_version = page.resource_version;
    }
    for (json& item : page.items) out.items.push_back(std::move(item));
    if (page.continue_token.empty()) {
      out.ok = true;
      co_return out;
    }
    cont = std::move(page.continue_token);
  }
}

}  // namespace netfence::kube
