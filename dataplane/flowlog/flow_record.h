// SPDX-License-Identifier: Apache-2.0
// FlowRecord: one line of the flow log (schema "netfence.flow/v1", newline-delimited JSON).
// The required fields are the flow-log contract (docs/flow-logs.md); external
// checks read them by name. Everything else is an extra, written only where it means
// something. One record per line, no newline inside, fields in a fixed order.
//
// Kinds of record (`event`):
//   start   a connection was admitted (its first packet)
//   update  an active connection, every flush interval (default 10 s): counters so far
//   end     the connection closed or expired: final counters, TCP flags, end_reason
//   drop    denied packets, aggregated per key over a short window (see drop_aggregator.h)
//   lost    not a flow: N events could not be logged between `since` and `until`
//
// Fields (required ones marked *):
//   schema*        "netfence.flow/v1"
//   time*          when the record was made (RFC 3339, UTC, ns). start: the first packet;
//                  update/end: the scan that saw it; drop: the end of the aggregation window
//   event*         start|update|end|drop|lost
//   node           the reporting node (the agent's node name)
//   observation_point  where the packets were seen: "xdp" (RX of a pod veth or uplink),
//                  "tc-egress" (node-originated traffic), "dpdk" (a port of netfence-dpdk);
//                  omitted when unknown
//   ifindex        the interface (of the agent's namespace) of the first packet; omitted when 0
//   verdict*       allowed|denied|audit. audit: policies in audit (annotation
//                  netfence.io/enforcement: audit) would change the verdict; traffic followed
//                  the enforced one (`enforced`), the audit fields below say what would have
//                  happened. start records of connections the audited policies would deny,
//                  drop records of packets they would allow (still drops: packets and bytes
//                  are the dropped ones), and every update/end of a connection whose start
//                  was audit (a search for verdict=audit finds the whole connection)
//   direction*     ingress|egress: the policy direction that decided (for allowed flows the
//                  enforcing side: egress of the sender when it is a pod of the node, else
//                  ingress of the receiver; the caller chooses)
//   reason*        policy (a rule allowed it) | no-policy (no policy isolates either end) |
//                  default-deny (isolated, no rule matched) | revoked (cut by a new generation) |
//                  malformed | spoofed (source address not the pod's) | fragment (later fragment
//                  of a datagram not allowed) | no-tables | internal
//   proto*         TCP|UDP|SCTP|ICMP|ICMPv6, else the protocol number as a string ("47")
//   src*, dst*     {ip, port, namespace, pod, node[, labels{k:v}][, identity]}: for flows src is
//                  the initiator. namespace/pod/node are "" when the address is not a pod
//                  (world, host). ip and port are null in overflow drop aggregates, the source
//                  port in folded ones; port is null for protocols without ports.
//   community_id*  Community ID v1 ("1:..."): every start/update/end and every exact drop (one
//                  5-tuple); "" for folded and overflow drop aggregates (many flows) and for
//                  packets whose addresses were never parsed
//   packets*, bytes*  start/update/end: totals of both directions since the flow started;
//                  drop: the dropped packets and bytes of the aggregate
//   generation*    RuleTables.generation the verdict was taken with
//   policies*      [{namespace, name, direction, rule, kind, tier[, action][, rule_name]}]: the
//                  rules that decided, as of that generation; for default-deny the policies
//                  that isolated the pod (rule null). kind: NetworkPolicy, or a cluster
//                  policy's (ClusterNetworkPolicy, AdminNetworkPolicy,
//                  BaselineAdminNetworkPolicy: namespace ""); tier: NetworkPolicy | Admin |
//                  Baseline; action (with a rule): Allow (a NetworkPolicy rule), Accept, Deny;
//                  rule_name: a cluster policy rule's name ("" when it has none); audit: true
//                  when the policy is in audit (written only then; never in `policies`, which
//                  name what was enforced, only in `audit_policies`)
//   enforced, audited, audit_reason, audit_policies
//                  audit records only (verdict audit; absent from every other record, which
//                  stays byte for byte what it was before audit mode). enforced: allowed|
//                  denied, what happened to the packets (what verdict, reason and policies
//                  describe); audited: allowed|denied, the verdict with the policies in audit
//                  enforced too (always the other one); audit_reason: policy|default-deny|
//                  no-policy, as `reason` for the audited verdict; audit_policies: entries as in
//                  `policies` naming what would have decided: the allowing rule of each
//                  direction, the denying rule (a cluster policy's Deny), or for default deny
//                  the policies isolating the denying side, audited ones included (those carry
//                  "audit":true). Named as of the record's generation, except that update/end
//                  records keep what their connection's start said
//   flow_id        node-local id of the connection (joins its start/update/end); omitted if 0
//   start_time     update/end: when the connection started
//   end_time       end: its last packet
//   src_packets, src_bytes, dst_packets, dst_bytes
//                  start/update/end: per direction (src_*: initiator -> responder; dst_*: replies)
//   tcp_flags      TCP start/update/end: {"src":["SYN","ACK",...],"dst":[...]}, the flags seen
//                  from each side so far (OR over the connection)
//   end_reason     end: closed (FIN both ways or RST) | idle-timeout | revoked | forced (agent
//                  shut down or flushed) | evicted (table full)
//   count, first_time, last_time, aggregation, folded_tuples
//                  drop: how many drops, the first and last one, and the key's precision:
//                  exact (one 5-tuple: src ip and port, dst ip and port, proto; with reason,
//                  direction, generation), folded (the tuples of one (src ip, dst ip, proto, dst
//                  port, reason) beyond the per-group bound: src port null, folded_tuples says
//                  how many distinct tuples it holds), overflow (the aggregator's tables were
//                  full: ips and ports null, tuples unknown). "pair" is read in logs of earlier
//                  writers (ports folded).
//   lost_events, since, until, lost_at
//                  lost: how many events were lost, in which period, and where: ring-buffer
//                  (the BPF ring was full), pipeline (the agent's queue), sink-queue (the file
//                  writer's queue), write-error (the disk refused them), observe-queue (one
//                  live stream's queue: in that stream only, never in the file)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"

namespace netfence::flowlog {

inline constexpr std::string_view kSchema = "netfence.flow/v1";

enum class EventKind : uint8_t { kStart, kUpdate, kEnd, kDrop, kLost };
enum class Verdict : uint8_t { kAllowed, kDenied, kAudit };
enum class Direction : uint8_t { kIngress, kEgress };
enum class Aggregation : uint8_t { kExact, kFolded, kOverflow, kPair /* read only: earlier writers */ };

std::string_view EventName(EventKind e);
std::string_view VerdictName(Verdict v);
std::string_view DirectionName(Direction d);
std::string_view AggregationName(Aggregation a);
std::optional<EventKind> ParseEventName(std::string_view s);
std::optional<Verdict> ParseVerdictName(std::string_view s);
std::optional<Direction> ParseDirectionName(std::string_view s);

// Reasons the writer uses (reason is a string: a reader keeps reasons it does not know).
namespace reason {
inline constexpr const char* kPolicy = "policy";
inline constexpr const char* kNoPolicy = "no-policy";
inline constexpr const char* kDefaultDeny = "default-deny";
inline constexpr const char* kRevoked = "revoked";
inline constexpr const char* kMalformed = "malformed";
inline constexpr const char* kSpoofed = "spoofed";
inline constexpr const char* kUnregistered = "unregistered";       // an address of the node's pod CIDRs no pod holds
inline constexpr const char* kNotIp = "not-ip";                    // from a pod: neither IP nor an IPv4 ARP message
inline constexpr const char* kConntrackQuota = "conntrack-quota";  // a new flow past the pod's connection quota
inline constexpr const char* kFragment = "fragment";
inline constexpr const char* kNoTables = "no-tables";
inline constexpr const char* kInternal = "internal";
}  // namespace reason

// "TCP", "UDP", "SCTP", "ICMP", "ICMPv6", else the number ("47").
std::string ProtoName(uint8_t proto);
std::optional<uint8_t> ParseProtoName(std::string_view s);  // names (any case) or numbers

// TCP flag bits (as in the TCP header byte): FIN 0x01 ... CWR 0x80.
std::vector<std::string_view> TcpFlagNames(uint8_t flags);
std::optional<uint8_t> ParseTcpFlagName(std::string_view name);

struct Endpoint {
  std::optional<IpAddr> ip;      // null only in overflow drop aggregates (and unparsed packets)
  std::optional<uint16_t> port;  // null for protocols without ports, and folded/overflow aggregates
  std::string ns;                // "" when not a pod
  std::string pod;
  std::string node;
  std::vector<std::pair<std::string, std::string>> labels;  // written as an object when non-empty
  std::optional<uint32_t> identity;

  bool operator==(const Endpoint&) const = default;
};

struct PolicyRef {
  PolicyRef() = default;
  PolicyRef(std::string ns_, std::string name_, Direction direction_, std::optional<uint32_t> rule_)
      : ns(std::move(ns_)), name(std::move(name_)), direction(direction_), rule(rule_) {}

  std::string ns;
  std::string name;
  Direction direction = Direction::kIngress;
  std::optional<uint32_t> rule;  // null: the policy isolated the pod, no rule of it matched
  // Cluster policies (the defaults are a NetworkPolicy's, whose action is Allow when it has a rule).
  std::string kind = "NetworkPolicy";
  std::string tier = "NetworkPolicy";
  std::string action;                    // a cluster policy rule's: Accept, Deny ("" otherwise)
  std::optional<std::string> rule_name;  // a cluster policy rule's name
  bool audit = false;                    // the policy is in audit (observe-only)
  bool cluster() const { return kind != "NetworkPolicy"; }

  bool operator==(const PolicyRef&) const = default;
};

struct FlowRecord {
  // Required (ARCHITECTURE.md).
  int64_t time_ns = 0;
  EventKind event = EventKind::kStart;
  Verdict verdict = Verdict::kAllowed;
  Direction direction = Direction::kIngress;
  std::string reason = reason::kPolicy;
  uint8_t proto = 0;
  Endpoint src, dst;
  std::string community_id;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t generation = 0;
  std::vector<PolicyRef> policies;

  // Audit mode (verdict kAudit): written when set; the pipeline sets them on audit records only.
  std::optional<Verdict> enforced;        // kAllowed or kDenied: what happened
  std::optional<Verdict> audited;         // kAllowed or kDenied: with the policies in audit enforced
  std::string audit_reason;               // "" = omitted
  std::vector<PolicyRef> audit_policies;  // written on audit records (and whenever non-empty)
  bool is_audit() const { return verdict == Verdict::kAudit; }

  // Extras, every kind.
  std::string node;               // "" = omitted
  std::string observation_point;  // "" = omitted
  uint32_t ifindex = 0;           // 0 = omitted

  // start/update/end.
  uint64_t flow_id = 0;       // 0 = omitted
  int64_t start_time_ns = 0;  // update/end; 0 = omitted
  int64_t end_time_ns = 0;    // end; 0 = omitted
  uint64_t src_packets = 0, src_bytes = 0, dst_packets = 0, dst_bytes = 0;
  uint8_t tcp_flags_src = 0, tcp_flags_dst = 0;  // written for TCP
  std::string end_reason;                        // end; "" = omitted

  // drop.
  uint64_t count = 0;
  int64_t first_time_ns = 0, last_time_ns = 0;
  Aggregation aggregation = Aggregation::kExact;
  uint64_t folded_tuples = 0;  // kFolded: distinct 5-tuples folded; 0 = omitted

  // lost.
  uint64_t lost_events = 0;
  int64_t since_ns = 0, until_ns = 0;
  std::string lost_at;

  bool operator==(const FlowRecord&) const = default;
};

// One JSON line, no trailing newline. AppendJson reuses the caller's buffer (no other
// allocation than the string's growth).
void AppendJson(const FlowRecord& r, std::string* out);
std::string ToJson(const FlowRecord& r);

// Parses one line written by ToJson (or by a later writer of the same schema: unknown fields
// are ignored, unknown reasons kept). An error names the field.
StatusOr<FlowRecord> ParseRecord(std::string_view line);

// A `lost` record.
FlowRecord LostRecord(uint64_t lost_events, int64_t since_ns, int64_t until_ns, std::string lost_at, int64_t time_ns,
                      std::string node);

}  // namespace netfence::flowlog
