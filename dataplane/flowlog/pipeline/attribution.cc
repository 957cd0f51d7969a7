// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/pipeline/attribution.h"

#include <cstring>

#include "common/tables/wire.h"
#include "dataplane/flowlog/community_id.h"

namespace netfence::flowlog {

namespace {

constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmp6 = 58, kSctp = 132;

// The allowing rule of one direction, if it decided.
void AddRule(const GenerationMeta& g, uint32_t outcome, uint32_t table, uint32_t bit, Direction d,
             std::vector<PolicyRef>* out) {
  if (outcome != NF_ALLOWED) return;
  if (auto ref = RuleRef(g, table, bit, d)) out->push_back(std::move(*ref));
}

// A policy as records name it: a NetworkPolicy, or a cluster policy with kind and tier.
PolicyRef PolicyOf(const GenerationMeta& g, uint32_t p, Direction d, std::optional<uint32_t> rule) {
  PolicyRef ref{g.policies[p].first, g.policies[p].second, d, rule};
  if (p < g.policy_info.size()) ref.audit = g.policy_info[p].audit;
  if (p < g.policy_info.size() && !g.policy_info[p].kind.empty()) {
    const PolicyInfo& info = g.policy_info[p];
    ref.kind = info.kind;
    ref.tier = info.tier;
    const auto& names = info.rule_names[static_cast<int>(d)];
    if (rule) ref.rule_name = *rule < names.size() ? names[*rule] : "";
  }
  return ref;
}

const char* ActionName(uint32_t flags) {
  switch (flags & tables::kRuleActionMask) {
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

bool Passes(uint32_t outcome) { return outcome == NF_NOT_ISOLATED || outcome == NF_ALLOWED; }
bool Denies(uint32_t outcome) { return outcome == NF_DENIED || outcome == NF_DENIED_BY_RULE; }

bool TableAudits(const GenerationMeta& g, uint32_t table) {
  const TableMeta* t = g.table(table);
  return t != nullptr && t->audit;
}

}  // namespace

bool Allows(const nf_verdict& v) { return Passes(v.egress_outcome) && Passes(v.ingress_outcome); }

nf_verdict AuditedVerdict(const GenerationMeta* g, const nf_verdict& v) {
  nf_verdict a = v;
  if (g == nullptr) return a;
  if (TableAudits(*g, v.egress_table)) {
    a.egress_outcome = v.audit_egress_outcome;
    a.egress_rule = v.audit_egress_rule;
  }
  if (TableAudits(*g, v.ingress_table)) {
    a.ingress_outcome = v.audit_ingress_outcome;
    a.ingress_rule = v.audit_ingress_rule;
  }
  // It is a decision of its own now: its audit side is itself.
  a.audit_egress_outcome = a.egress_outcome;
  a.audit_egress_rule = a.egress_rule;
  a.audit_ingress_outcome = a.ingress_outcome;
  a.audit_ingress_rule = a.ingress_rule;
  return a;
}

bool AttributeAudit(const GenerationMeta* g, const nf_verdict& v, FlowRecord* r) {
  // Most verdicts are the same twice: skip the tables' lookups for them.
  if (v.audit_egress_outcome == v.egress_outcome && v.audit_ingress_outcome == v.ingress_outcome) return false;
  if (g == nullptr) return false;
  const nf_verdict audited = AuditedVerdict(g, v);
  const bool enforced_allows = Allows(v);
  if (Allows(audited) == enforced_allows) return false;
  r->verdict = Verdict::kAudit;
  r->enforced = enforced_allows ? Verdict::kAllowed : Verdict::kDenied;
  r->audited = enforced_allows ? Verdict::kDenied : Verdict::kAllowed;
  AttributeAudited(*g, audited, r);
  return true;
}

void AttributeAudited(const GenerationMeta& g, const nf_verdict& a, FlowRecord* r) {
  r->audit_policies.clear();
  if (Allows(a)) {
    AddRule(g, a.egress_outcome, a.egress_table, a.egress_rule, Direction::kEgress, &r->audit_policies);
    AddRule(g, a.ingress_outcome, a.ingress_table, a.ingress_rule, Direction::kIngress, &r->audit_policies);
    r->audit_reason =
        a.egress_outcome == NF_ALLOWED || a.ingress_outcome == NF_ALLOWED ? reason::kPolicy : reason::kNoPolicy;
    return;
  }
  // The side that would deny (egress first, as for enforced drops).
  const bool egress = Denies(a.egress_outcome);
  const Direction d = egress ? Direction::kEgress : Direction::kIngress;
  const uint32_t outcome = egress ? a.egress_outcome : a.ingress_outcome;
  const uint32_t table = egress ? a.egress_table : a.ingress_table;
  if (outcome == NF_DENIED_BY_RULE) {
    r->audit_reason = reason::kPolicy;
    if (auto ref = RuleRef(g, table, egress ? a.egress_rule : a.ingress_rule, d)) {
      r->audit_policies.push_back(std::move(*ref));
    }
    return;
  }
  r->audit_reason = reason::kDefaultDeny;
  const TableMeta* t = g.table(table);
  if (t == nullptr) return;
  // Isolated by enforced and by audited NetworkPolicies alike: both would deny it.
  for (const auto* list : {&t->isolating_policies, &t->audit_isolating_policies}) {
    for (uint32_t p : *list) {
      if (p < g.policies.size()) r->audit_policies.push_back(PolicyOf(g, p, d, std::nullopt));
    }
  }
}

std::optional<PolicyRef> RuleRef(const GenerationMeta& g, uint32_t table, uint32_t bit, Direction d) {
  const TableMeta* t = g.table(table);
  if (t == nullptr || bit >= t->rule_policy.size() || bit >= t->rule_index.size()) return std::nullopt;
  const uint32_t p = t->rule_policy[bit];
  if (p >= g.policies.size()) return std::nullopt;
  PolicyRef ref = PolicyOf(g, p, d, t->rule_index[bit]);
  if (ref.cluster() && bit < t->rule_flags.size()) ref.action = ActionName(t->rule_flags[bit]);
  return ref;
}

void AttributeAllowed(const GenerationMeta* g, const nf_verdict& v, const IpAddr& src, FlowRecord* r) {
  r->verdict = Verdict::kAllowed;
  r->policies.clear();
  const bool egress = v.egress_outcome == NF_ALLOWED;
  const bool ingress = v.ingress_outcome == NF_ALLOWED;
  if (g != nullptr) {
    AddRule(*g, v.egress_outcome, v.egress_table, v.egress_rule, Direction::kEgress, &r->policies);
    AddRule(*g, v.ingress_outcome, v.ingress_table, v.ingress_rule, Direction::kIngress, &r->policies);
  }
  r->reason = egress || ingress ? reason::kPolicy : reason::kNoPolicy;
  if (egress) {
    r->direction = Direction::kEgress;
  } else if (ingress) {
    r->direction = Direction::kIngress;
  } else {
    r->direction = g != nullptr && g->local.contains(src) ? Direction::kEgress : Direction::kIngress;
  }
}

void NameEnds(const GenerationHistory& history, const GenerationMeta* g, FlowRecord* r) {
  if (g == nullptr) g = history.Live();
  if (g == nullptr) return;
  if (r->src.ip) history.Enrich(*g, *r->src.ip, &r->src);
  if (r->dst.ip) history.Enrich(*g, *r->dst.ip, &r->dst);
}

nf_verdict VerdictOfEntry(const nf_ct_entry& e) {
  nf_verdict v{};
  v.egress_table = e.egress_table;
  v.ingress_table = e.ingress_table;
  if (e.egress_rule != NF_NO_RULE) {
    v.egress_outcome = NF_ALLOWED;
    v.egress_rule = e.egress_rule;
  }
  if (e.ingress_rule != NF_NO_RULE) {
    v.ingress_outcome = NF_ALLOWED;
    v.ingress_rule = e.ingress_rule;
  }
  v.audit_egress_outcome = v.egress_outcome;
  v.audit_egress_rule = v.egress_rule;
  v.audit_ingress_outcome = v.ingress_outcome;
  v.audit_ingress_rule = v.ingress_rule;
  return v;
}

std::vector<PolicyRef> DenyingPolicies(const GenerationMeta& g, Direction direction, const IpAddr& src,
                                       const IpAddr& dst) {
  std::vector<PolicyRef> out;
  auto it = g.local.find(direction == Direction::kEgress ? src : dst);
  if (it == g.local.end()) return out;
  const TableMeta* t = g.table(direction == Direction::kEgress ? it->second.egress_table : it->second.ingress_table);
  if (t == nullptr) return out;
  for (uint32_t p : t->isolating_policies) {
    if (p < g.policies.size()) out.push_back(PolicyOf(g, p, direction, std::nullopt));
  }
  return out;
}

const char* DropReason(uint32_t nf_reason) {
  switch (nf_reason) {
    case NF_DROP_POLICY:
      return reason::kDefaultDeny;
    case NF_DROP_REVOKED:
      return reason::kRevoked;
    case NF_DROP_SPOOFED:
      return reason::kSpoofed;
    case NF_DROP_UNREGISTERED:
      return reason::kUnregistered;
    case NF_DROP_NOT_IP:
      return reason::kNotIp;
    case NF_DROP_CT_QUOTA:
      return reason::kConntrackQuota;
    case NF_DROP_IP4_FRAGMENT:
    case NF_DROP_IP6_FRAGMENT:
      return reason::kFragment;
    case NF_DROP_NO_TABLES:
      return reason::kNoTables;
    case NF_DROP_INTERNAL:
      return reason::kInternal;
    default:
      return reason::kMalformed;
  }
}

const char* DatapathDropReasonName(uint32_t nf_reason) {
  static constexpr const char* kNames[NF_DROP_REASON_COUNT] = {
      "policy",         "eth-truncated", "vlan-truncated", "vlan-depth",      "ipv4-truncated", "ipv4-version",
      "ipv4-ihl",       "ipv4-length",   "ipv4-fragment",  "ipv6-truncated",  "ipv6-version",   "ipv6-ext-truncated",
      "ipv6-ext-depth", "ipv6-fragment", "l4-truncated",   "tcp-data-offset", "internal",       "ipv6-v4mapped",
      "no-tables",      "revoked",       "spoofed",        "unregistered",    "not-ip",         "conntrack-quota"};
  return nf_reason < NF_DROP_REASON_COUNT ? kNames[nf_reason] : "unknown";
}

const char* ObservationPoint(uint32_t hook, std::string_view fast_path) {
  if (hook == NF_HOOK_TC) return "tc-egress";
  return fast_path == "dpdk" ? "dpdk" : "xdp";
}

bool HasPorts(uint8_t proto) { return proto == kTcp || proto == kUdp || proto == kSctp; }
bool IsIcmp(uint8_t proto) { return proto == kIcmp || proto == kIcmp6; }

std::string FlowCommunityId(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t sport, uint16_t dport,
                            uint8_t icmp_type, uint8_t icmp_code) {
  if (IsIcmp(proto)) return CommunityId(src, dst, proto, icmp_type, icmp_code);
  if (HasPorts(proto)) return CommunityId(src, dst, proto, sport, dport);
  return CommunityId(src, dst, proto, 0, 0);
}

uint64_t FlowId(const nf_ct_key& key, uint64_t created_ns) {
  // splitmix64 over the key's words and the creation time.
  auto mix = [](uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  uint64_t words[5];
  static_assert(sizeof(words) == sizeof(nf_ct_key));
  std::memcpy(words, &key, sizeof(words));
  uint64_t h = mix(created_ns);
  for (uint64_t w : words) h = mix(h ^ w);
  return h == 0 ? 1 : h;
}

}  // namespace netfence::flowlog
