// SPDX-License-Identifier: Apache-2.0
// Quiescent-state based RCU (rte_rcu_qsbr) for the pipeline. Readers are the worker lcores
// (and a test thread driving bursts by hand): each reports a quiescent state between bursts,
// when it holds no pointer into shared state, and goes offline before it sleeps. A writer that
// replaced something (a snapshot of tables and ports, a conntrack slot) frees the old one
// only after a grace period: once every online reader has passed a quiescent state.
#pragma once

#include <cstdint>
#include <memory>

#include "common/base/status.h"

struct rte_rcu_qsbr;

namespace netfence::dpdk {

class Rcu {
 public:
  // Readers are numbered 0 .. max_readers - 1.
  static StatusOr<std::unique_ptr<Rcu>> Create(uint32_t max_readers);
  ~Rcu();
  Rcu(const Rcu&) = delete;
  Rcu& operator=(const Rcu&) = delete;

  // Reader side (the reader's own thread).
  void Register(uint32_t reader);
  void Online(uint32_t reader);
  void Offline(uint32_t reader);
  void Quiescent(uint32_t reader);

  // Writer side: a token for "everything replaced before now", and whether its grace period
  // is over (non-blocking).
  uint64_t Start();
  bool Done(uint64_t token);
  // Waits until the grace period of `token` is over (sleeping between checks). Never from a
  // reader that is online.
  void Wait(uint64_t token);
  void Synchronize() { Wait(Start()); }

  rte_rcu_qsbr* raw() const { return v_; }

 private:
  explicit Rcu(rte_rcu_qsbr* v) : v_(v) {}
  rte_rcu_qsbr* v_;
};

}  // namespace netfence::dpdk
