// SPDX-License-Identifier: Apache-2.0
// The DPDK pipeline's verdict cache: the XDP program's verdict_cache (nf_classify() in
// xdp/netfence.bpf.c) for one worker. A question (source, destination, protocol, port, from an
// uplink) asked again under the same programming of the tables gets the classifier's answer
// in one probe instead of a walk of the tables: every SYN of a client that reconnects, every
// new connection of a busy client to the same service.
//
// Direct-mapped, per worker (no sharing, no atomics), sized once at construction: no
// allocation on the packet path. An entry answers only under the programming that made it
// (its epoch: a Datapath never gives out an epoch twice, and none is 0), so a new generation
// never sees an old answer; the pod CIDR guard is applied after the answer (Decider::Classify), as in XDP,
// so guard changes need no flush. A colliding question replaces the entry.
#pragma once

#include <cstdint>
#include <vector>

#include "common/classifier/burst.h"

namespace netfence::dpdk {

class VerdictCache {
 public:
  // `entries` rounded up to a power of two; 0: no cache (Find never answers).
  explicit VerdictCache(uint32_t entries);

  bool enabled() const { return !slots_.empty(); }
  // The answer the tables of programming `epoch` gave to `q`, if cached.
  bool Find(uint32_t epoch, const classifier::BurstQuery& q, classifier::BurstAnswer* out) const;
  void Put(uint32_t epoch, const classifier::BurstQuery& q, const classifier::BurstAnswer& a);

 private:
  struct Slot {
    uint32_t epoch = 0;  // 0: empty
    classifier::BurstQuery q;
    classifier::BurstAnswer a;
  };
  size_t Index(const classifier::BurstQuery& q) const;
  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
};

}  // namespace netfence::dpdk
