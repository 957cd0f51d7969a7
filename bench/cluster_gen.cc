// SPDX-License-Identifier: Apache-2.0
#include "bench/cluster_gen.h"

#include <random>

namespace netfence::bench {

namespace {

using k8s::LabelSelector;
using k8s::NetworkPolicy;
using k8s::NetworkPolicyPeer;
using k8s::NetworkPolicyPort;
using k8s::NetworkPolicyRule;

LabelSelector Sel(const std::string& k, const std::string& v) {
  LabelSelector s;
  s.match_labels[k] = v;
  return s;
}
NetworkPolicyPeer PodPeer(const std::string& app) {
  NetworkPolicyPeer p;
  p.pod_selector = Sel("app", app);
  return p;
}
NetworkPolicyPort Port(int n, const char* proto = "TCP") {
  NetworkPolicyPort p;
  p.protocol = proto;
  p.port = k8s::IntOrString{true, n, ""};
  return p;
}
NetworkPolicyPort Named(const char* name) {
  NetworkPolicyPort p;
  p.port = k8s::IntOrString{false, 0, name};
  return p;
}
NetworkPolicy Policy(const std::string& ns, const std::string& name, LabelSelector sel) {
  NetworkPolicy np;
  np.meta.ns = ns;
  np.meta.name = name;
  np.pod_selector = std::move(sel);
  return np;
}
std::string Ip(uint32_t n) { return IpAddr::V4(0x0A000000u + n).str(); }  // 10.0.0.0/8

}  // namespace

k8s::ClusterState GenerateCluster(const ClusterShape& shape) {
  static const char* kApps[] = {"web", "api", "db", "cache", "worker"};
  static const int kPorts[] = {80, 8080, 5432, 6379, 9000};
  k8s::ClusterState s;
  uint32_t next_ip = 1;
  auto add_ns = [&](const std::string& name, const std::string& team) {
    k8s::Namespace ns;
    ns.meta.name = name;
    ns.meta.labels = {{"team", team}, {"env", next_ip % 3 ? "prod" : "staging"}};
    s.namespaces.push_back(ns);
  };
  auto add_pod = [&](const std::string& ns, const std::string& name, k8s::Labels labels, int port) {
    k8s::Pod p;
    p.meta.ns = ns;
    p.meta.name = name;
    p.meta.labels = std::move(labels);
    p.node_name = "node-" + std::to_string(next_ip % 1000);
    p.pod_ips = {Ip(next_ip++)};
    p.ports = {{"http", port, "TCP"}, {"metrics", 9090, "TCP"}};
    s.pods.push_back(std::move(p));
  };
  add_ns("kube-system", "platform");
  add_ns("monitoring", "platform");
  add_pod("kube-system", "coredns", {{"app", "dns"}}, 53);
  add_pod("monitoring", "prometheus", {{"app", "prometheus"}}, 9090);

  for (int n = 0; n < shape.namespaces; ++n) {
    std::string ns = "ns-" + std::to_string(n);
    add_ns(ns, "team-" + std::to_string(n % 50));
    for (int d = 0; d < shape.deployments_per_namespace; ++d) {
      const char* app = kApps[d % 5];
      for (int r = 0; r < shape.replicas; ++r) {
        add_pod(ns, std::string(app) + "-" + std::to_string(d) + "-" + std::to_string(r),
                {{"app", app}, {"pod-template-hash", "h" + std::to_string(d)}}, kPorts[d % 5]);
      }
    }
    // Default deny, both directions.
    auto deny = Policy(ns, "default-deny", {});
    deny.policy_types = {"Ingress", "Egress"};
    s.policies.push_back(deny);

    auto in = Policy(ns, "ingress", {});
    in.policy_types = {"Ingress"};
    NetworkPolicyRule web;  // web <- anyone on 80/443
    web.ports = {Port(80), Port(443)};
    NetworkPolicyRule api{{PodPeer("web")}, {Named("http")}};
    NetworkPolicyRule db{{PodPeer("api")}, {Port(5432)}};
    NetworkPolicyRule cache{{PodPeer("api"), PodPeer("worker")}, {Port(6379)}};
    NetworkPolicyPeer prom;
    prom.namespace_selector = Sel("kubernetes.io/metadata.name", "monitoring");
    prom.pod_selector = Sel("app", "prometheus");
    NetworkPolicyRule scrape{{prom}, {Named("metrics")}};
    in.ingress = {web, api, db, cache, scrape};
    s.policies.push_back(in);

    auto out = Policy(ns, "egress", {});
    out.policy_types = {"Egress"};
    NetworkPolicyRule to_api{{PodPeer("api")}, {Named("http")}};
    NetworkPolicyRule to_data{{PodPeer("db"), PodPeer("cache")}, {Port(5432), Port(6379)}};
    NetworkPolicyRule to_db{{PodPeer("db")}, {Port(5432)}};
    NetworkPolicyPeer dns;
    dns.namespace_selector = Sel("kubernetes.io/metadata.name", "kube-system");
    dns.pod_selector = Sel("app", "dns");
    NetworkPolicyRule to_dns{{dns}, {Port(53, "UDP"), Port(53, "TCP")}};
    NetworkPolicyPeer internet;
    internet.ip_block = k8s::IPBlock{"0.0.0.0/0", {"10.0.0.0/8"}};
    NetworkPolicyRule to_internet{{internet}, {Port(443)}};
    out.egress = {to_api, to_data, to_db, to_dns, to_internet};
    s.policies.push_back(out);
  }
  return s;
}

WideTable GenerateWideTable(int rules, int groups) {
  WideTable w;
  w.groups = groups;
  k8s::Pod server;
  server.meta = {"server", "bench", {{"app", "server"}}, "", "", ""};
  server.pod_ips = {"10.200.0.1"};
  w.server = *IpAddr::Parse("10.200.0.1");
  w.state.pods.push_back(server);
  for (int g = 0; g < groups; ++g) {
    k8s::Pod c;
    c.meta = {"client-" + std::to_string(g), "bench", {{"group", "g" + std::to_string(g)}}, "", "", ""};
    c.pod_ips = {Ip(0x10000u + static_cast<uint32_t>(g))};
    w.clients.push_back(*IpAddr::Parse(c.pod_ips[0]));
    w.state.pods.push_back(std::move(c));
  }
  auto np = Policy("bench", "wide", Sel("app", "server"));
  for (int i = 0; i < rules; ++i) {
    NetworkPolicyRule r;
    NetworkPolicyPeer p;
    p.pod_selector = Sel("group", "g" + std::to_string(i % groups));
    r.peers = {p};
    r.ports = {Port(1000 + i % 4000)};
    np.ingress.push_back(std::move(r));
  }
  w.state.policies.push_back(std::move(np));
  return w;
}

std::vector<WideProbe> WideTrace(int rules, int groups, size_t n) {
  std::mt19937_64 rng(42);
  std::vector<WideProbe> trace;
  trace.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    WideProbe p;
    if (k % 2 == 0) {
      const int i = static_cast<int>(rng() % static_cast<uint64_t>(rules));
      p.group = i % groups;
      p.port = static_cast<uint16_t>(1000 + i % 4000);
    } else {
      p.group = static_cast<int>(rng() % static_cast<uint64_t>(groups));
      p.port = static_cast<uint16_t>(1000 + rng() % 4000);
    }
    trace.push_back(p);
  }
  return trace;
}

WideTable GenerateTieredWideTable(int cnps, int rules_per_cnp, int np_rules, int groups) {
  WideTable w = GenerateWideTable(np_rules, groups);
  static const k8s::RuleAction kActions[] = {k8s::RuleAction::kPass, k8s::RuleAction::kDeny, k8s::RuleAction::kAccept};
  int j = 0;
  for (int c = 0; c < cnps; ++c) {
    k8s::ClusterNetworkPolicy cnp;
    cnp.meta.name = "cnp-" + std::to_string(c);
    cnp.tier = k8s::Tier::kAdmin;
    cnp.priority = c;  // distinct
    cnp.subject_is_pods = true;
    cnp.subject.pod_selector = Sel("app", "server");
    for (int r = 0; r < rules_per_cnp; ++r, ++j) {
      k8s::ClusterRule rule;
      rule.name = "r" + std::to_string(r);
      rule.action = kActions[j % 3];
      k8s::ClusterPeer peer;
      peer.kind = k8s::ClusterPeer::Kind::kPods;
      peer.pods.pod_selector = Sel("group", "g" + std::to_string(j % groups));
      rule.peers = {peer};
      k8s::ClusterPort port;
      port.first = port.last = 1000 + j % 4000;
      rule.ports = {port};
      cnp.ingress.push_back(std::move(rule));
    }
    w.state.cluster_policies.push_back(std::move(cnp));
  }
  return w;
}

void AddClusterPolicies(k8s::ClusterState* state, int cnps, int rules_per_cnp, int nodes) {
  static const char* kApps[] = {"web", "api", "db", "cache", "worker"};
  static const k8s::RuleAction kActions[] = {k8s::RuleAction::kAccept, k8s::RuleAction::kDeny, k8s::RuleAction::kPass};
  for (int n = 0; n < nodes; ++n) {
    k8s::Node node;
    node.meta.name = "node-" + std::to_string(n);
    node.meta.labels = {{"role", n % 10 == 0 ? "infra" : "worker"}, {"zone", "z" + std::to_string(n % 3)}};
    node.internal_ips = {IpAddr::V4(0xC0A80000u + static_cast<uint32_t>(n) + 1).str()};  // 192.168.0.0/16
    state->nodes.push_back(std::move(node));
  }
  for (int k = 0; k < cnps; ++k) {
    k8s::ClusterNetworkPolicy cnp;
    cnp.meta.name = "cnp-" + std::to_string(k);
    cnp.tier = k % 4 == 3 ? k8s::Tier::kBaseline : k8s::Tier::kAdmin;
    cnp.priority = k % 1001;
    cnp.subject.namespace_selector = Sel("team", "team-" + std::to_string(k % 50));
    for (int r = 0; r < rules_per_cnp; ++r) {
      k8s::ClusterRule rule;
      rule.name = "r" + std::to_string(r);
      rule.action = kActions[(k + r) % 3];
      k8s::ClusterPeer peer;
      peer.kind = k8s::ClusterPeer::Kind::kPods;
      peer.pods.namespace_selector = Sel("team", "team-" + std::to_string((k + r + 1) % 50));
      peer.pods.pod_selector = Sel("app", kApps[r % 5]);
      const bool egress = r >= rules_per_cnp * 2 / 3;
      if (egress && r % 4 == 1) {
        peer = {};
        peer.kind = k8s::ClusterPeer::Kind::kNetworks;
        peer.values = {"203.0." + std::to_string(r % 256) + ".0/24"};
      } else if (egress && r % 4 == 2) {
        peer = {};
        peer.kind = k8s::ClusterPeer::Kind::kNodes;
        peer.selector = Sel("role", "infra");
      }
      rule.peers = {peer};
      k8s::ClusterPort port;
      port.first = port.last = 1000 + (k * rules_per_cnp + r) % 4000;
      rule.ports = {port};
      (egress ? cnp.egress : cnp.ingress).push_back(std::move(rule));
    }
    state->cluster_policies.push_back(std::move(cnp));
  }
}

}  // namespace netfence::bench
