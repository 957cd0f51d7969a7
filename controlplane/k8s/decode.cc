// SPDX-License-Identifier: Apache-2.0
#include "controlplane/k8s/decode.h"

#include <nlohmann/json.hpp>

#include "controlplane/k8s/validate.h"

namespace netfence::k8s {

using nlohmann::json;

const char* KindOf(const Object& o) {
  if (std::holds_alternative<Namespace>(o)) return "Namespace";
  if (std::holds_alternative<Pod>(o)) return "Pod";
  return "NetworkPolicy";
}

const ObjectMeta& MetaOf(const Object& o) {
  return std::visit([](const auto& x) -> const ObjectMeta& { return x.meta; }, o);
}

namespace {

const char* TypeName(const json& j) {
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

// Walks a JSON document and records shape errors with their field paths.
class Reader {
 public:
  explicit Reader(FieldErrors* errors) : errors_(errors) {}

  void mismatch(const std::string& path, const json& j, const char* want) {
    // Invalid UTF-8 in the input is shown replaced, never thrown.
    errors_->push_back({FieldError::Type::kTypeMismatch, path, j.dump(-1, ' ', false, json::error_handler_t::replace),
                        std::string("expected ") + want + ", got " + TypeName(j)});
  }

  // Returns the member if present and not null.
  const json* member(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  bool object(const json& j, const std::string& path) {
    if (j.is_object()) return true;
    mismatch(path, j, "object");
    return false;
  }

  std::optional<std::string> string(const json& obj, const char* key, const std::string& path) {
    const json* m = member(obj, key);
    if (!m) return std::nullopt;
    if (!m->is_string()) {
      mismatch(path, *m, "string");
      return std::nullopt;
    }
    return m->get<std::string>();
  }

  std::optional<int64_t> integer(const json& obj, const char* key, const std::string& path) {
    const json* m = member(obj, key);
    if (!m) return std::nullopt;
    if (!m->is_number_integer()) {
      mismatch(path, *m, "integer");
      return std::nullopt;
    }
    return m->get<int64_t>();
  }

  bool boolean(const json& obj, const char* key, const std::string& path) {
    const json* m = member(obj, key);
    if (!m) return false;
    if (!m->is_boolean()) {
      mismatch(path, *m, "boolean");
      return false;
    }
    return m->get<bool>();
  }

  // Iterates an array member; calls f(element, path) for each element.
  template <typename F>
  void array(const json& obj, const char* key, const std::string& path, F&& f) {
    const json* m = member(obj, key);
    if (!m) return;
    if (!m->is_array()) {
      mismatch(path, *m, "array");
      return;
    }
    for (size_t i = 0; i < m->size(); ++i) f((*m)[i], path + "[" + std::to_string(i) + "]");
  }

  std::vector<std::string> strings(const json& obj, const char* key, const std::string& path) {
    std::vector<std::string> out;
    array(obj, key, path, [&](const json& e, const std::string& p) {
      if (e.is_string()) {
        out.push_back(e.get<std::string>());
      } else {
        mismatch(p, e, "string");
      }
    });
    return out;
  }

  Labels string_map(const json& obj, const char* key, const std::string& path) {
    Labels out;
    const json* m = member(obj, key);
    if (!m) return out;
    if (!m->is_object()) {
      mismatch(path, *m, "map of strings");
      return out;
    }
    for (auto it = m->begin(); it != m->end(); ++it) {
      if (it->is_string()) {
        out[it.key()] = it->get<std::string>();
      } else {
        mismatch(path + "." + it.key(), *it, "string");
      }
    }
    return out;
  }

 private:
  FieldErrors* errors_;
};

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

NetworkPolicyRule ReadRule(Reader& r, const json& j, const std::string& path, const char* peers_key) {
  NetworkPolicyRule rule;
  if (!r.object(j, path)) return rule;
  r.array(j, peers_key, path + "." + peers_key, [&](const json& e, const std::string& p) {
    if (!r.object(e, p)) return;
    NetworkPolicyPeer peer;
    peer.pod_selector = ReadOptionalSelector(r, e, "podSelector", p + ".podSelector");
    peer.namespace_selector = ReadOptionalSelector(r, e, "namespaceSelector", p + ".namespaceSelector");
    if (const json* b = r.member(e, "ipBlock")) {
      if (r.object(*b, p + ".ipBlock")) {
        IPBlock block;
        block.cidr = r.string(*b, "cidr", p + ".ipBlock.cidr").value_or("");
        block.except = r.strings(*b, "except", p + ".ipBlock.except");
        peer.ip_block = std::move(block);
      }
    }
    rule.peers.push_back(std::move(peer));
  });
  r.array(j, "ports", path + ".ports", [&](const json& e, const std::string& p) {
    if (!r.object(e, p)) return;
    NetworkPolicyPort port;
    port.protocol = r.string(e, "protocol", p + ".protocol");
    if (const json* v = r.member(e, "port")) {
      IntOrString ios;
      if (v->is_number_integer()) {
        ios.int_value = v->get<int64_t>();
      } else if (v->is_string()) {
        ios.is_int = false;
        ios.str_value = v->get<std::string>();
      } else {
        r.mismatch(p + ".port", *v, "integer or string");
      }
      port.port = ios;
    }
    port.end_port = r.integer(e, "endPort", p + ".endPort");
    rule.ports.push_back(std::move(port));
  });
  return rule;
}

NetworkPolicy ReadPolicy(Reader& r, const json& j) {
  NetworkPolicy np;
  np.meta = ReadMeta(r, j);
  const json* spec = r.member(j, "spec");
  if (!spec) return np;  // an absent spec is an empty podSelector with no rules
  if (!r.object(*spec, "spec")) return np;
  if (const json* ps = r.member(*spec, "podSelector")) np.pod_selector = ReadSelector(r, *ps, "spec.podSelector");
  r.array(*spec, "ingress", "spec.ingress",
          [&](const json& e, const std::string& p) { np.ingress.push_back(ReadRule(r, e, p, "from")); });
  r.array(*spec, "egress", "spec.egress",
          [&](const json& e, const std::string& p) { np.egress.push_back(ReadRule(r, e, p, "to")); });
  np.policy_types = r.strings(*spec, "policyTypes", "spec.policyTypes");
  return np;
}

Pod ReadPod(Reader& r, const json& j) {
  Pod pod;
  pod.meta = ReadMeta(r, j);
  if (const json* spec = r.member(j, "spec"); spec && r.object(*spec, "spec")) {
    pod.node_name = r.string(*spec, "nodeName", "spec.nodeName").value_or("");
    pod.host_network = r.boolean(*spec, "hostNetwork", "spec.hostNetwork");
    int container = -1;
    r.array(*spec, "containers", "spec.containers", [&](const json& c, const std::string& cp) {
      ++container;
      if (!r.object(c, cp)) return;
      r.array(c, "ports", cp + ".ports", [&](const json& e, const std::string& p) {
        if (!r.object(e, p)) return;
        ContainerPort port;
        port.name = r.string(e, "name", p + ".name").value_or("");
        port.container_port = r.integer(e, "containerPort", p + ".containerPort").value_or(0);
        port.protocol = r.string(e, "protocol", p + ".protocol").value_or("TCP");
        port.container = container;
        pod.ports.push_back(std::move(port));
      });
    });
  }
  if (const json* status = r.member(j, "status"); status && r.object(*status, "status")) {
    pod.phase = r.string(*status, "phase", "status.phase").value_or("");
    r.array(*status, "podIPs", "status.podIPs", [&](const json& e, const std::string& p) {
      if (!r.object(e, p)) return;
      if (auto ip = r.string(e, "ip", p + ".ip")) pod.pod_ips.push_back(*ip);
    });
    if (pod.pod_ips.empty()) {
      if (auto ip = r.string(*status, "podIP", "status.podIP"); ip && !ip->empty()) pod.pod_ips.push_back(*ip);
    }
  }
  return pod;
}

}  // namespace

void IdentifyObject(const json& j, std::string* kind, std::string* ns, std::string* name) {
  if (!j.is_object()) return;
  if (auto it = j.find("kind"); it != j.end() && it->is_string()) *kind = it->get<std::string>();
  auto m = j.find("metadata");
  if (m == j.end() || !m->is_object()) return;
  if (auto it = m->find("namespace"); it != m->end() && it->is_string()) *ns = it->get<std::string>();
  if (auto it = m->find("name"); it != m->end() && it->is_string()) *name = it->get<std::string>();
}

std::optional<Object> DecodeObject(const json& j, FieldErrors* errors, std::string* ignored_kind) {
  Reader r(errors);
  const size_t before = errors->size();
  auto clean = [&] { return errors->size() == before; };
  if (!j.is_object()) {
    r.mismatch("<root>", j, "object");
    return std::nullopt;
  }
  auto kind = r.string(j, "kind", "kind");
  auto api = r.string(j, "apiVersion", "apiVersion").value_or("");
  if (!kind) {
    errors->push_back({FieldError::Type::kRequired, "kind", "", "every object needs a kind"});
    return std::nullopt;
  }
  auto want_api = [&](const char* expected) {
    if (api == expected) return true;
    errors->push_back({FieldError::Type::kUnsupported, "apiVersion", "\"" + api + "\"",
                       std::string("supported values: \"") + expected + "\""});
    return false;
  };
  std::optional<Object> out;
  if (*kind == "Namespace") {
    if (!want_api("v1")) return std::nullopt;
    Namespace ns;
    ns.meta = ReadMeta(r, j);
    ns.meta.ns.clear();
    if (clean()) ValidateNamespace(ns, errors);
    out = std::move(ns);
  } else if (*kind == "Pod") {
    if (!want_api("v1")) return std::nullopt;
    Pod pod = ReadPod(r, j);
    if (pod.meta.ns.empty()) pod.meta.ns = "default";
    if (clean()) ValidatePod(pod, errors);
    out = std::move(pod);
  } else if (*kind == "NetworkPolicy") {
    if (!want_api("networking.k8s.io/v1")) return std::nullopt;
    NetworkPolicy np = ReadPolicy(r, j);
    if (np.meta.ns.empty()) np.meta.ns = "default";
    if (clean()) ValidateNetworkPolicy(np, errors);
    out = std::move(np);
  } else {
    if (ignored_kind) *ignored_kind = *kind;
    return std::nullopt;
  }
  if (!clean()) return std::nullopt;
  return out;
}

}  // namespace netfence::k8s
