// SPDX-License-Identifier: Apache-2.0
#include "tests/differential/cluster_dump.h"

#include <cctype>

namespace netfence::reference {

namespace {

using nlohmann::json;

std::string LabelsText(const k8s::Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return "{" + out + "}";
}

template <typename T, typename F>
std::string ListText(const std::vector<T>& items, F&& text) {
  std::string out;
  for (const T& item : items) out += (out.empty() ? "" : "; ") + text(item);
  return "[" + out + "]";
}

void DescribeRules(const std::vector<k8s::NetworkPolicyRule>& rules, const char* dir, const char* peers_key,
                   std::string* out) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    *out += "    " + std::string(dir) + "[" + std::to_string(i) + "] " + peers_key + " ";
    *out += rule.peers.empty() ? "<everyone>" : ListText(rule.peers, [](const auto& p) { return p.str(); });
    *out += " ports ";
    *out +=
        rule.ports.empty() ? "<every port and protocol>" : ListText(rule.ports, [](const auto& p) { return p.str(); });
    *out += "\n";
  }
}

json SelectorJson(const k8s::LabelSelector& sel) {
  json out = json::object();
  if (!sel.match_labels.empty()) out["matchLabels"] = sel.match_labels;
  for (const auto& req : sel.match_expressions) {
    json e = {{"key", req.key}, {"operator", req.op}};
    if (!req.values.empty()) e["values"] = req.values;
    out["matchExpressions"].push_back(std::move(e));
  }
  return out;
}

json RuleJson(const k8s::NetworkPolicyRule& rule, const char* peers_key) {
  json out = json::object();
  for (const auto& peer : rule.peers) {
    json p = json::object();
    if (peer.pod_selector) p["podSelector"] = SelectorJson(*peer.pod_selector);
    if (peer.namespace_selector) p["namespaceSelector"] = SelectorJson(*peer.namespace_selector);
    if (peer.ip_block) {
      p["ipBlock"] = {{"cidr", peer.ip_block->cidr}};
      if (!peer.ip_block->except.empty()) p["ipBlock"]["except"] = peer.ip_block->except;
    }
    out[peers_key].push_back(std::move(p));
  }
  for (const auto& port : rule.ports) {
    json p = json::object();
    if (port.protocol) p["protocol"] = *port.protocol;
    if (port.port) {
      p["port"] = port.port->is_int ? json(port.port->int_value) : json(port.port->str_value);
    }
    if (port.end_port) p["endPort"] = *port.end_port;
    out["ports"].push_back(std::move(p));
  }
  return out;
}

json MetaJson(const k8s::ObjectMeta& meta) {
  json out = {{"name", meta.name}};
  if (!meta.ns.empty()) out["namespace"] = meta.ns;
  if (!meta.labels.empty()) out["labels"] = meta.labels;
  if (!meta.enforcement.empty()) out["annotations"] = {{k8s::kEnforcementAnnotation, meta.enforcement}};
  return out;
}

json ClusterPeerJson(const k8s::ClusterPeer& peer) {
  using Kind = k8s::ClusterPeer::Kind;
  switch (peer.kind) {
    case Kind::kNamespaces:
      return {{"namespaces", SelectorJson(peer.selector)}};
    case Kind::kPods:
      return {{"pods",
               {{"namespaceSelector", SelectorJson(peer.pods.namespace_selector)},
                {"podSelector", SelectorJson(peer.pods.pod_selector)}}}};
    case Kind::kNodes:
      return {{"nodes", SelectorJson(peer.selector)}};
    case Kind::kNetworks:
      return {{"networks", peer.values}};
    case Kind::kDomainNames:
      return {{"domainNames", peer.values}};
    case Kind::kUnknown:
      return {{"peerOfALaterVersion", json::object()}};
  }
  return json::object();
}

// A ClusterNetworkPolicy (v1alpha2) or, for the v1alpha1 kinds, their own form.
json ClusterPolicyJson(const k8s::ClusterNetworkPolicy& cnp) {
  const bool v1alpha1 = cnp.kind != "ClusterNetworkPolicy";
  json spec = json::object();
  if (!v1alpha1) spec["tier"] = k8s::TierName(cnp.tier);
  if (cnp.kind != "BaselineAdminNetworkPolicy") spec["priority"] = cnp.priority;
  if (cnp.subject_is_pods) {
    spec["subject"] = {{"pods",
                        {{"namespaceSelector", SelectorJson(cnp.subject.namespace_selector)},
                         {"podSelector", SelectorJson(cnp.subject.pod_selector)}}}};
  } else {
    spec["subject"] = {{"namespaces", SelectorJson(cnp.subject.namespace_selector)}};
  }
  for (const bool egress : {false, true}) {
    for (const auto& rule : egress ? cnp.egress : cnp.ingress) {
      json r = json::object();
      if (!rule.name.empty()) r["name"] = rule.name;
      std::string action = k8s::ActionName(rule.action);
      if (v1alpha1 && action == "Accept") action = "Allow";
      r["action"] = action;
      for (const auto& peer : rule.peers) r[egress ? "to" : "from"].push_back(ClusterPeerJson(peer));
      for (const auto& port : rule.ports) {
        json p;
        if (!port.named_port.empty()) {
          p = v1alpha1 ? json{{"namedPort", port.named_port}} : json{{"destinationNamedPort", port.named_port}};
        } else if (v1alpha1) {
          const std::string proto = k8s::ProtocolName(port.protocol);
          p = port.first == port.last
                  ? json{{"portNumber", {{"protocol", proto}, {"port", port.first}}}}
                  : json{{"portRange", {{"protocol", proto}, {"start", port.first}, {"end", port.last}}}};
        } else {
          std::string key = k8s::ProtocolName(port.protocol);
          for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          json dp = port.first == port.last ? json{{"number", port.first}}
                                            : json{{"range", {{"start", port.first}, {"end", port.last}}}};
          p = {{key, {{"destinationPort", dp}}}};
        }
        r[v1alpha1 ? "ports" : "protocols"].push_back(std::move(p));
      }
      spec[egress ? "egress" : "ingress"].push_back(std::move(r));
    }
  }
  return {{"apiVersion", v1alpha1 ? "policy.networking.k8s.io/v1alpha1" : "policy.networking.k8s.io/v1alpha2"},
          {"kind", cnp.kind},
          {"metadata", MetaJson(cnp.meta)},
          {"spec", spec}};
}

}  // namespace

std::string DescribeCluster(const k8s::ClusterState& state) {
  std::string out;
  auto enforcement = [](const k8s::ObjectMeta& m) {
    return m.enforcement.empty() ? "" : " enforcement=" + m.enforcement;
  };
  for (const auto& ns : state.namespaces) {
    out += "namespace " + ns.meta.name + " " + LabelsText(ns.meta.labels) + enforcement(ns.meta) + "\n";
  }
  for (const auto& pod : state.pods) {
    out += "pod " + pod.meta.ns + "/" + pod.meta.name + " " + LabelsText(pod.meta.labels);
    out += " ips" + ListText(pod.pod_ips, [](const std::string& ip) { return ip; });
    out += " ports" + ListText(pod.ports, [](const k8s::ContainerPort& p) {
             return (p.name.empty() ? "" : p.name + "=") + p.protocol + "/" + std::to_string(p.container_port);
           });
    if (pod.host_network) out += " hostNetwork";
    out += " phase=" + (pod.phase.empty() ? std::string("<none>") : pod.phase) + "\n";
  }
  for (const auto& np : state.policies) {
    out += "policy " + np.meta.ns + "/" + np.meta.name + " podSelector{" + np.pod_selector.str() + "} policyTypes";
    out += np.policy_types.empty() ? std::string("<defaulted>")
                                   : ListText(np.policy_types, [](const auto& t) { return t; });
    out += enforcement(np.meta) + "\n";
    DescribeRules(np.ingress, "ingress", "from", &out);
    DescribeRules(np.egress, "egress", "to", &out);
  }
  for (const auto& node : state.nodes) {
    out += "node " + node.meta.name + " " + LabelsText(node.meta.labels) + " internalIPs" +
           ListText(node.internal_ips, [](const std::string& ip) { return ip; }) + "\n";
  }
  for (const auto& cnp : state.cluster_policies) {
    out += cnp.key() + " tier " + k8s::TierName(cnp.tier) + " priority " + std::to_string(cnp.priority) + " subject " +
           (cnp.subject_is_pods ? "pods{namespaces{" + cnp.subject.namespace_selector.str() + "} pods{" +
                                      cnp.subject.pod_selector.str() + "}}"
                                : "namespaces{" + cnp.subject.namespace_selector.str() + "}") +
           enforcement(cnp.meta) + "\n";
    for (const bool egress : {false, true}) {
      const auto& rules = egress ? cnp.egress : cnp.ingress;
      for (size_t i = 0; i < rules.size(); ++i) {
        const auto& rule = rules[i];
        out += "    " + std::string(egress ? "egress" : "ingress") + "[" + std::to_string(i) + "] " + rule.name + " " +
               k8s::ActionName(rule.action) + " " + (egress ? "to " : "from ") +
               ListText(rule.peers, [](const auto& p) { return p.str(); }) + " ports " +
               (rule.ports.empty() ? std::string("<every port and protocol>")
                                   : ListText(rule.ports, [](const auto& p) { return p.str(); })) +
               "\n";
      }
    }
  }
  return out;
}

json ClusterManifest(const k8s::ClusterState& state) {
  json items = json::array();
  for (const auto& ns : state.namespaces) {
    items.push_back({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", MetaJson(ns.meta)}});
  }
  for (const auto& pod : state.pods) {
    json container = {{"name", "main"}, {"image", "registry.k8s.io/pause:3.9"}};
    for (const auto& p : pod.ports) {
      json port = {{"containerPort", p.container_port}, {"protocol", p.protocol}};
      if (!p.name.empty()) port["name"] = p.name;
      container["ports"].push_back(std::move(port));
    }
    json spec = {{"containers", json::array({container})}};
    if (!pod.node_name.empty()) spec["nodeName"] = pod.node_name;
    if (pod.host_network) spec["hostNetwork"] = true;
    json status = json::object();
    if (!pod.phase.empty()) status["phase"] = pod.phase;
    if (!pod.pod_ips.empty()) status["podIP"] = pod.pod_ips.front();
    for (const auto& ip : pod.pod_ips) status["podIPs"].push_back({{"ip", ip}});
    items.push_back(
        {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", MetaJson(pod.meta)}, {"spec", spec}, {"status", status}});
  }
  for (const auto& np : state.policies) {
    json spec = {{"podSelector", SelectorJson(np.pod_selector)}};
    if (!np.policy_types.empty()) spec["policyTypes"] = np.policy_types;
    for (const auto& rule : np.ingress) spec["ingress"].push_back(RuleJson(rule, "from"));
    for (const auto& rule : np.egress) spec["egress"].push_back(RuleJson(rule, "to"));
    items.push_back({{"apiVersion", "networking.k8s.io/v1"},
                     {"kind", "NetworkPolicy"},
                     {"metadata", MetaJson(np.meta)},
                     {"spec", spec}});
  }
  for (const auto& node : state.nodes) {
    json status = json::object();
    for (const auto& ip : node.internal_ips) status["addresses"].push_back({{"type", "InternalIP"}, {"address", ip}});
    status["addresses"].push_back({{"type", "Hostname"}, {"address", node.meta.name}});
    items.push_back({{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", MetaJson(node.meta)}, {"status", status}});
  }
  for (const auto& cnp : state.cluster_policies) items.push_back(ClusterPolicyJson(cnp));
  return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

}  // namespace netfence::reference
