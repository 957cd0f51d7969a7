// SPDX-License-Identifier: Apache-2.0
// FastPath: everything the node agent needs from a packet path that enforces compiled rule
// tables. The agent holds one (`std::unique_ptr<FastPath>`, chosen by --dataplane) and
// touches the packet path through nothing else. Implementations:
//   dataplane/xdp/   the kernel path: an XDP program on each port, TC egress on pods' veths
//   dataplane/dpdk/  the user-space path: a DPDK pipeline that owns the ports
//
// Tables. Program() checks the tables first (malformed tables are refused and the live
// generation stays); then they become live at once: every packet is decided either entirely
// by the previous tables or entirely by the new ones. Connections admitted under earlier
// tables are re-checked against the new ones at their next packet: a connection the new
// tables deny is cut, an allowed one continues.
//
// Ports. A port is an interface of the node's network namespace: a pod's host-side veth
// (whose packets must come from the pod's addresses) or an uplink towards other nodes (whose
// senders are never local pods). Plugging a port makes the fast path enforce on it; a port
// nobody plugged is not enforced on.
//
// Observation. The datapath's state is shared with the flow log: its events (new flows,
// drops, revocations: struct nf_event), its connection table, its counters. The structs are
// the datapath ABI (xdp/include/netfence_abi.h), the same for every implementation.
// Timestamps are CLOCK_MONOTONIC nanoseconds (connection entries: at the coarse clock's
// resolution).
//
// Threads: one programmer at a time (the agent's thread) for Program, ports and pod CIDRs;
// the Read* calls and the event stream may run on another thread (the flow log's).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"
#include "netfence/v1/tables.pb.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::fastpath {

using Counters = std::array<uint64_t, NF_COUNTERS>;        // enum nf_counter, summed over CPUs/lcores
using DropCounts = std::array<uint64_t, NF_DROP_REASONS>;  // enum nf_drop_reason
using Traffic = std::array<nf_traffic, NF_TRAFFIC_SLOTS>;  // enum nf_traffic_index

// One connection of the datapath's table.
struct CtEntry {
  nf_ct_key key;
  nf_ct_entry entry;
};

// The new connections one rule decided (struct nf_rule_hits summed over CPUs or workers,
// last_ns the latest), by rule key (common/tables/rule_keys.h).
struct RuleHit {
  uint64_t key = 0;
  uint64_t allowed = 0;
  uint64_t denied = 0;
  uint64_t last_ns = 0;  // CLOCK_MONOTONIC
};

// An interface of the node's network namespace.
struct Port {
  int ifindex = 0;
  std::string name;  // for messages
  // A pod's veth: the pod's network namespace (a path) and the name of its end there, for a
  // fast path that configures that end too (DPDK turns its offloads off); empty when unknown.
  std::string pod_netns{};
  std::string pod_interface{};
};

// The datapath's events, in the order it wrote them. Events it could not write (its queue
// was full) are counted in Counters[NF_CNT_EVENTS_LOST].
class EventStream {
 public:
  using Handler = std::function<void(const nf_event&)>;
  virtual ~EventStream() = default;
  // Delivers every event waiting now; returns how many.
  virtual StatusOr<int> Drain() = 0;
  // Waits up to timeout_ms for events and delivers them; returns how many.
  virtual StatusOr<int> Poll(int timeout_ms) = 0;
};

class FastPath {
 public:
  virtual ~FastPath() = default;

  // "xdp", "dpdk": for logs and metrics.
  virtual std::string_view name() const = 0;

  // ---- Tables ------------------------------------------------------------------------
  // Makes `tables` live atomically (see above).
  virtual Status Program(const v1::RuleTables& tables) = 0;
  // RuleTables.generation of the live tables; 0 before the first Program().
  virtual uint64_t live_generation() const = 0;
  // The live programming's epoch: what connection entries record as the programming that
  // admitted them (nf_ct_entry.epoch); 0 before the first Program().
  virtual uint32_t live_epoch() const = 0;

  // ---- Ports -------------------------------------------------------------------------
  // Enforces on a pod's host-side veth whose packets must come from `addresses` (1 to
  // NF_IFACE_MAX_ADDRS), both what the pod sends and what the node sends to it. Plugging a
  // plugged port again replaces its addresses (and takes the port over from an earlier
  // instance of the same fast path: a restarted agent).
  virtual Status PlugEndpoint(const Port& port, const std::vector<IpAddr>& addresses) = 0;
  // Enforces ingress policy of local pods on what arrives from other nodes.
  virtual Status PlugUplink(const Port& port) = 0;
  // Stops enforcing on the port, whichever instance plugged it; forgetting a port that is
  // gone or was never plugged succeeds.
  virtual Status Unplug(const Port& port) = 0;
  // Whether this instance enforces on the port now (CNI CHECK).
  virtual bool Enforces(const Port& port) const = 0;
  // The node's pod CIDRs: packets to or from an address inside `guarded` that no local
  // endpoint holds (a pod whose interface plugin ran but whose netfence-cni ADD has not, or
  // a deleted one) are dropped as NF_DROP_UNREGISTERED, except for the `exempt` addresses
  // (the node's own inside them, such as the bridge's gateway). Replaces the previous set.
  virtual Status SetPodCidrs(const std::vector<IpPrefix>& guarded, const std::vector<IpAddr>& exempt) = 0;

  // ---- Observation -------------------------------------------------------------------
  virtual Counters ReadCounters() const = 0;
  virtual DropCounts ReadDropReasons() const = 0;
  // IP packets and bytes by verdict and direction, each packet once per node.
  virtual Traffic ReadTraffic() const = 0;
  // The event stream (one reader at a time); `handler` runs on the thread that polls.
  virtual StatusOr<std::unique_ptr<EventStream>> OpenEvents(EventStream::Handler handler) const = 0;
  // Every connection entry into *out (cleared first). Entries may change while they are
  // read; each is read either way.
  virtual Status ReadConntrack(std::vector<CtEntry>* out) const = 0;
  virtual uint32_t conntrack_capacity() const = 0;
  // Every rule's hit counters into *out (cleared first): cumulative since the counters were
  // made, which an agent restart does not redo (XDP: pinned; DPDK: netfence-dpdk's own).
  virtual Status ReadRuleHits(std::vector<RuleHit>* out) const = 0;
  // When the counters were made (CLOCK_REALTIME nanoseconds; 0 unknown).
  virtual int64_t rule_hits_since_unix_ns() const = 0;
  // Forgets every connection (tests; an operator's flush).
  virtual Status FlushConntrack() = 0;
};

}  // namespace netfence::fastpath
