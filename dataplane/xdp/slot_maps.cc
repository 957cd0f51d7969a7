#include "dataplane/xdp/slot_maps.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace netfence::xdp {

namespace {

Status MapError(const char* map, const char* op, int err) {
  return Status::Error(std::string("XDP map ") + map + ": " + op + ": " + std::strerror(err));
}

// A map like the template of maps.h, holding `entries` (at least 1).
StatusOr<UniqueFd> Create(const char* name, bpf_map_type type, uint32_t key_size, uint32_t value_size,
                          size_t entries, uint32_t flags) {
  if (entries + 1 > 0xFFFFFFF0u) return Status::Error(std::string("XDP map ") + name + ": too many entries");
  bpf_map_create_opts opts{};
  opts.sz = sizeof(opts);
  opts.map_flags = flags;
  // One spare entry: an LPM trie may need it to replace a value in place.
  const int fd = bpf_map_create(type, name, key_size, value_size, static_cast<uint32_t>(entries + 1), &opts);
  if (fd < 0) return MapError(name, "create", errno);
  return UniqueFd(fd);
}

template <typename K, typename V>
Status Fill(const UniqueFd& fd, const char* name, const std::vector<MapEntry<K, V>>& entries) {
  for (const auto& e : entries) {
    if (bpf_map_update_elem(fd.get(), &e.key, &e.value, BPF_NOEXIST) != 0) return MapError(name, "update", errno);
  }
  return Status::Ok();
}

// An array map's values 0..n-1 in batches.
template <typename V>
Status FillArray(const UniqueFd& fd, const char* name, const V* values, size_t n) {
  constexpr uint32_t kChunk = 8192;
  std::vector<uint32_t> keys;
  for (size_t at = 0; at < n; at += kChunk) {
    uint32_t count = static_cast<uint32_t>(std::min<size_t>(kChunk, n - at));
    keys.resize(count);
    for (uint32_t i = 0; i < count; ++i) keys[i] = static_cast<uint32_t>(at + i);
    if (bpf_map_update_batch(fd.get(), keys.data(), values + at, &count, nullptr) != 0) {
      return MapError(name, "update", errno);
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<SlotMaps> CreateSlotMaps(const MapEntries& e, const v1::RuleTables& tables) {
  SlotMaps s;
  struct Spec {
    UniqueFd* fd;
    const char* name;
    bpf_map_type type;
    uint32_t key, value;
    size_t entries;
    uint32_t flags;
  };
  const Spec specs[] = {
      {&s.ipcache, "nf_ipcache", BPF_MAP_TYPE_HASH, sizeof(nf_ip_key), sizeof(nf_ip_info), e.ipcache.size(), 0},
      {&s.tables, "nf_tables", BPF_MAP_TYPE_ARRAY, 4, sizeof(nf_table), e.tables.size(), BPF_F_INNER_MAP},
      {&s.id_rows, "nf_id_rows", BPF_MAP_TYPE_HASH, sizeof(nf_id_key), 4, e.id_rows.size(), 0},
      {&s.cidr_rows, "nf_cidr_rows", BPF_MAP_TYPE_LPM_TRIE, sizeof(nf_cidr_key), 4, e.cidr_rows.size(),
       BPF_F_NO_PREALLOC},
      {&s.port_rows, "nf_port_rows", BPF_MAP_TYPE_LPM_TRIE, sizeof(nf_port_key), 4, e.port_rows.size(),
       BPF_F_NO_PREALLOC},
      {&s.words, "nf_words", BPF_MAP_TYPE_ARRAY, 4, 8, e.words, BPF_F_INNER_MAP},
  };
  for (const Spec& spec : specs) {
    auto fd = Create(spec.name, spec.type, spec.key, spec.value, spec.entries, spec.flags);
    if (!fd.ok()) return fd.status();
    *spec.fd = std::move(fd).value();
  }
  // Rows first, then what refers to them (no one reads these maps yet; order for clarity).
  if (Status st = FillArray(s.words, "words", tables.words().data(), e.words); !st.ok()) return st;
  if (Status st = Fill(s.id_rows, "id_rows", e.id_rows); !st.ok()) return st;
  if (Status st = Fill(s.cidr_rows, "cidr_rows", e.cidr_rows); !st.ok()) return st;
  if (Status st = Fill(s.port_rows, "port_rows", e.port_rows); !st.ok()) return st;
  if (Status st = FillArray(s.tables, "tables", e.tables.data(), e.tables.size()); !st.ok()) return st;
  if (Status st = Fill(s.ipcache, "ipcache", e.ipcache); !st.ok()) return st;
  return s;
}

}  // namespace netfence::xdp
