// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/rcu.h"

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <chrono>
#include <string>
#include <thread>

namespace netfence::dpdk {

StatusOr<std::unique_ptr<Rcu>> Rcu::Create(uint32_t max_readers) {
  const size_t size = rte_rcu_qsbr_get_memsize(max_readers);
  auto* v = static_cast<rte_rcu_qsbr*>(rte_zmalloc("nf_rcu", size, RTE_CACHE_LINE_SIZE));
  if (v == nullptr) return Status::Error("RCU for " + std::to_string(max_readers) + " readers: out of DPDK memory");
  if (rte_rcu_qsbr_init(v, max_readers) != 0) {
    rte_free(v);
    return Status::Error(std::string("rte_rcu_qsbr_init: ") + rte_strerror(rte_errno));
  }
  return std::unique_ptr<Rcu>(new Rcu(v));
}

Rcu::~Rcu() { rte_free(v_); }

void Rcu::Register(uint32_t reader) { rte_rcu_qsbr_thread_register(v_, reader); }
void Rcu::Online(uint32_t reader) { rte_rcu_qsbr_thread_online(v_, reader); }
void Rcu::Offline(uint32_t reader) { rte_rcu_qsbr_thread_offline(v_, reader); }
void Rcu::Quiescent(uint32_t reader) { rte_rcu_qsbr_quiescent(v_, reader); }

uint64_t Rcu::Start() { return rte_rcu_qsbr_start(v_); }

bool Rcu::Done(uint64_t token) { return rte_rcu_qsbr_check(v_, token, false) == 1; }

void Rcu::Wait(uint64_t token) {
  // Grace periods take microseconds while workers run; a worker descheduled by the kernel
  // delays them, so the wait backs off to a sleep rather than spinning.
  for (int i = 0; !Done(token); ++i) {
    if (i < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
}

}  // namespace netfence::dpdk
