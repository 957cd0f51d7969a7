// SPDX-License-Identifier: Apache-2.0
// Reading the XDP program's maps from user space without touching the packet path (the maps
// are read while the program runs; an entry changing meanwhile is read either way): the whole
// conntrack table (batched lookups, falling back to key-by-key iteration where the kernel has
// no batch operations) and per-CPU counters summed over CPUs.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "common/base/status.h"
#include "dataplane/fastpath/fast_path.h"

namespace netfence::xdp {

// Every entry of the conntrack maps into *out (cleared first): `fd` (IPv6, canonical keys)
// and `fd4` (IPv4, compact keys, reported under their canonical keys).
Status ReadConntrack(int fd, int fd4, std::vector<fastpath::CtEntry>* out);

// Whether the canonical key is an IPv4 connection's (both addresses v4-mapped), and its compact
// key in conntrack4 / the canonical key of a compact one.
bool IsV4(const nf_ct_key& key);
nf_ct4_key CompactKey(const nf_ct_key& key);
nf_ct_key CanonicalKey(const nf_ct4_key& key);

// Entries 0..N-1 of a BPF_MAP_TYPE_PERCPU_ARRAY of __u64, each summed over CPUs (0 where a
// lookup fails).
std::vector<uint64_t> SumPerCpu(int fd, uint32_t entries);

// Every entry of the rule_hits map (u64 key -> per-CPU struct nf_rule_hits), summed over CPUs.
Status ReadRuleHits(int fd, std::vector<fastpath::RuleHit>* out);

template <size_t N>
std::array<uint64_t, N> SumPerCpu(int fd) {
  std::array<uint64_t, N> out{};
  const std::vector<uint64_t> sums = SumPerCpu(fd, N);
  for (size_t i = 0; i < N; ++i) out[i] = sums[i];
  return out;
}

}  // namespace netfence::xdp
