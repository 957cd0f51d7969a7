// SPDX-License-Identifier: Apache-2.0
#include <iostream>
#include <map>

#include "common/tables/wire.h"
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
      for (const auto& text : reach::PodAddresses(p)) {
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
  if (reach::PodAddresses(*s.pod).empty()) {
    std::cerr << "netfencectl explain: Pod \"" << spec << "\" has no IP (status.podIP) yet, so no traffic reaches it\n";
    return std::nullopt;
  }
  return s;
}

// Picks addresses of one family for both sides.
bool PickAddresses(Side* from, Side* to) {
  auto pick = [](Side* s, bool v4) {
    if (s->ip) return s->ip->is_v4() == v4;
    for (const auto& t : reach::PodAddresses(*s->pod)) {
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

// The objects behind the tables' policies, for peers and ports in explanations.
struct Objects {
  std::map<std::string, const k8s::NetworkPolicy*> policies;                 // "ns/name"
  std::map<std::string, const k8s::ClusterNetworkPolicy*> cluster_policies;  // "Kind/name"
};

const char* TierName(v1::Tier t) {
  return t == v1::TIER_ADMIN ? "Admin" : t == v1::TIER_BASELINE ? "Baseline" : "NetworkPolicy";
}

const char* ActionOf(const v1::DirectionTable& dt, uint32_t bit) {
  if (dt.rule_flags_size() == 0) return "Allow";
  switch (dt.rule_flags(static_cast<int>(bit)) & tables::kRuleActionMask) {
    case tables::kRuleAccept:
      return "Accept";
    case tables::kRuleDeny:
      return "Deny";
    case tables::kRulePass:
      return "Pass";
    default:
      return "Allow";
  }
}

json RuleJson(const v1::RuleTables& tables, const Objects& objects, const v1::DirectionTable& dt, uint32_t bit,
              k8s::Direction dir) {
  const auto& pr = tables.policies(static_cast<int>(dt.rule_policy(static_cast<int>(bit))));
  const uint32_t rule_index = dt.rule_index(static_cast<int>(bit));
  json j{{"namespace", pr.namespace_()},
         {"name", pr.name()},
         {"direction", k8s::DirectionName(dir)},
         {"rule", rule_index}};
  if (pr.audit()) j["audit"] = true;  // observe-only: decides the audited verdict, never traffic
  if (!pr.kind().empty()) {
    const auto& names = dir == k8s::Direction::kIngress ? pr.ingress_rule_names() : pr.egress_rule_names();
    j["kind"] = pr.kind();
    j["tier"] = TierName(pr.tier());
    j["priority"] = pr.priority();
    j["action"] = ActionOf(dt, bit);
    if (static_cast<int>(rule_index) < names.size()) j["rule_name"] = names[static_cast<int>(rule_index)];
    auto it = objects.cluster_policies.find(pr.kind() + "/" + pr.name());
    if (it != objects.cluster_policies.end() && rule_index < it->second->Rules(dir).size()) {
      const auto& rule = it->second->Rules(dir)[rule_index];
      json peers = json::array(), ports = json::array();
      for (const auto& p : rule.peers) peers.push_back(p.str());
      for (const auto& p : rule.ports) ports.push_back(p.str());
      j["peers"] = peers;
      j["ports"] = rule.ports.empty() ? json::array({"<every port and protocol>"}) : ports;
      if (rule.FailsClosed()) j["fails_closed"] = true;
    }
    return j;
  }
  auto it = objects.policies.find(pr.namespace_() + "/" + pr.name());
  if (it != objects.policies.end() && rule_index < it->second->Rules(dir).size()) {
    const auto& rule = it->second->Rules(dir)[rule_index];
    json peers = json::array(), ports = json::array();
    for (const auto& p : rule.peers) peers.push_back(p.str());
    for (const auto& p : rule.ports) ports.push_back(p.str());
    j["peers"] = rule.peers.empty() ? json::array({"<everyone>"}) : peers;
    j["ports"] = rule.ports.empty() ? json::array({"<every port and protocol>"}) : ports;
  }
  return j;
}

const char* OutcomeName(classifier::Outcome o) {
  switch (o) {
    case classifier::Outcome::kNotIsolated:
      return "not-isolated";
    case classifier::Outcome::kAllowed:
      return "allowed";
    case classifier::Outcome::kDenied:
      return "denied";
    case classifier::Outcome::kDeniedByRule:
      return "denied-by-rule";
  }
  return "?";
}

// Each tier's decision, from the matching bits in evaluation order (the classifier's rule,
// spelled out for a person).
json TierDecisions(const v1::RuleTables& tables, const Objects& objects, const v1::DirectionTable& dt,
                   const std::vector<uint32_t>& bits, k8s::Direction dir) {
  json out = json::array();
  auto first_in = [&](uint32_t from, uint32_t to) -> std::optional<uint32_t> {
    for (uint32_t b : bits) {
      if (b >= from && b < to) return b;
    }
    return std::nullopt;
  };
  auto cluster_tier = [&](const char* name, uint32_t from, uint32_t to, bool* final_decision) {
    json t{{"tier", name}};
    auto b = first_in(from, to);
    if (!b) {
      t["decision"] = "none";
      t["why"] = "no rule of this tier matches";
    } else {
      const std::string action = ActionOf(dt, *b);
      t["decision"] = action;
      t["rule"] = RuleJson(tables, objects, dt, *b, dir);
      *final_decision = action != "Pass";
      if (action == "Pass") t["why"] = "Pass: the rest of this tier is skipped";
    }
    return t;
  };
  bool decided = false;
  out.push_back(cluster_tier("Admin", 0, dt.np_first_bit(), &decided));
  json np{{"tier", "NetworkPolicy"}};
  if (decided) {
    np["decision"] = "not-reached";
  } else if (!dt.isolated()) {
    np["decision"] = "none";
    np["why"] = "no NetworkPolicy selecting the pod covers this direction";
  } else if (auto b = first_in(dt.np_first_bit(), dt.baseline_first_bit())) {
    np["decision"] = "Allow";
    np["rule"] = RuleJson(tables, objects, dt, *b, dir);
    decided = true;
  } else {
    np["decision"] = "default-deny";
    np["why"] = "isolated by NetworkPolicy and no rule of it matches";
    decided = true;
  }
  out.push_back(np);
  if (decided) {
    out.push_back({{"tier", "Baseline"}, {"decision", "not-reached"}});
  } else {
    bool baseline_final = false;
    json bl = cluster_tier("Baseline", dt.baseline_first_bit(), dt.rule_count(), &baseline_final);
    if (!baseline_final) bl["why"] = std::string(bl.value("why", "")) + "; nothing decided: allowed";
    out.push_back(bl);
  }
  return out;
}

json ExplainDirection(const Compiled& c, const Objects& objects, const Side& self, const Side& peer, k8s::Direction dir,
                      uint8_t proto, uint16_t port) {
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
  const auto& endpoint = tables.endpoints(static_cast<int>(*ep));
  uint32_t table = dir == k8s::Direction::kIngress ? endpoint.ingress_table() : endpoint.egress_table();
  const auto& dt = tables.tables(static_cast<int>(table));
  j["isolated"] = dt.isolated();
  auto names = [&](const auto& indexes) {
    json out = json::array();
    for (uint32_t p : indexes) {
      out.push_back(tables.policies(static_cast<int>(p)).namespace_() + "/" +
                    tables.policies(static_cast<int>(p)).name());
    }
    return out;
  };
  j["isolating_policies"] = names(dt.isolating_policies());
  if (dt.audit_isolating_policies_size() > 0) j["audit_isolating_policies"] = names(dt.audit_isolating_policies());
  classifier::DirectionDecision audited;
  auto d = c.classifier->Match(table, *peer.ip, proto, port, &audited);
  j["outcome"] = OutcomeName(d.outcome);
  if (d.by_rule()) j["decided_by"] = RuleJson(tables, objects, dt, d.rule_bit, dir);
  // Policies in audit: what this direction would decide with them enforced, where it differs.
  if (audited.outcome != d.outcome || (audited.by_rule() && audited.rule_bit != d.rule_bit)) {
    json a{{"outcome", OutcomeName(audited.outcome)}};
    if (audited.by_rule()) a["decided_by"] = RuleJson(tables, objects, dt, audited.rule_bit, dir);
    if (audited.outcome == classifier::Outcome::kDenied) {
      json iso = j["isolating_policies"];
      for (const auto& p : names(dt.audit_isolating_policies())) iso.push_back(p);
      a["isolating_policies"] = iso;
    }
    j["audit"] = a;
  }
  std::vector<uint32_t> bits = c.classifier->MatchingRules(table, *peer.ip, proto, port);
  json rules = json::array();
  uint32_t last_rule = ~0u, last_policy = ~0u;
  for (uint32_t bit : bits) {
    const int b = static_cast<int>(bit);
    if (dt.rule_policy(b) == last_policy && dt.rule_index(b) == last_rule) continue;  // one rule, several bits
    last_policy = dt.rule_policy(b);
    last_rule = dt.rule_index(b);
    rules.push_back(RuleJson(tables, objects, dt, bit, dir));
  }
  j["matching_rules"] = rules;
  // The tiers as enforced: rules of policies in audit take no part.
  // (rule_flags is empty when no rule has a flag: no tiers, nothing in audit.)
  std::erase_if(bits, [&](uint32_t b) {
    const int i = static_cast<int>(b);
    return i < dt.rule_flags_size() && (dt.rule_flags(i) & tables::kRuleAudit) != 0;
  });
  const bool cluster_bits =
      dt.rule_flags_size() > 0 && (dt.np_first_bit() > 0 || dt.baseline_first_bit() < dt.rule_count());
  if (cluster_bits) j["tiers"] = TierDecisions(tables, objects, dt, bits, dir);
  return j;
}

std::string RuleText(const json& r) {
  std::string out = r.contains("kind") ? r["kind"].get<std::string>() + "/" + r["name"].get<std::string>()
                                       : r["namespace"].get<std::string>() + "/" + r["name"].get<std::string>();
  if (r.value("audit", false)) out += " (in audit)";
  out += " " + r["direction"].get<std::string>() + " rule #" + std::to_string(r["rule"].get<int>());
  if (r.contains("rule_name") && !r["rule_name"].get<std::string>().empty()) {
    out += " \"" + r["rule_name"].get<std::string>() + "\"";
  }
  if (r.contains("priority")) out += " (priority " + std::to_string(r["priority"].get<int>()) + ")";
  return out;
}

void PrintRuleDetails(const json& r, const char* indent) {
  if (r.contains("peers")) {
    std::cout << indent << "peers: " << r["peers"].dump() << "\n" << indent << "ports: " << r["ports"].dump() << "\n";
  }
}

void PrintTiers(const json& d) {
  std::cout << "    verdict: " << d["outcome"].get<std::string>() << "\n";
  for (const auto& t : d["tiers"]) {
    std::string line = t["tier"].get<std::string>() + " tier:";
    line.resize(24, ' ');
    std::cout << "    " << line << t["decision"].get<std::string>();
    if (t.contains("rule")) std::cout << " by " << RuleText(t["rule"]);
    if (t.contains("why")) std::cout << " (" << t["why"].get<std::string>() << ")";
    std::cout << "\n";
    if (t.contains("rule")) PrintRuleDetails(t["rule"], "        ");
  }
}

// What the policies in audit would make of a direction, where it differs from the enforced.
void PrintAudit(const json& d) {
  if (!d.contains("audit")) return;
  const json& a = d["audit"];
  std::cout << "    IN AUDIT: would be " << a["outcome"].get<std::string>();
  if (a.contains("decided_by")) std::cout << " by " << RuleText(a["decided_by"]);
  if (a.contains("isolating_policies")) {
    std::cout << " (default deny; isolated by";
    for (const auto& p : a["isolating_policies"]) std::cout << " " << p.get<std::string>();
    std::cout << ")";
  }
  std::cout << "\n";
}

void PrintDirectionEnforced(const char* title, const json& d) {
  std::cout << title;
  if (d["outcome"] == "not-enforced") {
    std::cout << "not enforced: " << d["why"].get<std::string>() << "\n";
    return;
  }
  std::cout << d["pod"].get<std::string>() << ": ";
  if (d.contains("tiers")) {
    std::cout << "cluster policy tiers apply";
    if (d["isolated"].get<bool>()) {
      std::cout << "; isolated by";
      for (const auto& p : d["isolating_policies"]) std::cout << " " << p.get<std::string>();
    }
    std::cout << "\n";
    PrintTiers(d);
    return;
  }
  if (d["outcome"] == "not-isolated") {
    if (d.contains("audit_isolating_policies")) {
      std::cout << "not isolated (only policies in audit select it for this direction:";
      for (const auto& p : d["audit_isolating_policies"]) std::cout << " " << p.get<std::string>();
      std::cout << "): allowed\n";
    } else {
      std::cout << "not isolated (no NetworkPolicy selecting it covers this direction): allowed\n";
    }
    return;
  }
  std::cout << "isolated by";
  for (const auto& p : d["isolating_policies"]) std::cout << " " << p.get<std::string>();
  std::cout << "\n";
  if (d["outcome"] == "denied") {
    std::cout << "    DENIED: no rule of these policies matches (default deny)\n";
    return;
  }
  // The deciding rule (the lowest enforced one), then the others that match (rules of
  // policies in audit among them, marked).
  const json& decided = d["decided_by"];
  std::cout << "    ALLOWED by " << RuleText(decided) << "\n";
  PrintRuleDetails(decided, "        ");
  for (const auto& r : d["matching_rules"]) {
    if (r["namespace"] == decided["namespace"] && r["name"] == decided["name"] && r["rule"] == decided["rule"])
      continue;
    std::cout << "    also matches " << RuleText(r) << "\n";
    PrintRuleDetails(r, "        ");
  }
}

void PrintDirection(const char* title, const json& d) {
  PrintDirectionEnforced(title, d);
  if (d["outcome"] != "not-enforced") PrintAudit(d);
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
      "which policies, and which rules (lowest rule first: the one flow logs report) match.\n"
      "Where ClusterNetworkPolicies select the pod it prints each tier's decision: the Admin tier\n"
      "(Accept, Deny, or Pass to the next tier), NetworkPolicy (allowed by a rule, or default\n"
      "deny when a NetworkPolicy isolates the pod), then the Baseline tier.\n\n"
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
    auto compiled = CompileCluster(*state, opts->source.audit_by_default());
    if (!compiled) throw CLI::RuntimeError(3);
    Objects objects;
    for (const auto& p : state->policies) objects.policies[p.meta.ns + "/" + p.meta.name] = &p;
    for (const auto& p : state->cluster_policies) objects.cluster_policies[p.key()] = &p;
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
      out["egress"] = ExplainDirection(*compiled, objects, *from, *to, k8s::Direction::kEgress, p8, port);
      out["ingress"] = ExplainDirection(*compiled, objects, *to, *from, k8s::Direction::kIngress, p8, port);
      auto d = compiled->classifier->Classify({*from->ip, *to->ip, p8, port});
      out["verdict"] = d.allowed() ? "allowed" : "denied";
      // With the policies in audit enforced (only where that differs: the flow log's "audit").
      if (d.audit_differs()) out["audit_verdict"] = d.audit_allowed() ? "allowed" : "denied";
    }
    if (opts->output == "json") {
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << out["protocol"].get<std::string>() << " " << from->label() << " -> " << to->label() << " port " << port
              << "\nverdict: " << (out["verdict"] == "allowed" ? "ALLOWED" : "DENIED") << "\n";
    if (out.contains("audit_verdict")) {
      std::cout << "in audit: would be " << (out["audit_verdict"] == "allowed" ? "ALLOWED" : "DENIED")
                << " with the policies in audit enforced (flow logs say \"verdict\":\"audit\")\n";
    }
    if (self) {
      std::cout << out["why"].get<std::string>() << "\n";
      return;
    }
    PrintDirection("egress  of ", out["egress"]);
    PrintDirection("ingress of ", out["ingress"]);
  });
}

}  // namespace netfence::ctl
