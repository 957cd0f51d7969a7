// SPDX-License-Identifier: Apache-2.0
// Events (struct nf_event) from one worker to the control thread: an rte_ring of fixed-size
// elements, single producer (the worker) and single consumer (whoever reads events, one at a
// time). A full ring never delays a packet: the event is counted as lost
// (NF_CNT_EVENTS_LOST, exact) and dropped, as the XDP program does with its ring buffer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/base/status.h"
#include "xdp/include/netfence_abi.h"

struct rte_ring;

namespace netfence::dpdk {

class EventRing {
 public:
  // Holds exactly `events` events (at least 16).
  static StatusOr<std::unique_ptr<EventRing>> Create(const std::string& name, uint32_t events);
  ~EventRing();
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;

  // Producer: false when the ring is full (the caller counts the loss).
  bool Push(const nf_event& e);
  // Consumer: up to `max` events into `out`; how many.
  uint32_t Pop(nf_event* out, uint32_t max);
  uint32_t capacity() const { return capacity_; }
  uint32_t waiting() const;

 private:
  EventRing(rte_ring* r, uint32_t capacity) : ring_(r), capacity_(capacity) {}
  rte_ring* ring_;
  uint32_t capacity_;
};

}  // namespace netfence::dpdk
