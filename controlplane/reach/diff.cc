// SPDX-License-Identifier: Apache-2.0
#include "controlplane/reach/diff.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "controlplane/reach/matrix.h"

namespace netfence::reach {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Removes the elements `key` names; whether one was there.
template <typename T, typename KeyOf>
bool Erase(std::vector<T>* v, const std::string& key, KeyOf key_of) {
  const auto before = v->size();
  std::erase_if(*v, [&](const T& x) { return key_of(x) == key; });
  return v->size() != before;
}

template <typename T, typename KeyOf>
void Upsert(std::vector<T>* v, const T& x, KeyOf key_of) {
  for (T& y : *v) {
    if (key_of(y) == key_of(x)) {
      y = x;
      return;
    }
  }
  v->push_back(x);
}

std::string NamespaceKey(const k8s::Namespace& n) { return n.meta.name; }
std::string PodKey(const k8s::Pod& p) { return p.key(); }
std::string PolicyKey(const k8s::NetworkPolicy& p) { return p.meta.ns + "/" + p.meta.name; }
std::string NodeKey(const k8s::Node& n) { return n.meta.name; }
std::string ClusterPolicyKey(const k8s::ClusterNetworkPolicy& p) { return p.key(); }

Status Delete(const std::string& spec, k8s::ClusterState* s) {
  const auto slash = spec.find('/');
  if (slash == std::string::npos || slash + 1 >= spec.size()) {
    return Status::Error("--delete " + spec + ": expected KIND/NAMESPACE/NAME or KIND/NAME");
  }
  const std::string kind = Lower(spec.substr(0, slash)), rest = spec.substr(slash + 1);
  const bool two_parts = rest.find('/') != std::string::npos;
  bool found = false;
  if (kind == "networkpolicy" && two_parts) {
    found = Erase(&s->policies, rest, PolicyKey);
  } else if (kind == "pod" && two_parts) {
    found = Erase(&s->pods, rest, PodKey);
  } else if (kind == "namespace" && !two_parts) {
    found = Erase(&s->namespaces, rest, NamespaceKey);
  } else if (kind == "node" && !two_parts) {
    found = Erase(&s->nodes, rest, NodeKey);
  } else if ((kind == "clusternetworkpolicy" || kind == "adminnetworkpolicy" || kind == "baselineadminnetworkpolicy") &&
             !two_parts) {
    const std::string canonical = kind == "clusternetworkpolicy" ? "ClusterNetworkPolicy"
                                  : kind == "adminnetworkpolicy" ? "AdminNetworkPolicy"
                                                                 : "BaselineAdminNetworkPolicy";
    found = Erase(&s->cluster_policies, canonical + "/" + rest, ClusterPolicyKey);
  } else {
    return Status::Error("--delete " + spec +
                         ": not a kind netfence reads in that form (NetworkPolicy/NS/NAME, Pod/NS/NAME, "
                         "Namespace/NAME, Node/NAME, ClusterNetworkPolicy/NAME, AdminNetworkPolicy/NAME, "
                         "BaselineAdminNetworkPolicy/NAME)");
  }
  if (!found) return Status::Error("--delete " + spec + ": no such object in the cluster");
  return Status::Ok();
}

void AddPort(std::set<ProtoPort>* out, k8s::Protocol proto, int64_t port) {
  if (port >= 1 && port <= 65535) out->insert({proto, static_cast<uint16_t>(port)});
}

void AddPortsOf(const k8s::ClusterState& s, std::set<ProtoPort>* out) {
  for (const auto& pod : s.pods) {
    for (const auto& cp : pod.ports) {
      if (auto proto = k8s::ParseProtocol(cp.protocol)) AddPort(out, *proto, cp.container_port);
    }
  }
  for (const auto& p : s.policies) {
    for (const auto* rules : {&p.ingress, &p.egress}) {
      for (const auto& rule : *rules) {
        for (const auto& port : rule.ports) {
          if (!port.port || !port.port->is_int) continue;
          AddPort(out, port.protocol_or_default(), port.port->int_value);
          if (port.end_port) AddPort(out, port.protocol_or_default(), *port.end_port);
        }
      }
    }
  }
  for (const auto& p : s.cluster_policies) {
    for (const auto* rules : {&p.ingress, &p.egress}) {
      for (const auto& rule : *rules) {
        for (const auto& port : rule.ports) {
          if (!port.named_port.empty() || port.first > port.last) continue;
          AddPort(out, port.protocol, port.first);
          AddPort(out, port.protocol, port.last);
        }
      }
    }
  }
}

std::string PolicyName(const v1::PolicyRef& p) {
  return p.kind().empty() ? p.namespace_() + "/" + p.name() : p.kind() + "/" + p.name();
}

}  // namespace

Judgement JudgeProbe(const std::optional<std::pair<IpAddr, IpAddr>>& addrs, const classifier::Classifier& c,
                     const ProtoPort& pp) {
  Judgement j;
  if (!addrs) return j;  // no common family: nothing gets through, as in the matrix
  j.decision = c.Classify({addrs->first, addrs->second, static_cast<uint8_t>(pp.protocol), pp.port});
  j.allowed = j.decision.allowed();
  return j;
}

Judgement JudgePair(const k8s::Pod& src, const k8s::Pod& dst, const classifier::Classifier& c, const ProtoPort& pp) {
  return JudgeProbe(ProbeAddresses(src, dst), c, pp);
}

Status ApplyChange(const Change& change, k8s::ClusterState* state) {
  k8s::ClusterState s = *state;
  for (const auto& d : change.deletes) {
    if (Status st = Delete(d, &s); !st.ok()) return st;
  }
  const auto& o = change.objects;
  for (const auto& x : o.namespaces) Upsert(&s.namespaces, x, NamespaceKey);
  for (const auto& x : o.pods) Upsert(&s.pods, x, PodKey);
  for (const auto& x : o.policies) Upsert(&s.policies, x, PolicyKey);
  for (const auto& x : o.nodes) Upsert(&s.nodes, x, NodeKey);
  for (const auto& x : o.cluster_policies) Upsert(&s.cluster_policies, x, ClusterPolicyKey);
  *state = std::move(s);
  return Status::Ok();
}

std::vector<ProtoPort> PortsOfInterest(const k8s::ClusterState& a, const k8s::ClusterState& b) {
  std::set<ProtoPort> out;
  AddPortsOf(a, &out);
  AddPortsOf(b, &out);
  return {out.begin(), out.end()};
}

std::vector<std::pair<const k8s::Pod*, const k8s::Pod*>> PodsInBoth(const k8s::ClusterState& before,
                                                                    const k8s::ClusterState& after) {
  std::unordered_map<std::string, const k8s::Pod*> now;
  for (const auto* p : MatrixPods(after)) now.emplace(p->key(), p);
  std::vector<std::pair<const k8s::Pod*, const k8s::Pod*>> pods;
  for (const auto* p : MatrixPods(before)) {
    if (auto it = now.find(p->key()); it != now.end()) pods.emplace_back(p, it->second);
  }
  return pods;
}

std::vector<Flip> FlipsBruteForce(const k8s::ClusterState& before, const classifier::Classifier& before_classifier,
                        const k8s::ClusterState& after, const classifier::Classifier& after_classifier,
                        const std::vector<ProtoPort>& ports) {
  const auto pods = PodsInBoth(before, after);
  std::vector<Flip> flips;
  for (const auto& [src_b, src_a] : pods) {
    for (const auto& [dst_b, dst_a] : pods) {
      if (src_b == dst_b) continue;  // a pod always reaches itself
      for (const ProtoPort& pp : ports) {
        Judgement b = JudgePair(*src_b, *dst_b, before_classifier, pp);
        Judgement a = JudgePair(*src_a, *dst_a, after_classifier, pp);
        if (a.allowed != b.allowed) flips.push_back({src_b->key(), dst_b->key(), pp, b, a});
      }
    }
  }
  return flips;
}

json DirectionJson(const v1::RuleTables& tables, const classifier::DirectionDecision& d) {
  using classifier::Outcome;
  json j;
  j["outcome"] = d.outcome == Outcome::kNotIsolated ? "not-isolated" : d.passes() ? "allowed" : "denied";
  if (d.outcome == Outcome::kNotIsolated || d.table >= static_cast<uint32_t>(tables.tables_size())) return j;
  const v1::DirectionTable& t = tables.tables(static_cast<int>(d.table));
  if (d.by_rule() && d.rule_bit < static_cast<uint32_t>(t.rule_policy_size())) {
    const uint32_t pi = t.rule_policy(static_cast<int>(d.rule_bit));
    const uint32_t ri = t.rule_index(static_cast<int>(d.rule_bit));
    if (pi < static_cast<uint32_t>(tables.policies_size())) {
      const v1::PolicyRef& p = tables.policies(static_cast<int>(pi));
      j["policy"] = PolicyName(p);
      j["rule"] = ri;
      const auto& names = t.direction() == v1::INGRESS ? p.ingress_rule_names() : p.egress_rule_names();
      if (ri < static_cast<uint32_t>(names.size()) && !names[static_cast<int>(ri)].empty()) {
        j["rule_name"] = names[static_cast<int>(ri)];
      }
    }
  } else if (d.outcome == Outcome::kDenied) {
    json by = json::array();
    for (uint32_t pi : t.isolating_policies()) {
      if (pi < static_cast<uint32_t>(tables.policies_size()))
        by.push_back(PolicyName(tables.policies(static_cast<int>(pi))));
    }
    j["isolated_by"] = std::move(by);
  }
  return j;
}

json JudgementJson(const v1::RuleTables& tables, const Judgement& j) {
  return json{{"egress", DirectionJson(tables, j.decision.egress)}, {"ingress", DirectionJson(tables, j.decision.ingress)}};
}

json FlipsJson(const std::vector<Flip>& flips, const v1::RuleTables& before_tables,
               const v1::RuleTables& after_tables) {
  json out = json::array();
  for (const Flip& f : flips) {
    out.push_back(
        {{"from", f.from},
         {"to", f.to},
         {"protocol", k8s::ProtocolName(f.port.protocol)},
         {"port", f.port.port},
         {"before", f.before.allowed},
         {"after", f.after.allowed},
         {"decided_by",
          {{"before", JudgementJson(before_tables, f.before)}, {"after", JudgementJson(after_tables, f.after)}}}});
  }
  return json{{"flips", std::move(out)}};
}

std::string FlipsTable(const std::vector<Flip>& flips) {
  if (flips.empty()) return "no connection changes its verdict\n";
  auto ns = [](const std::string& key) { return key.substr(0, key.find('/')); };
  std::map<std::pair<std::string, std::string>, std::pair<int, int>> groups;  // (cut, newly allowed)
  for (const Flip& f : flips) {
    auto& g = groups[{ns(f.from), ns(f.to)}];
    (f.after.allowed ? g.second : g.first) += 1;
  }
  std::ostringstream o;
  o << "namespaces (from -> to)                  cut  newly allowed\n";
  for (const auto& [k, v] : groups) {
    std::string name = k.first + " -> " + k.second;
    if (name.size() < 40) name.resize(40, ' ');
    o << name << " " << v.first << "  " << v.second << "\n";
  }
  o << "\n";
  for (const Flip& f : flips) {
    o << (f.after.allowed ? "+ " : "- ") << f.from << " -> " << f.to << " " << k8s::ProtocolName(f.port.protocol) << "/"
      << f.port.port << (f.after.allowed ? "  newly allowed\n" : "  cut\n");
  }
  return o.str();
}

}  // namespace netfence::reach
