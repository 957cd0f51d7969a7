// SPDX-License-Identifier: Apache-2.0
#include "controlplane/k8s/json_reader.h"

namespace netfence::k8s {

using nlohmann::json;

const char* JsonTypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::null:
      return "null";
    default:
      return "number";
  }
}

ObjectMeta ReadMeta(Reader& r, const json& j) {
  ObjectMeta meta;
  const json* m = r.member(j, "metadata");
  if (!m) return meta;
  if (!r.object(*m, "metadata")) return meta;
  meta.name = r.string(*m, "name", "metadata.name").value_or("");
  meta.ns = r.string(*m, "namespace", "metadata.namespace").value_or("");
  meta.labels = r.string_map(*m, "labels", "metadata.labels");
  meta.resource_version = r.string(*m, "resourceVersion", "metadata.resourceVersion").value_or("");
  meta.uid = r.string(*m, "uid", "metadata.uid").value_or("");
  // Only netfence's own annotation is kept (the others mean nothing to the compiler).
  Labels annotations = r.string_map(*m, "annotations", "metadata.annotations");
  if (auto it = annotations.find(kEnforcementAnnotation); it != annotations.end()) meta.enforcement = it->second;
  return meta;
}

LabelSelector ReadSelector(Reader& r, const json& j, const std::string& path) {
  LabelSelector sel;
  if (!r.object(j, path)) return sel;
  sel.match_labels = r.string_map(j, "matchLabels", path + ".matchLabels");
  r.array(j, "matchExpressions", path + ".matchExpressions", [&](const json& e, const std::string& p) {
    if (!r.object(e, p)) return;
    LabelSelectorRequirement req;
    req.key = r.string(e, "key", p + ".key").value_or("");
    req.op = r.string(e, "operator", p + ".operator").value_or("");
    req.values = r.strings(e, "values", p + ".values");
    sel.match_expressions.push_back(std::move(req));
  });
  return sel;
}

std::optional<LabelSelector> ReadOptionalSelector(Reader& r, const json& obj, const char* key,
                                                  const std::string& path) {
  const json* m = r.member(obj, key);
  if (!m) return std::nullopt;
  return ReadSelector(r, *m, path);
}

}  // namespace netfence::k8s
