// SPDX-License-Identifier: Apache-2.0
// What the workers read: the live tables, the pod CIDR guard and what is behind each port,
// as one immutable snapshot. A worker loads the snapshot pointer once per burst, so every
// packet of a burst is decided by one snapshot whole: a new table generation, a port plugged
// or new pod CIDRs are a new snapshot, published with one pointer store; the old one is freed
// after an RCU grace period (rcu.h), when no worker can still be reading it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "common/base/ip.h"
#include "common/classifier/classifier.h"
#include "dataplane/dpdk/rcu.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::dpdk {

constexpr uint16_t kMaxPorts = 32;  // RTE_MAX_ETHPORTS of Debian's DPDK 22.11

// One programming of the tables.
struct Tables {
  std::shared_ptr<const classifier::Classifier> classifier;
  uint64_t generation = 0;  // RuleTables.generation
  uint32_t epoch = 0;       // this programming's number: conntrack entries record it
  // rule_keys[t][b]: the key of table t's rule bit b (common/tables/rule_keys.h), for the
  // rule hit counters.
  std::vector<std::vector<uint64_t>> rule_keys;
};

// What is behind a port (struct nf_iface): a pod's host-side veth, whose packets must come
// from the pod's addresses; an uplink or the node port, whose senders are never local pods; or
// nothing known (judged by addresses alone).
enum class PortRole : uint8_t { kNone = 0, kEndpoint = NF_IFACE_ENDPOINT, kUplink = NF_IFACE_UPLINK };

struct PortPolicy {
  bool active = false;  // polled and forwarded to
  PortRole role = PortRole::kNone;
  uint32_t ifindex = 0;  // the kernel interface behind the port (events name it)
  uint32_t n_addrs = 0;
  std::array<std::array<uint8_t, 16>, NF_IFACE_MAX_ADDRS> addrs{};

  bool Owns(const uint8_t* addr) const;
};

// The pod CIDR guard (the XDP program's pod_cidrs LPM trie): addresses inside a guarded
// prefix that no local endpoint holds are unreachable; exempt addresses are /128 entries that
// are not guarded. The longest matching entry decides.
class PodCidrGuard {
 public:
  void Set(const std::vector<IpPrefix>& guarded, const std::vector<IpAddr>& exempt);
  // nf_unregistered(): inside the guard, not exempt, and not a local endpoint's.
  bool Unregistered(const uint8_t* addr, bool local_endpoint) const;
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    uint8_t prefix[16];
    uint8_t len;
    bool guarded;
  };
  std::vector<Entry> entries_;  // longest first
};

struct Snapshot {
  std::shared_ptr<const Tables> tables;  // null: nothing programmed (IP packets drop: NF_DROP_NO_TABLES)
  PodCidrGuard guard;
  std::array<PortPolicy, kMaxPorts> ports{};  // by DPDK port id
  uint16_t rx_ports[kMaxPorts] = {};          // the active ports, in order
  uint16_t n_rx_ports = 0;

  void IndexPorts();  // rx_ports from ports[].active
};

// Publishes snapshots to the workers. Writers (the control thread; tests) are serialized; each
// change copies the current snapshot, edits the copy, publishes it and frees the previous one
// after a grace period.
class SnapshotPublisher {
 public:
  explicit SnapshotPublisher(Rcu* rcu);
  ~SnapshotPublisher();

  // The live snapshot, for a worker's burst (valid until the worker's next quiescent state).
  const Snapshot* live() const { return live_.load(std::memory_order_acquire); }
  // What workers load once per round.
  const std::atomic<const Snapshot*>* live_pointer() const { return &live_; }
  // A copy of the live snapshot, for reading on the control side.
  Snapshot Copy() const;
  // Applies `edit` to a copy of the live snapshot and makes the result live; returns once no
  // worker can see the previous one.
  template <typename Edit>
  void Update(Edit edit) {
    std::lock_guard lock(mu_);
    auto next = std::make_unique<Snapshot>(*live_.load(std::memory_order_relaxed));
    edit(*next);
    next->IndexPorts();
    Publish(std::move(next));
  }

 private:
  void Publish(std::unique_ptr<Snapshot> next);
  Rcu* rcu_;
  mutable std::mutex mu_;
  std::atomic<const Snapshot*> live_;
  std::unique_ptr<Snapshot> owned_;  // what live_ points at
};

}  // namespace netfence::dpdk
