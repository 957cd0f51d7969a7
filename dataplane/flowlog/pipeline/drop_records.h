// SPDX-License-Identifier: Apache-2.0
// Drops: from the datapath's DROP and REVOKED events to DropAggregator observations, and from
// closed aggregates to `drop` records, enriched and attributed as of their generation.
//
//   agg.Add(DropObservationOf(event, history, wall_time));
//   for (const DropAggregate& a : agg.Poll()) emit(DropRecordOf(a, history, node, now));
//
// - reason: flowlog reason of the datapath's (DropReason()); direction: the denying one for
//   policy and revocation drops, egress for spoofed packets, else egress when the sender is a
//   pod of this node and the packet came in on its veth, ingress otherwise.
// - A revoked connection's drop is written as the connection (initiator -> responder), whose
//   re-check denied it, whichever way the cut packet went.
// - ICMP: the message type and code go into the aggregate's ports (so a one-flow aggregate has
//   the right Community ID); the record shows no ports for ICMP.
// - policies: for default-deny and revoked drops, the policies isolating the denying side, as
//   of the aggregate's generation (none for folded `overflow` aggregates, which have no ips).
// - Audit mode: a policy or revocation drop the policies in audit would have allowed (the
//   event's audited decision, see AuditedVerdict()) is "verdict":"audit", aggregated apart,
//   with audit_reason and audit_policies naming the rules that would have allowed it (as of
//   the aggregate's generation; nothing named for overflow aggregates, nor when the drops of
//   one aggregate were audited differently). Its packets and bytes are drops all the same.
// - Drops decided before the tables were read (malformed packets: generation 0) are enriched
//   with the live generation's names; addresses the parser never reached are null.
#pragma once

#include <string>
#include <string_view>

#include "dataplane/flowlog/drop_aggregator.h"
#include "dataplane/flowlog/pipeline/generation_history.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::flowlog {

DropObservation DropObservationOf(const nf_event& e, const GenerationHistory& history, int64_t wall_ns);

// `fast_path`: FastPath::name() of the datapath that dropped (see ObservationPoint()).
FlowRecord DropRecordOf(const DropAggregate& a, const GenerationHistory& history, const std::string& node,
                        int64_t now_ns, std::string_view fast_path = "xdp");

}  // namespace netfence::flowlog
