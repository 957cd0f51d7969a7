// SPDX-License-Identifier: Apache-2.0
// Attribution: which rules decided a flow or a drop, named as of the generation that decided
// it, and the network fields every record shares (Community ID, observation point, reasons).
//
// A verdict comes from the datapath as (outcome, table, rule bit) per direction (nf_verdict,
// or a conntrack entry's rule/table as admitted). At generation g, table t's rule bit b is
// rule g.tables[t].rule_index[b] of policy g.policies[g.tables[t].rule_policy[b]].
//
//   allowed  policies: the allowing rule of each direction that isolates (egress first);
//            reason "policy", or "no-policy" when neither end is isolated; direction: the
//            direction whose rule allowed it (egress when both did), else egress when the
//            sender is a pod of this node, else ingress.
//   denied   by a rule (a ClusterNetworkPolicy Deny, outcome NF_DENIED_BY_RULE): that rule,
//            reason "policy"; else (default deny) the policies isolating the denying
//            direction's table, rule null (nothing matched); direction: egress when the
//            sender's egress denied it, else ingress.
// Entries of cluster policies carry kind, tier, action and the rule's name.
//
// Audit mode: nf_verdict also carries the audited decision (audit_*: the same tables with the
// policies in audit enforced too). Where it gives the other verdict, the record says
// "verdict":"audit" and the audit fields name what would have decided, by the same rules as
// above applied to the audited decision (audit_reason, audit_policies); the default-deny
// entries of the audited side list every policy isolating the table, audited ones included
// (marked audit). `verdict`, `reason` and `policies` keep describing what was enforced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/flowlog/flow_record.h"
#include "dataplane/flowlog/pipeline/generation_history.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::flowlog {

// The allowing side of a verdict: fills verdict, direction, reason, policies. `g` may be
// null (generation unknown): then policies stay empty.
void AttributeAllowed(const GenerationMeta* g, const nf_verdict& v, const IpAddr& src, FlowRecord* r);

// Whether both directions of a decision pass (not isolated, or allowed by a rule).
bool Allows(const nf_verdict& v);

// The audited decision of v as a verdict of its own (egress_*/ingress_*: the audit_* outcomes
// and rules, the same tables). A direction whose table has no policy in audit at g is taken as
// enforced: the datapath's contract says they are equal there, and a datapath that leaves
// audit_* zero (a program from before audit mode) then never makes an audit record. g null
// (generation unknown): the enforced decision, since nothing could name what would decide.
nf_verdict AuditedVerdict(const GenerationMeta* g, const nf_verdict& v);

// When v's audited verdict differs from its enforced one: sets verdict audit, enforced,
// audited, audit_reason and audit_policies (as of g) and returns true; else leaves r alone.
bool AttributeAudit(const GenerationMeta* g, const nf_verdict& v, FlowRecord* r);

// audit_reason and audit_policies of an audited decision (AuditedVerdict()), as of g.
void AttributeAudited(const GenerationMeta& g, const nf_verdict& audited, FlowRecord* r);

// The entry naming rule bit `bit` of table `table` at generation g (nullopt when the tables do
// not have it).
std::optional<PolicyRef> RuleRef(const GenerationMeta& g, uint32_t table, uint32_t bit, Direction d);

// Names both ends (namespace, pod, node, labels, identity) as of g; g null (a generation the
// history does not know): as of the live generation, the best knowledge of who holds an
// address. Ends without an ip are left alone.
void NameEnds(const GenerationHistory& history, const GenerationMeta* g, FlowRecord* r);

// A conntrack entry's rules as a verdict (rule NF_NO_RULE: that direction did not decide).
// The entry does not keep the audited decision: audit_* are the enforced one's (no audit).
nf_verdict VerdictOfEntry(const nf_ct_entry& e);

// The policies isolating the table of `direction` for this pair (the sender's egress table,
// or the receiver's ingress table) at generation g; empty when that end is no local endpoint.
std::vector<PolicyRef> DenyingPolicies(const GenerationMeta& g, Direction direction, const IpAddr& src,
                                       const IpAddr& dst);

// The flow log's reason for a datapath drop reason (enum nf_drop_reason): default-deny,
// revoked, spoofed, fragment, no-tables, internal, malformed. Static strings.
const char* DropReason(uint32_t nf_reason);
// The datapath's own name of a drop reason, for metrics: "policy", "eth-truncated", ...
const char* DatapathDropReasonName(uint32_t nf_reason);

// Where a packet of NF_HOOK_* was seen: "tc-egress" (the TC hook of a pod's veth), else the
// receive side of the fast path that reported it ("dpdk" for netfence-dpdk, "xdp" otherwise).
const char* ObservationPoint(uint32_t hook, std::string_view fast_path);

// Community ID of a flow from its initiator: TCP/UDP/SCTP hash the ports; ICMP/ICMPv6 the
// message type and code (Zeek's mapping); other protocols no ports.
std::string FlowCommunityId(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t sport, uint16_t dport,
                            uint8_t icmp_type, uint8_t icmp_code);

// Whether the protocol has ports in records (TCP, UDP, SCTP).
bool HasPorts(uint8_t proto);
bool IsIcmp(uint8_t proto);

// A node-local id joining a connection's start, update and end records: a hash of its
// conntrack key and creation time (stable across agent restarts), never 0.
uint64_t FlowId(const nf_ct_key& key, uint64_t created_ns);

}  // namespace netfence::flowlog
