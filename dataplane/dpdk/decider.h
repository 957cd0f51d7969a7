// SPDX-License-Identifier: Apache-2.0
// The decision about each packet: the XDP program's nf_decide() (xdp/netfence.bpf.c) for the
// DPDK pipeline, step for step, over the same tables (through the user-space classifier), the
// same parser (xdp_parser.h), the same conntrack semantics and the same counters, drop reasons
// and events:
//
//   parse ─ not IP ──────────────────────────────────────────────► PASS
//     │ malformed ─────────────────────────────────────────────────► DROP (reason, event)
//     ▼
//   no tables ─────────────────────────────────────────────────────► DROP (no-tables)
//   later fragment ─ first fragment allowed? ──────────────────────► PASS / DROP
//   spoofed source on a pod's port ────────────────────────────────► DROP
//   neighbour discovery ───────────────────────────────────────────► PASS
//   ICMP error about a connection of the live generation ──────────► PASS (related)
//   conntrack hit, admitted by the live generation ────────────────► PASS (no event)
//   conntrack hit, older generation ─ re-classify the connection ─► PASS / DROP (revoked)
//   new flow ─ classify ─► PASS + conntrack + event / DROP (policy, event)
//
// "Classify" asks the worker's verdict cache first (verdict_cache.h, the XDP program's
// verdict_cache): a question asked before under the same programming is one probe.
//
// One Decider per worker (its counters, its event ring); the conntrack and fragment tables are
// shared. A burst is decided in stages so that its memory accesses overlap: parse every
// packet, look every connection up at once (rte_hash bulk lookup), classify every new flow at
// once (classifier::ClassifyBurst), then decide each packet in order, exactly as if they had
// come one by one. No allocation, no exceptions, no locks but rte_hash's writer lock when a
// connection is created.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "common/classifier/burst.h"
#include "dataplane/dpdk/event_ring.h"
#include "dataplane/dpdk/flow_table.h"
#include "dataplane/dpdk/snapshot.h"
#include "dataplane/dpdk/stats.h"
#include "dataplane/dpdk/verdict_cache.h"
#include "dataplane/dpdk/xdp_parser.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::dpdk {

using Conntrack = FlowTable<nf_ct_key, nf_ct_entry>;
using Fragments = FlowTable<nf_frag_key, nf_frag_entry>;

constexpr uint32_t kMaxBurst = 64;  // rte_hash bulk lookups take at most 64 keys
constexpr uint8_t kPass = 2;        // XDP_PASS: the actions are the XDP program's
constexpr uint8_t kDrop = 1;        // XDP_DROP

// Connections each port's pod holds in the connection table (dataplane/fastpath/
// pod_connections.h): the deciders add one per entry made for a pod's packet, the control
// thread recounts from the table (Datapath::Housekeeping).
struct PodConnections {
  std::array<std::atomic<uint64_t>, kMaxPorts> held{};
};

struct DeciderOptions {
  bool conntrack = true;       // false: every packet classified on its own (the XDP program's nf_cfg_conntrack)
  bool events = true;          // false: no events (nf_cfg_events)
  bool shared_entries = true;  // conntrack counters updated with atomics (several workers)
  uint32_t ct_pod_quota = 0;   // connections a pod's port may hold (nf_cfg_ct_pod_quota); 0: none
  PodConnections* pod_connections = nullptr;  // with a quota: the counts, shared by the deciders
  uint32_t verdict_cache = 4096;              // questions the worker remembers (verdict_cache.h); 0: none
};

// One packet of a burst: its bytes (contiguous) and what every stage makes of it.
struct BurstPacket {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
};

class Decider {
 public:
  Decider(Conntrack* conntrack, Fragments* fragments, EventRing* events, WorkerStats* stats, DeciderOptions options);

  // Decides packets[0..n) (n <= kMaxBurst) received on `port` under snapshot `s`: actions[i]
  // is kPass or kDrop. With `records`, records[i] is what the XDP program writes to its
  // last_decision map for the same packet (tests compare the two).
  void DecideBurst(const Snapshot& s, uint16_t port, const BurstPacket* packets, uint32_t n, uint8_t* actions,
                   nf_decision* records = nullptr);

  const DeciderOptions& options() const { return options_; }
  WorkerStats* stats() const { return stats_; }

 private:
  enum Stage : uint8_t {
    kDone,
    kNotIp,
    kNotIpFromPod,
    kMalformed,
    kNoTables,
    kFragment,
    kSpoofed,
    kNdp,
    kConntrack,
    kClassify
  };
  // struct nf_ctx of the XDP program, plus where the staged burst left the packet.
  struct Ctx {
    uint32_t ifindex = 0;
    uint16_t port = 0;  // the port it came in on
    uint32_t bytes = 0;
    uint32_t from_pod = 0;
    uint32_t parsed = 0;
    uint64_t generation = 0;
    uint32_t epoch = 0;  // the live tables' epoch (first fragments record it)
    nf_dp_flow f{};
    nf_verdict v{};
    int parse_result = 0;
    Stage stage = kDone;
    bool from_uplink = false;
    nf_ct_key key{};  // the packet's connection
    int sender_b = 0;
    int32_t pos = -1;  // its conntrack position (bulk lookup), -1 for none
    int query = -1;    // the classification asked for it in advance, if any
  };

  void Prepare(const Snapshot& s, const PortPolicy& port, const BurstPacket& p, Ctx& c);
  // The query a packet needs classified now (new flow or re-check); false when none.
  bool NeedsQuery(const Ctx& c, const Tables& t, classifier::BurstQuery* q) const;
  // classifier::ClassifyBurst behind the verdict cache: the misses asked at once, then cached.
  void Answer(const Tables& t, const classifier::BurstQuery* queries, uint32_t n, classifier::BurstAnswer* answers);
  uint8_t Finish(const Snapshot& s, Ctx& c, nf_decision* record);
  uint8_t Established(const Snapshot& s, Ctx& c, int32_t pos, nf_ct_entry* e, nf_decision* record);
  // nf_classify(): 0 allowed, else 1 + the drop reason; fills c.v.
  int Classify(const Snapshot& s, Ctx& c, const classifier::BurstQuery& q);
  void CountRuleHits(const Tables& t, const nf_verdict& v);
  uint8_t Pass(Ctx& c, uint32_t path, bool counted, nf_decision* record);
  uint8_t Drop(Ctx& c, uint32_t reason, nf_decision* record, int32_t cut = -1, const nf_ct_entry* ct = nullptr);
  void Emit(const Ctx& c, uint8_t kind, uint8_t reason, const nf_ct_entry* ct);
  int32_t CreateEntry(const Ctx& c, uint32_t epoch, nf_ct_entry* created);
  bool Account(nf_ct_entry* e, const Ctx& c, int dir, int sender_b);
  static void Record(nf_decision* record, const Ctx& c, uint32_t action, uint32_t reason, uint32_t path);
  static nf_frag_key FragmentKey(const nf_dp_flow& f);

  Conntrack* conntrack_;
  Fragments* fragments_;
  EventRing* events_;
  WorkerStats* stats_;
  DeciderOptions options_;
  uint64_t now_ = 0;      // CLOCK_MONOTONIC_COARSE of the burst
  bool created_ = false;  // an entry was created in this burst (a later miss looks again)
  Ctx ctx_[kMaxBurst];
  classifier::BurstQuery queries_[kMaxBurst];
  classifier::BurstAnswer answers_[kMaxBurst];
  classifier::BurstQuery miss_queries_[kMaxBurst];  // what the cache did not answer
  classifier::BurstAnswer miss_answers_[kMaxBurst];
  VerdictCache cache_;
};

// The canonical key of src:sport -> dst:dport (nf_ct_key_of() of xdp/include/conntrack.h);
// returns 1 when the sender is side b.
int ConntrackKeyOf(const uint8_t* src, uint16_t sport, const uint8_t* dst, uint16_t dport, uint8_t proto, nf_ct_key* k);
// How long an entry lives after its last packet (nf_ct_timeout()).
uint64_t ConntrackTimeout(const nf_ct_entry& e, uint8_t proto);
// CLOCK_MONOTONIC, and its coarse variant, in ns.
uint64_t MonotonicNs();
uint64_t MonotonicCoarseNs();

}  // namespace netfence::dpdk
