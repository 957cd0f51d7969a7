// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/flow_summary.h"

#include <algorithm>
#include <set>

namespace netfence::flowlog {

std::string EndpointLabel(const Endpoint& e) {
  if (!e.pod.empty()) return e.ns + "/" + e.pod;
  if (e.ip) return e.ip->str();
  return "*";
}

void FlowSummary::Add(const FlowRecord& r) {
  ++records_;
  if (r.event == EventKind::kLost) {
    lost_events_ += r.lost_events;
    return;
  }
  const std::string pair = EndpointLabel(r.src) + " -> " + EndpointLabel(r.dst);
  const std::string port_pair = pair + " " + (r.dst.port ? std::to_string(*r.dst.port) + "/" : "") + ProtoName(r.proto);
  std::set<std::string> names;
  for (const auto& p : r.policies) names.insert((p.cluster() ? p.kind : p.ns) + "/" + p.name);
  AuditHits* audit = nullptr;
  if (r.is_audit()) {
    const bool drop = r.event == EventKind::kDrop;
    audit = &audit_[std::string(drop ? "allow " : "deny ") + port_pair];
    audit->pair = port_pair;
    audit->would = drop ? "allow" : "deny";
    for (const auto& p : r.audit_policies) audit->policies.insert((p.cluster() ? p.kind : p.ns) + "/" + p.name);
  }

  if (r.event == EventKind::kDrop) {
    drops_ += r.count;
    if (audit != nullptr) audit->drops += r.count;
    const std::string& key = port_pair;
    Denied& d = denied_[key];
    d.pair = key;
    d.drops += r.count;
    d.bytes += r.bytes;
    for (const auto& n : names) {
      PolicyHits& h = policies_[n];
      h.policy = n;
      h.drops += r.count;
    }
    return;
  }
  std::string flow_key = r.node + "#" + (r.flow_id ? std::to_string(r.flow_id) : r.community_id);
  auto [it, inserted] = flows_.try_emplace(flow_key);
  Flow& f = it->second;
  if (inserted) {
    f.pair = pair;
    if (audit != nullptr) ++audit->flows;
    for (const auto& n : names) {
      PolicyHits& h = policies_[n];
      h.policy = n;
      ++h.flows;
    }
  }
  f.bytes = std::max(f.bytes, r.bytes);
  f.packets = std::max(f.packets, r.packets);
}

std::vector<FlowSummary::Talker> FlowSummary::TopTalkers(size_t n) const {
  std::map<std::string, Talker> by_pair;
  for (const auto& [k, f] : flows_) {
    Talker& t = by_pair[f.pair];
    t.pair = f.pair;
    t.bytes += f.bytes;
    t.packets += f.packets;
    ++t.flows;
  }
  std::vector<Talker> out;
  for (auto& [k, t] : by_pair) out.push_back(t);
  std::stable_sort(out.begin(), out.end(), [](const Talker& a, const Talker& b) { return a.bytes > b.bytes; });
  if (out.size() > n) out.resize(n);
  return out;
}

std::vector<FlowSummary::Denied> FlowSummary::TopDenied(size_t n) const {
  std::vector<Denied> out;
  for (const auto& [k, d] : denied_) out.push_back(d);
  std::stable_sort(out.begin(), out.end(), [](const Denied& a, const Denied& b) { return a.drops > b.drops; });
  if (out.size() > n) out.resize(n);
  return out;
}

std::vector<FlowSummary::PolicyHits> FlowSummary::TopPolicies(size_t n) const {
  std::vector<PolicyHits> out;
  for (const auto& [k, p] : policies_) out.push_back(p);
  std::stable_sort(out.begin(), out.end(),
                   [](const PolicyHits& a, const PolicyHits& b) { return a.flows + a.drops > b.flows + b.drops; });
  if (out.size() > n) out.resize(n);
  return out;
}

std::vector<FlowSummary::AuditHits> FlowSummary::TopAudit(size_t n) const {
  std::vector<AuditHits> out;
  for (const auto& [k, a] : audit_) out.push_back(a);
  std::stable_sort(out.begin(), out.end(),
                   [](const AuditHits& a, const AuditHits& b) { return a.flows + a.drops > b.flows + b.drops; });
  if (out.size() > n) out.resize(n);
  return out;
}

namespace {
std::string JoinNames(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}
}  // namespace

nlohmann::json FlowSummary::ToJson(size_t top) const {
  using nlohmann::json;
  json j{{"records", records_}, {"flows", flows()}, {"drops", drops_}, {"lost_events", lost_events_}};
  json talkers = json::array(), denied = json::array(), policies = json::array();
  for (const auto& t : TopTalkers(top)) {
    talkers.push_back({{"pair", t.pair}, {"bytes", t.bytes}, {"packets", t.packets}, {"flows", t.flows}});
  }
  for (const auto& d : TopDenied(top)) denied.push_back({{"pair", d.pair}, {"drops", d.drops}, {"bytes", d.bytes}});
  for (const auto& p : TopPolicies(top)) {
    policies.push_back({{"policy", p.policy}, {"flows", p.flows}, {"drops", p.drops}});
  }
  j["top_talkers"] = talkers;
  j["top_denied"] = denied;
  j["policy_hits"] = policies;
  if (!audit_.empty()) {
    json audit = json::array();
    for (const auto& a : TopAudit(top)) {
      audit.push_back({{"pair", a.pair},
                       {"would", a.would},
                       {"flows", a.flows},
                       {"drops", a.drops},
                       {"policies", json(std::vector<std::string>(a.policies.begin(), a.policies.end()))}});
    }
    j["audit"] = audit;
  }
  return j;
}

namespace {

// Rows of right-aligned numbers followed by a left-aligned name.
std::string Table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) w[i] = headers[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = " ";
    for (size_t i = 0; i < cells.size(); ++i) {
      s += " ";
      bool last = i + 1 == cells.size();
      if (last) {
        s += cells[i];
      } else {
        s += std::string(w[i] - cells[i].size(), ' ') + cells[i];
      }
    }
    return s + "\n";
  };
  std::string out = line(headers);
  for (const auto& r : rows) out += line(r);
  if (rows.empty()) out += "  (none)\n";
  return out;
}

}  // namespace

std::string FlowSummary::ToText(size_t top) const {
  std::string out = std::to_string(records_) + " records, " + std::to_string(flows()) + " flows, " +
                    std::to_string(drops_) + " drops, " + std::to_string(lost_events_) + " events lost\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : TopTalkers(top)) {
    rows.push_back({std::to_string(t.bytes), std::to_string(t.packets), std::to_string(t.flows), t.pair});
  }
  out += "\nTop talkers (bytes)\n" + Table({"BYTES", "PACKETS", "FLOWS", "SOURCE -> DESTINATION"}, rows);
  rows.clear();
  for (const auto& d : TopDenied(top)) rows.push_back({std::to_string(d.drops), std::to_string(d.bytes), d.pair});
  out += "\nTop denied (drops)\n" + Table({"DROPS", "BYTES", "SOURCE -> DESTINATION PORT/PROTO"}, rows);
  rows.clear();
  for (const auto& p : TopPolicies(top)) rows.push_back({std::to_string(p.flows), std::to_string(p.drops), p.policy});
  out += "\nPolicy hits\n" + Table({"FLOWS", "DROPS", "POLICY"}, rows);
  if (!audit_.empty()) {
    rows.clear();
    for (const auto& a : TopAudit(top)) {
      rows.push_back({std::to_string(a.flows), std::to_string(a.drops), a.would,
                      a.pair + (a.policies.empty() ? "" : " (" + JoinNames(a.policies) + ")")});
    }
    out += "\nAudit: enforcing the policies in audit would\n" +
           Table({"FLOWS", "DROPS", "WOULD", "SOURCE -> DESTINATION PORT/PROTO (POLICIES)"}, rows);
  }
  return out;
}

}  // namespace netfence::flowlog
