// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/object_codec.h"

#include <nlohmann/json.hpp>

namespace netfence::kube {

std::optional<k8s::Object> DecodeResourceObject(const nlohmann::json& j, const ResourceSpec& resource,
                                                const std::string& source, k8s::ObjectError* error) {
  const nlohmann::json* in = &j;
  nlohmann::json filled;
  if (j.is_object() && (!j.contains("kind") || !j.contains("apiVersion"))) {
    filled = j;
    if (!filled.contains("kind")) filled["kind"] = resource.kind;
    if (!filled.contains("apiVersion")) filled["apiVersion"] = resource.api_version;
    in = &filled;
  }
  k8s::FieldErrors errors;
  std::string ignored;
  std::optional<k8s::Object> obj = k8s::DecodeObject(*in, &errors, &ignored);
  if (obj && errors.empty() && resource.kind == k8s::KindOf(*obj)) return obj;
  if (errors.empty()) {
    std::string kind = obj ? k8s::KindOf(*obj) : ignored;
    errors.push_back({k8s::FieldError::Type::kUnsupported, "kind", "\"" + kind + "\"",
                      "supported values: \"" + resource.kind + "\""});
  }
  *error = k8s::ObjectError{source, resource.kind, "", "", std::move(errors)};
  k8s::IdentifyObject(*in, &error->kind, &error->ns, &error->name);
  return std::nullopt;
}

bool ObjectName(const nlohmann::json& j, std::string* ns, std::string* name) {
  std::string kind;
  k8s::IdentifyObject(j, &kind, ns, name);
  return !name->empty();
}

std::optional<k8s::Object> FindInStore(const source::ClusterStore& store, const std::string& kind,
                                       const std::string& ns, const std::string& name) {
  const std::string key = ns.empty() ? name : ns + "/" + name;
  auto find = [&](const auto& map) -> std::optional<k8s::Object> {
    auto it = map.find(key);
    if (it == map.end()) return std::nullopt;
    return k8s::Object(it->second);
  };
  if (kind == "Namespace") return find(store.namespaces());
  if (kind == "Pod") return find(store.pods());
  if (kind == "NetworkPolicy") return find(store.policies());
  if (kind == "Node") return find(store.nodes());
  auto it = store.cluster_policies().find(kind + "/" + name);  // ClusterStore::KeyOf
  if (it != store.cluster_policies().end()) return k8s::Object(it->second);
  return std::nullopt;
}

}  // namespace netfence::kube
