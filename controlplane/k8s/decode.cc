// SPDX-License-Identifier: Apache-2.0
#include "controlplane/k8s/decode.h"

#include <nlohmann/json.hpp>

#include "common/base/ip.h"
#include "controlplane/k8s/cluster_policy_decode.h"
#include "controlplane/k8s/json_reader.h"
#include "controlplane/k8s/validate.h"

namespace netfence::k8s {

using nlohmann::json;

std::string KindOf(const Object& o) {
  if (std::holds_alternative<Namespace>(o)) return "Namespace";
  if (std::holds_alternative<Pod>(o)) return "Pod";
  if (std::holds_alternative<Node>(o)) return "Node";
  if (const auto* cnp = std::get_if<ClusterNetworkPolicy>(&o)) return cnp->kind;
  return "NetworkPolicy";
}

const ObjectMeta& MetaOf(const Object& o) {
  return std::visit([](const auto& x) -> const ObjectMeta& { return x.meta; }, o);
}

namespace {

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
    r.array(*status, "hostIPs", "status.hostIPs", [&](const json& e, const std::string& p) {
      if (!r.object(e, p)) return;
      if (auto ip = r.string(e, "ip", p + ".ip")) pod.host_ips.push_back(*ip);
    });
    if (pod.host_ips.empty()) {
      if (auto ip = r.string(*status, "hostIP", "status.hostIP"); ip && !ip->empty()) pod.host_ips.push_back(*ip);
    }
  }
  return pod;
}

// A Node: name, labels, its pod CIDRs (spec.podCIDRs, else spec.podCIDR) and its InternalIP
// addresses (status.addresses).
Node ReadNode(Reader& r, const json& j) {
  Node node;
  node.meta = ReadMeta(r, j);
  node.meta.ns.clear();
  auto add_cidr = [&](const std::string& cidr, const std::string& path) {
    if (!IpPrefix::Parse(cidr)) {
      r.add(
          {FieldError::Type::kInvalid, path, Quote(cidr), "must be a valid CIDR (e.g. 10.244.1.0/24 or fd00:1::/64)"});
      return;
    }
    node.pod_cidrs.push_back(cidr);
  };
  if (const json* spec = r.member(j, "spec"); spec && r.object(*spec, "spec")) {
    const std::vector<std::string> cidrs = r.strings(*spec, "podCIDRs", "spec.podCIDRs");
    for (size_t i = 0; i < cidrs.size(); ++i) add_cidr(cidrs[i], "spec.podCIDRs[" + std::to_string(i) + "]");
    if (node.pod_cidrs.empty()) {
      if (auto one = r.string(*spec, "podCIDR", "spec.podCIDR"); one && !one->empty()) add_cidr(*one, "spec.podCIDR");
    }
  }
  const json* status = r.member(j, "status");
  if (!status || !r.object(*status, "status")) return node;
  r.array(*status, "addresses", "status.addresses", [&](const json& e, const std::string& p) {
    if (!r.object(e, p)) return;
    auto type = r.string(e, "type", p + ".type");
    auto address = r.string(e, "address", p + ".address");
    if (!type || *type != "InternalIP" || !address) return;
    if (!IpAddr::Parse(*address)) {
      r.add({FieldError::Type::kInvalid, p + ".address", Quote(*address),
             "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"});
      return;
    }
    node.internal_ips.push_back(*address);
  });
  return node;
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
  } else if (*kind == "Node") {
    if (!want_api("v1")) return std::nullopt;
    Node node = ReadNode(r, j);
    if (clean()) ValidateNode(node, errors);
    out = std::move(node);
  } else if (IsClusterPolicyKind(*kind)) {
    if (!want_api(*kind == "ClusterNetworkPolicy" ? kClusterPolicyApi : kAdminPolicyApi)) return std::nullopt;
    auto cnp = DecodeClusterPolicy(j, *kind, errors);
    if (!cnp) return std::nullopt;
    out = std::move(*cnp);
  } else {
    if (ignored_kind) *ignored_kind = *kind;
    return std::nullopt;
  }
  if (!clean()) return std::nullopt;
  return out;
}

}  // namespace netfence::k8s
