// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/event_ring.h"

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

namespace netfence::dpdk {

static_assert(sizeof(nf_event) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

StatusOr<std::unique_ptr<EventRing>> EventRing::Create(const std::string& name, uint32_t events) {
  const uint32_t size = events < 16 ? 16 : events;  // exactly that many (RING_F_EXACT_SZ)
  rte_ring* r =
      rte_ring_create_elem(name.c_str(), sizeof(nf_event), size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
  if (r == nullptr) {
    return Status::Error("event ring " + name + " of " + std::to_string(size) + " events: " + rte_strerror(rte_errno));
  }
  return std::unique_ptr<EventRing>(new EventRing(r, rte_ring_get_capacity(r)));
}

EventRing::~EventRing() { rte_ring_free(ring_); }

bool EventRing::Push(const nf_event& e) {
  return rte_ring_sp_enqueue_elem(ring_, const_cast<nf_event*>(&e), sizeof(nf_event)) == 0;
}

uint32_t EventRing::Pop(nf_event* out, uint32_t max) {
  return rte_ring_sc_dequeue_burst_elem(ring_, out, sizeof(nf_event), max, nullptr);
}

uint32_t EventRing::waiting() const { return rte_ring_count(ring_); }

}  // namespace netfence::dpdk
