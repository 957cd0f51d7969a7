// SPDX-License-Identifier: Apache-2.0
#include <iostream>
#include <map>

#include "controlplane/ctl/ctl.h"
#include "controlplane/reach/matrix.h"

namespace netfence::ctl {

namespace {

using nlohmann::json;

// One side of the connection: a pod of the cluster, or a bare IP.
struct Side {
  std::string spec;  // as given on the command line
  const k8s::Pod* pod = nullptr;
  std::optional<IpAddr> ip;
  std::string label() const { return pod ? pod->key() + " (" + ip->str() + ")" : ip->str(); }
};

std::optional<Side> Resolve(const std::string& spec, const k8s::ClusterState& state) {
  Side s;
  s.spec = spec;
  if (auto ip = IpAddr::Parse(spec)) {
    s.ip = ip;
    for (const auto& p : state.pods) {
      for (const auto& text : p.pod_ips) {
        if (IpAddr::Parse(text) == ip) s.pod = &p;
      }
    }
    return s;
  }
  auto slash = spec.find('/');
  if (slash == std::string::npos) {
    std::cerr << "netfencectl explain: \"" << spec << "\" is neither NAMESPACE/POD nor an IP address\n";
    return std::nullopt;
  }
  for (const auto& p : state.pods) {
    if (p.key() == spec) s.pod = &p;
  }
  if (!s.pod) {
    std::cerr << "netfencectl explain: no Pod \"" << spec << "\" in the manifests\n";
    return std::nullopt;
  }
  if (s.pod->pod_ips.empty()) {
    std::cerr << "netfencectl explain: Pod \"" << spec << "\" has no IP (status.podIP) yet, so no traffic reaches it\n";
    return std::nullopt;
  }
  return s;
}

// Picks addresses of one family for both sides.
bool PickAddresses(Side* from, Side* to) {
  auto pick = [](Side* s, bool v4) {
    if (s->ip) return s->ip->is_v4() == v4;
    for (const auto& t : s->pod->pod_ips) {
      auto a = IpAddr::Parse(t);
      if (a && a->is_v4() == v4) {
        s->ip = a;
        return true;
      }
    }
    return false;
  };
  for (bool v4 : {true, false}) {
    Side f = *from, t = *to;
    if (pick(&f, v4) && pick(&t, v4)) {
      *from = f;
      *to = t;
      return true;
    }
  }
  return false;
}

json RuleJson(const v1::RuleTables& tables, const std::map<std::string, const k8s::NetworkPolicy*>& policies,
              uint32_t policy, uint32_t rule_index, k8s::Direction dir) {
  const auto& pr = tables.policies(policy);
  json j{{"namespace", pr.namespace_()},
         {"name", pr.name()},
         {"direction", k8s::DirectionName(dir)},
         {"rule", rule_index}};
  auto it = policies.find(pr.namespace_() + "/" + pr.name());
  if (it != policies.end()) {
    const auto& rule = it->second->Rules(dir)[rule_index];
    json peers = json::array(), ports = json::array();
    for (const auto& p : rule.peers) peers.push_back(p.str());
    for (const auto& p : rule.ports) ports.push_back(p.str());
    j["peers"] = rule.peers.empty() ? json::array({"<everyone>"}) : peers;
    j["ports"] = rule.ports.empty() ? json::array({"<every port and protocol>"}) : ports;
  }
  return j;
}

json ExplainDirection(const Compiled& c, const std::map<std::string, const k8s::NetworkPolicy*>& policies,
                      const Side& self, const Side& peer, k8s::Direction dir, uint8_t proto, uint16_t port) {
  json j;
  j["pod"] = self.pod ? self.pod->key() : "";
  auto ep = c.classifier->EndpointOf(*self.ip);
  if (!ep) {
    j["outcome"] = "not-enforced";
    j["why"] = self.pod ? "a host-network or finished pod is not a policy endpoint"
                        : "not a pod of the cluster: only the pod side of a connection enforces policy";
    return j;
  }
  const auto& tables = *c.tables;
  const auto& endpoint = tables.endpoints(*ep);
  uint32_t table = dir == k8s::Direction::kIngress ? endpoint.ingress_table() : endpoint.egress_table();
  const auto& dt = tables.tables(table);
  j["isolated"] = dt.isolated();
  json iso = json::array();
  for (uint32_t p : dt.isolating_policies())
    iso.push_back(tables.policies(p).namespace_() + "/" + tables.policies(p).name());
  j["isolating_policies"] = iso;
  auto d = c.classifier->Match(table, *peer.ip, proto, port);
  j["outcome"] = d.outcome == classifier::Outcome::kNotIsolated ? "not-isolated"
                 : d.outcome == classifier::Outcome::kAllowed   ? "allowed"
                                                                : "denied";
  json rules = json::array();
  uint32_t last_rule = ~0u, last_policy = ~0u;
  for (uint32_t bit : c.classifier->MatchingRules(table, *peer.ip, proto, port)) {
    if (dt.rule_policy(bit) == last_policy && dt.rule_index(bit) == last_rule) continue;  // one rule, several bits
    last_policy = dt.rule_policy(bit);
    last_rule = dt.rule_index(bit);
    rules.push_back(RuleJson(tables, policies, last_policy, last_rule, dir));
  }
  j["matching_rules"] = rules;
  return j;
}

void PrintDirection(const char* title, const json& d) {
  std::cout << title;
  if (d["outcome"] == "not-enforced") {
    std::cout << "not enforced: " << d["why"].get<std::string>() << "\n";
    return;
  }
  std::cout << d["pod"].get<std::string>() << ": ";
  if (d["outcome"] == "not-isolated") {
    std::cout << "not isolated (no NetworkPolicy selecting it covers this direction): allowed\n";
    return;
  }
  std::cout << "isolated by";
  for (const auto& p : d["isolating_policies"]) std::cout << " " << p.get<std::string>();
  std::cout << "\n";
  if (d["outcome"] == "denied") {
    std::cout << "    DENIED: no rule of these policies matches (default deny)\n";
    return;
  }
  bool first = true;
  for (const auto& r : d["matching_rules"]) {
    std::cout << (first ? "    ALLOWED by " : "    also matches ") << r["namespace"].get<std::string>() << "/"
              << r["name"].get<std::string>() << " " << r["direction"].get<std::string>() << " rule #"
              << r["rule"].get<int>() << "\n";
    if (r.contains("peers")) {
      std::cout << "        peers: " << r["peers"].dump() << "\n        ports: " << r["ports"].dump() << "\n";
    }
    first = false;
  }
}

}  // namespace

void AddExplainCommand(CLI::App* app) {
  struct Opts {
    SourceFlags source;
    std::string from, to, protocol = "TCP", output = "text";
    int port = 0;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd =
      app->add_subcommand("explain", "Why a connection is allowed or denied: policies and rules, per direction");
  opts->source.Add(cmd);
  cmd->add_option("--from", opts->from, "Source: NAMESPACE/POD or an IP address")->required();
  cmd->add_option("--to", opts->to, "Destination: NAMESPACE/POD or an IP address")->required();
  cmd->add_option("--protocol", opts->protocol, "TCP, UDP or SCTP")->capture_default_str();
  cmd->add_option("--port", opts->port, "Destination port (1-65535)")->required()->check(CLI::Range(1, 65535));
  cmd->add_option("-o,--output", opts->output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->footer(
      "A connection is allowed iff the source's egress policy allows it AND the destination's\n"
      "ingress policy allows it. For each direction this prints whether the pod is isolated, by\n"
      "which policies, and which rules (lowest rule first: the one flow logs report) match.\n\n"
      "Example:\n  netfencectl explain --manifests examples/cluster --from shop/frontend --to shop/db --port 5432");
  cmd->callback([opts]() {
    auto proto = ParseProtocolFlag(opts->protocol);
    if (!proto) {
      std::cerr << "netfencectl explain: --protocol: \"" << opts->protocol << "\" is not one of TCP, UDP, SCTP\n";
      throw CLI::RuntimeError(2);
    }
    auto state = LoadCluster(opts->source);
    if (!state) throw CLI::RuntimeError(1);
    auto from = Resolve(opts->from, *state);
    auto to = Resolve(opts->to, *state);
    if (!from || !to) throw CLI::RuntimeError(2);
    if (!PickAddresses(&*from, &*to)) {
      std::cerr << "netfencectl explain: " << opts->from << " and " << opts->to << " share no IP family\n";
      throw CLI::RuntimeError(2);
    }
    auto compiled = CompileCluster(*state);
    if (!compiled) throw CLI::RuntimeError(3);
    std::map<std::string, const k8s::NetworkPolicy*> policies;
    for (const auto& p : state->policies) policies[p.meta.ns + "/" + p.meta.name] = &p;
    const auto port = static_cast<uint16_t>(opts->port);
    const auto p8 = static_cast<uint8_t>(*proto);
    json out;
    out["from"] = from->label();
    out["to"] = to->label();
    out["protocol"] = k8s::ProtocolName(*proto);
    out["port"] = port;
    bool self = from->pod && from->pod == to->pod;
    if (self) {
      out["verdict"] = "allowed";
      out["why"] = "a pod always reaches itself: loopback traffic never crosses the datapath";
    } else {
      out["egress"] = ExplainDirection(*compiled, policies, *from, *to, k8s::Direction::kEgress, p8, port);
      out["ingress"] = ExplainDirection(*compiled, policies, *to, *from, k8s::Direction::kIngress, p8, port);
      auto d = compiled->classifier->Classify({*from->ip, *to->ip, p8, port});
      out["verdict"] = d.allowed() ? "allowed" : "denied";
    }
    if (opts->output == "json") {
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << out["protocol"].get<std::string>() << " " << from->label() << " -> " << to->label() << " port " << port
              << "\nverdict: " << (out["verdict"] == "allowed" ? "ALLOWED" : "DENIED") << "\n";
    if (self) {
      std::cout << out["why"].get<std::string>() << "\n";
      return;
    }
    PrintDirection("egress  of ", out["egress"]);
    PrintDirection("ingress of ", out["ingress"]);
  });
}

}  // namespace netfence::ctl
