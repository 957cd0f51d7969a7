// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/worker.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <time.h>

#include <cstring>

namespace netfence::dpdk {
namespace {
constexpr uint32_t kScratchPerPacket = 16384;  // longer chained frames are parsed over their first 16 KiB
constexpr uint32_t kIdleRounds = 1024;         // empty rounds before the first sleep
}  // namespace

Worker::Worker(WorkerOptions options, Decider decider, MacTable* macs)
    : options_(options), decider_(std::move(decider)), decider_stats_(nullptr), macs_(macs), tx_(kMaxPorts),
      scratch_(static_cast<size_t>(kMaxBurst) * kScratchPerPacket) {
  decider_stats_ = decider_.stats();
  if (options_.burst == 0 || options_.burst > kMaxBurst) options_.burst = 32;
}

void Worker::Process(const Snapshot& s, uint16_t port, rte_mbuf** pkts, uint32_t n, uint8_t* actions,
                     nf_decision* records) {
  BurstPacket packets[kMaxBurst];
  uint8_t local_actions[kMaxBurst];
  if (actions == nullptr) actions = local_actions;
  if (n > kMaxBurst) n = kMaxBurst;
  // The mbufs' headers, then their frames' first line, are loaded for the whole burst at once
  // (each a cache miss when the frame was written by a NIC or another core).
  for (uint32_t i = 0; i < n; ++i) rte_prefetch0(pkts[i]);
  for (uint32_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], const void*));
  for (uint32_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const uint32_t len = rte_pktmbuf_pkt_len(m);
    if (rte_pktmbuf_is_contiguous(m)) {
      packets[i] = {rte_pktmbuf_mtod(m, const uint8_t*), len};
    } else {
      uint8_t* buf = scratch_.data() + static_cast<size_t>(i) * kScratchPerPacket;
      const uint32_t take = len < kScratchPerPacket ? len : kScratchPerPacket;
      const void* p = rte_pktmbuf_read(m, 0, take, buf);
      packets[i] = {static_cast<const uint8_t*>(p), p != nullptr ? take : 0};
    }
  }
  decider_.DecideBurst(s, port, packets, n, actions, records);
  SwitchMemo memo;
  for (uint32_t i = 0; i < n; ++i) {
    if (actions[i] == kPass && options_.forward) {
      Forward(s, port, pkts[i], memo);
    } else {
      rte_pktmbuf_free(pkts[i]);
    }
  }
}

void Worker::Forward(const Snapshot& s, uint16_t in, rte_mbuf* m, SwitchMemo& memo) {
  if (rte_pktmbuf_data_len(m) < 14) {
    rte_pktmbuf_free(m);
    return;
  }
  const auto* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  // A burst's frames mostly share their addresses: the table is asked once per new pair.
  uint64_t src = 0, dst = 0;
  std::memcpy(&src, eth + 6, 6);
  std::memcpy(&dst, eth, 6);
  if (!memo.learned || src != memo.src) {
    macs_->Learn(eth + 6, in, s.ports[in].role == PortRole::kEndpoint);
    memo.learned = true;
    memo.src = src;
    memo.looked_up = false;  // what it learned may be a later frame's destination
  }
  if (!memo.looked_up || dst != memo.dst) {
    memo.out = (eth[0] & 1) ? -1 : macs_->Lookup(eth);
    memo.looked_up = true;
    memo.dst = dst;
  }
  const int out = memo.out;
  if (out == in) {  // the destination is behind the port it came from
    rte_pktmbuf_free(m);
    return;
  }
  if (out >= 0 && out < kMaxPorts && s.ports[out].active) {
    Enqueue(s, static_cast<uint16_t>(out), m);
    return;
  }
  // Flood: one reference per port it goes out of.
  uint16_t targets = 0;
  for (uint16_t k = 0; k < s.n_rx_ports; ++k) targets += s.rx_ports[k] != in;
  if (targets == 0) {
    rte_pktmbuf_free(m);
    return;
  }
  if (targets > 1) rte_mbuf_refcnt_update(m, static_cast<int16_t>(targets - 1));
  for (uint16_t k = 0; k < s.n_rx_ports; ++k) {
    if (s.rx_ports[k] != in) Enqueue(s, s.rx_ports[k], m);
  }
}

void Worker::Enqueue(const Snapshot& s, uint16_t port, rte_mbuf* m) {
  TxBuffer& b = tx_[port];
  if (b.n == std::size(b.pkts)) {
    const uint16_t sent = rte_eth_tx_burst(port, options_.queue, b.pkts, static_cast<uint16_t>(b.n));
    if (sent < b.n) {
      rte_pktmbuf_free_bulk(b.pkts + sent, b.n - sent);
      tx_dropped_.fetch_add(b.n - sent, std::memory_order_relaxed);
    }
    b.n = 0;
  }
  (void)s;
  b.pkts[b.n++] = m;
}

void Worker::Flush(const Snapshot& s) {
  for (uint16_t k = 0; k < s.n_rx_ports; ++k) {
    const uint16_t port = s.rx_ports[k];
    TxBuffer& b = tx_[port];
    if (b.n == 0) continue;
    const uint16_t sent = rte_eth_tx_burst(port, options_.queue, b.pkts, static_cast<uint16_t>(b.n));
    if (sent < b.n) {
      rte_pktmbuf_free_bulk(b.pkts + sent, b.n - sent);
      tx_dropped_.fetch_add(b.n - sent, std::memory_order_relaxed);
    }
    b.n = 0;
  }
  // A port unplugged since it was buffered for: what waits for it is dropped.
  for (uint16_t p = 0; p < kMaxPorts; ++p) {
    TxBuffer& b = tx_[p];
    if (b.n != 0 && !s.ports[p].active) {
      rte_pktmbuf_free_bulk(b.pkts, b.n);
      tx_dropped_.fetch_add(b.n, std::memory_order_relaxed);
      b.n = 0;
    }
  }
}

void Worker::Run(const std::atomic<const Snapshot*>* live, Rcu* rcu, const std::atomic<bool>& stop) {
  rte_mbuf* pkts[kMaxBurst];
  uint32_t idle = 0;
  uint32_t sleep_us = 1;
  rcu->Online(options_.reader);
  while (!stop.load(std::memory_order_relaxed)) {
    const Snapshot& s = *live->load(std::memory_order_acquire);
    uint32_t received = 0;
    for (uint16_t k = 0; k < s.n_rx_ports; ++k) {
      const uint16_t port = s.rx_ports[k];
      const uint16_t n = rte_eth_rx_burst(port, options_.queue, pkts, static_cast<uint16_t>(options_.burst));
      if (n == 0) continue;
      received += n;
      Process(s, port, pkts, n);
    }
    Flush(s);
    rcu->Quiescent(options_.reader);
    if (received != 0 || options_.idle_sleep_max_us == 0) {
      idle = 0;
      sleep_us = 1;
      continue;
    }
    if (++idle < kIdleRounds) continue;
    // Idle: sleep, offline so that no writer waits for us, backing off up to the maximum.
    rcu->Offline(options_.reader);
    timespec ts{0, static_cast<long>(sleep_us) * 1000};
    nanosleep(&ts, nullptr);
    rcu->Online(options_.reader);
    sleep_us = sleep_us * 2 > options_.idle_sleep_max_us ? options_.idle_sleep_max_us : sleep_us * 2;
  }
  rcu->Offline(options_.reader);
}

}  // namespace netfence::dpdk
