// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/verdict_cache.h"

#include <cstring>

#include "dataplane/dpdk/flow_table.h"

namespace netfence::dpdk {
namespace {

bool Same(const classifier::BurstQuery& a, const classifier::BurstQuery& b) {
  return a.key.src == b.key.src && a.key.dst == b.key.dst && a.key.proto == b.key.proto && a.key.dport == b.key.dport &&
         a.from_uplink == b.from_uplink;
}

}  // namespace

VerdictCache::VerdictCache(uint32_t entries) {
  if (entries == 0) return;
  uint32_t n = 1;
  while (n < entries && n < (1u << 24)) n <<= 1;
  slots_.resize(n);
  mask_ = n - 1;
}

size_t VerdictCache::Index(const classifier::BurstQuery& q) const {
  uint8_t words[40] = {};
  std::memcpy(words, q.key.src.bytes.data(), 16);
  std::memcpy(words + 16, q.key.dst.bytes.data(), 16);
  std::memcpy(words + 32, &q.key.dport, 2);
  words[34] = q.key.proto;
  words[35] = q.from_uplink ? 1 : 0;
  return HashKeyWords(words, sizeof(words), 0) & mask_;
}

bool VerdictCache::Find(uint32_t epoch, const classifier::BurstQuery& q, classifier::BurstAnswer* out) const {
  if (slots_.empty() || epoch == 0) return false;
  const Slot& s = slots_[Index(q)];
  if (s.epoch != epoch || !Same(s.q, q)) return false;
  *out = s.a;
  return true;
}

void VerdictCache::Put(uint32_t epoch, const classifier::BurstQuery& q, const classifier::BurstAnswer& a) {
  if (slots_.empty() || epoch == 0) return;
  Slot& s = slots_[Index(q)];
  s.epoch = epoch;
  s.q = q;
  s.a = a;
}

}  // namespace netfence::dpdk
