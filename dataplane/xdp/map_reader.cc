// SPDX-License-Identifier: Apache-2.0
#include "dataplane/xdp/map_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace netfence::xdp {

using fastpath::CtEntry;

namespace {

// Appends every (key, entry) of the map to *out through `to_canonical`, key by key.
template <typename Key, typename ToCanonical>
Status ReadByKeys(int fd, ToCanonical to_canonical, std::vector<CtEntry>* out) {
  Key key{}, prev{};
  const Key* from = nullptr;
  while (bpf_map_get_next_key(fd, from, &key) == 0) {
    CtEntry c{to_canonical(key), {}};
    if (bpf_map_lookup_elem(fd, &key, &c.entry) == 0) out->push_back(c);
    prev = key;
    from = &prev;
  }
  if (errno != ENOENT) return Status::Error(std::string("conntrack: get_next_key: ") + std::strerror(errno));
  return Status::Ok();
}

// Appends every (key, entry) of the map to *out through `to_canonical`, in batches where the
// kernel has batch operations.
template <typename Key, typename ToCanonical>
Status ReadMap(int fd, ToCanonical to_canonical, std::vector<CtEntry>* out) {
  constexpr uint32_t kBatch = 4096;
  std::vector<Key> keys(kBatch);
  std::vector<nf_ct_entry> values(kBatch);
  // The batch position is opaque (a bucket index for hash maps); a key-sized buffer holds it.
  Key in{}, next{};
  bool first = true;
  const size_t start = out->size();
  for (;;) {
    uint32_t count = kBatch;
    const int err = bpf_map_lookup_batch(fd, first ? nullptr : &in, &next, keys.data(), values.data(), &count, nullptr);
    const int e = err != 0 ? errno : 0;
    for (uint32_t i = 0; i < count; ++i) out->push_back({to_canonical(keys[i]), values[i]});
    if (err != 0) {
      if (e == ENOENT) return Status::Ok();  // the end
      if (first && (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP)) {
        out->resize(start);
        return ReadByKeys<Key>(fd, to_canonical, out);
      }
      return Status::Error(std::string("conntrack: lookup_batch: ") + std::strerror(e));
    }
    in = next;
    first = false;
  }
}

constexpr uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

bool IsV4(const nf_ct_key& key) {
  return std::memcmp(key.addr_a, kV4Mapped, 12) == 0 && std::memcmp(key.addr_b, kV4Mapped, 12) == 0;
}

nf_ct4_key CompactKey(const nf_ct_key& key) {
  nf_ct4_key k{};
  std::memcpy(&k.addr_a, key.addr_a + 12, 4);
  std::memcpy(&k.addr_b, key.addr_b + 12, 4);
  k.port_a = key.port_a;
  k.port_b = key.port_b;
  k.proto = key.proto;
  return k;
}

nf_ct_key CanonicalKey(const nf_ct4_key& key) {
  nf_ct_key k{};
  std::memcpy(k.addr_a, kV4Mapped, 12);
  std::memcpy(k.addr_b, kV4Mapped, 12);
  std::memcpy(k.addr_a + 12, &key.addr_a, 4);
  std::memcpy(k.addr_b + 12, &key.addr_b, 4);
  k.port_a = key.port_a;
  k.port_b = key.port_b;
  k.proto = key.proto;
  return k;
}

Status ReadConntrack(int fd, int fd4, std::vector<CtEntry>* out) {
  out->clear();
  if (Status s = ReadMap<nf_ct_key>(
          fd, [](const nf_ct_key& k) { return k; }, out);
      !s.ok())
    return s;
  return ReadMap<nf_ct4_key>(fd4, CanonicalKey, out);
}

std::vector<uint64_t> SumPerCpu(int fd, uint32_t entries) {
  static const int ncpus = std::max(libbpf_num_possible_cpus(), 1);
  std::vector<uint64_t> sums(entries), values(static_cast<size_t>(ncpus));
  for (uint32_t i = 0; i < entries; ++i) {
    if (bpf_map_lookup_elem(fd, &i, values.data()) != 0) continue;
    for (uint64_t v : values) sums[i] += v;
  }
  return sums;
}

Status ReadRuleHits(int fd, std::vector<fastpath::RuleHit>* out) {
  out->clear();
  static const int ncpus = std::max(libbpf_num_possible_cpus(), 1);
  std::vector<nf_rule_hits> values(static_cast<size_t>(ncpus));
  uint64_t key = 0, next = 0;
  const uint64_t* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(fd, &key, values.data()) != 0) continue;  // deleted meanwhile
    fastpath::RuleHit h;
    h.key = key;
    for (const nf_rule_hits& v : values) {
      h.allowed += v.allowed;
      h.denied += v.denied;
      h.last_ns = std::max<uint64_t>(h.last_ns, v.last_ns);
    }
    out->push_back(h);
  }
  if (errno != ENOENT && errno != 0)
    return Status::Error(std::string("XDP map rule_hits: read: ") + std::strerror(errno));
  return Status::Ok();
}

}  // namespace netfence::xdp
