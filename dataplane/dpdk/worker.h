// SPDX-License-Identifier: Apache-2.0
// A worker: one lcore's burst loop (DPDK l3fwd style). It polls its queue of every active
// port (32 packets a burst), decides each burst under one snapshot (decider.h), and switches
// what passes: the learning L2 switch of the pods the node owns (mac_table.h), flooding
// broadcast, multicast and unknown unicast to every other port, forwarding known unicast,
// dropping a frame whose destination is behind the port it came from. Transmission is
// buffered per port and flushed once per round. Between rounds the worker reports a quiescent
// state; after a while without packets it may sleep (offline for RCU), which costs latency
// and saves a core.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/dpdk/decider.h"
#include "dataplane/dpdk/mac_table.h"

struct rte_mbuf;

namespace netfence::dpdk {

struct WorkerOptions {
  uint32_t reader = 0;  // its RCU reader number
  uint16_t queue = 0;   // its rx and tx queue on every port
  bool forward = true;  // false: passed packets are freed, not sent (tests)
  uint32_t burst = 32;
  uint32_t idle_sleep_max_us = 0;  // 0: poll without pause
};

class Worker {
 public:
  Worker(WorkerOptions options, Decider decider, MacTable* macs);

  // The lcore loop, until `stop`: the caller has registered options().reader with `rcu`.
  void Run(const std::atomic<const Snapshot*>* live, Rcu* rcu, const std::atomic<bool>& stop);
  // One burst received on `port`, under `s`: decided, then forwarded (or freed). actions and
  // records as Decider::DecideBurst. The caller is online for RCU.
  void Process(const Snapshot& s, uint16_t port, rte_mbuf** pkts, uint32_t n, uint8_t* actions = nullptr,
               nf_decision* records = nullptr);
  // Sends what Process() buffered.
  void Flush(const Snapshot& s);

  WorkerStats& stats() { return *decider_stats_; }
  const WorkerOptions& options() const { return options_; }
  uint64_t tx_dropped() const { return tx_dropped_.load(std::memory_order_relaxed); }

 private:
  // The switch's last answers within one burst (Learn and Lookup of the same addresses again
  // would change nothing).
  struct SwitchMemo {
    bool learned = false, looked_up = false;
    uint64_t src = 0, dst = 0;
    int out = -1;
  };
  void Forward(const Snapshot& s, uint16_t in, rte_mbuf* m, SwitchMemo& memo);
  void Enqueue(const Snapshot& s, uint16_t port, rte_mbuf* m);

  WorkerOptions options_;
  Decider decider_;
  WorkerStats* decider_stats_;
  MacTable* macs_;
  struct TxBuffer {
    rte_mbuf* pkts[2 * kMaxBurst];
    uint32_t n = 0;
  };
  std::vector<TxBuffer> tx_;
  std::vector<uint8_t> scratch_;  // multi-segment packets, copied contiguous for the parser
  std::atomic<uint64_t> tx_dropped_{0};
};

}  // namespace netfence::dpdk
