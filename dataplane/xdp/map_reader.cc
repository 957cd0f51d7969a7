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

Status ReadByKeys(int fd, std::vector<CtEntry>* out) {
  out->clear();
  nf_ct_key key{}, prev{};
  const nf_ct_key* from = nullptr;
  while (bpf_map_get_next_key(fd, from, &key) == 0) {
    CtEntry c{key, {}};
    if (bpf_map_lookup_elem(fd, &key, &c.entry) == 0) out->push_back(c);
    prev = key;
    from = &prev;
  }
  if (errno != ENOENT) return Status::Error(std::string("conntrack: get_next_key: ") + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

Status ReadConntrack(int fd, std::vector<CtEntry>* out) {
  out->clear();
  constexpr uint32_t kBatch = 4096;
  std::vector<nf_ct_key> keys(kBatch);
  std::vector<nf_ct_entry> values(kBatch);
  // The batch position is opaque (a bucket index for hash maps); a key-sized buffer holds it.
  nf_ct_key in{}, next{};
  bool first = true;
  for (;;) {
    uint32_t count = kBatch;
    const int err = bpf_map_lookup_batch(fd, first ? nullptr : &in, &next, keys.data(), values.data(), &count, nullptr);
    const int e = err != 0 ? errno : 0;
    for (uint32_t i = 0; i < count; ++i) out->push_back({keys[i], values[i]});
    if (err != 0) {
      if (e == ENOENT) return Status::Ok();  // the end
      if (first && (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP)) return ReadByKeys(fd, out);
      return Status::Error(std::string("conntrack: lookup_batch: ") + std::strerror(e));
    }
    in = next;
    first = false;
  }
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

}  // namespace netfence::xdp
