// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/pipeline/drop_records.h"

#include <cstring>

#include "dataplane/fastpath/conntrack_key.h"
#include "dataplane/flowlog/pipeline/attribution.h"

namespace netfence::flowlog {

DropObservation DropObservationOf(const nf_event& e, const GenerationHistory& history, int64_t wall_ns) {
  DropObservation d;
  d.time_ns = wall_ns;
  std::memcpy(d.src.bytes.data(), e.src, 16);
  std::memcpy(d.dst.bytes.data(), e.dst, 16);
  d.proto = e.proto;
  if (IsIcmp(e.proto)) {
    d.sport = e.icmp_type;
    d.dport = e.icmp_code;
    d.has_ports = e.parsed != 0;
  } else {
    d.sport = e.sport;
    d.dport = e.dport;
    d.has_ports = e.parsed != 0 && HasPorts(e.proto);
  }
  if (e.kind == NF_EV_REVOKED) {
    // The verdict is the connection's, re-checked as its initiator opened it: say it that way
    // round (the cut packet may be a reply).
    bool sender_b = false;
    fastpath::ConntrackKey(d.src, e.sport, d.dst, e.dport, e.proto, &sender_b);
    if (sender_b != ((e.ct_flags & NF_CT_INITIATOR_B) != 0)) {
      std::swap(d.src, d.dst);
      std::swap(d.sport, d.dport);
    }
  }
  d.reason = DropReason(e.reason);
  d.generation = e.generation;
  d.bytes = e.bytes;
  d.ifindex = e.ifindex;
  d.hook = e.hook;
  if (e.reason == NF_DROP_POLICY || e.reason == NF_DROP_REVOKED) {
    const bool egress = e.verdict.egress_outcome == NF_DENIED || e.verdict.egress_outcome == NF_DENIED_BY_RULE;
    d.direction = egress ? Direction::kEgress : Direction::kIngress;
    // A ClusterNetworkPolicy Deny rule decided: the record names it (reason "policy").
    const uint32_t outcome = egress ? e.verdict.egress_outcome : e.verdict.ingress_outcome;
    if (outcome == NF_DENIED_BY_RULE) {
      d.rule_table = egress ? e.verdict.egress_table : e.verdict.ingress_table;
      d.rule = egress ? e.verdict.egress_rule : e.verdict.ingress_rule;
      if (e.reason == NF_DROP_POLICY) d.reason = reason::kPolicy;
    }
    // Audit mode: would the policies in audit have allowed it? (Checked only when the datapath
    // says the audited decision differs: no lookup for the usual drop.)
    const nf_verdict& v = e.verdict;
    if (v.audit_egress_outcome != v.egress_outcome || v.audit_ingress_outcome != v.ingress_outcome) {
      const nf_verdict a = AuditedVerdict(history.Resolve(e.generation, wall_ns), v);
      if (!Allows(v) && Allows(a)) {
        d.audit = true;
        d.audited = {a.egress_outcome,  a.egress_table,  a.egress_rule,
                     a.ingress_outcome, a.ingress_table, a.ingress_rule};
      }
    }
  } else if (e.reason == NF_DROP_SPOOFED) {
    d.direction = Direction::kEgress;
  } else {
    const GenerationMeta* g = e.generation != 0 ? history.Resolve(e.generation, wall_ns) : history.Live();
    d.direction =
        e.hook == NF_HOOK_XDP && g != nullptr && g->local.contains(d.src) ? Direction::kEgress : Direction::kIngress;
  }
  return d;
}

FlowRecord DropRecordOf(const DropAggregate& a, const GenerationHistory& history, const std::string& node,
                        int64_t now_ns, std::string_view fast_path) {
  FlowRecord r = a.ToRecord(now_ns);
  r.node = node;
  r.observation_point = ObservationPoint(a.hook, fast_path);
  if (IsIcmp(a.proto)) {
    r.src.port.reset();
    r.dst.port.reset();
  }
  const IpAddr zero{};
  if (a.aggregation != Aggregation::kOverflow && a.src == zero && a.dst == zero) {
    r.src.ip.reset();  // nothing was parsed
    r.dst.ip.reset();
    r.community_id.clear();
  }
  if (a.aggregation == Aggregation::kOverflow || !r.src.ip) return r;
  const GenerationMeta* g = a.generation != 0 ? history.Resolve(a.generation, a.first_ns) : history.Live();
  NameEnds(history, g, &r);
  if (g == nullptr) return r;
  if (a.audit && !a.audited_mixed) {
    nf_verdict audited{};
    audited.egress_outcome = a.audited.egress_outcome;
    audited.egress_table = a.audited.egress_table;
    audited.egress_rule = a.audited.egress_rule;
    audited.ingress_outcome = a.audited.ingress_outcome;
    audited.ingress_table = a.audited.ingress_table;
    audited.ingress_rule = a.audited.ingress_rule;
    AttributeAudited(*g, audited, &r);
  }
  if (a.rule != DropObservation::kNoRule) {
    if (auto ref = RuleRef(*g, a.rule_table, a.rule, a.direction)) r.policies = {std::move(*ref)};
  } else if (r.reason == reason::kDefaultDeny || r.reason == reason::kRevoked) {
    r.policies = DenyingPolicies(*g, a.direction, a.src, a.dst);
  }
  return r;
}

}  // namespace netfence::flowlog
