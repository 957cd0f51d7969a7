// SPDX-License-Identifier: Apache-2.0
#include "dataplane/xdp/slot_maps.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

namespace netfence::xdp {

namespace {

Status MapError(const char* map, const char* op, int err) {
  return Status::Error(std::string("XDP map ") + map + ": " + op + ": " + std::strerror(err));
}

// A map like the template of maps.h, holding `entries` (at least 1).
StatusOr<UniqueFd> Create(const char* name, bpf_map_type type, uint32_t key_size, uint32_t value_size, size_t entries,
                          uint32_t flags) {
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

// Writes values[i] at keys[i] of an array map, in batches.
template <typename V>
Status WriteArray(const UniqueFd& fd, const char* name, std::vector<uint32_t>& keys, const V* values) {
  constexpr size_t kChunk = 8192;
  for (size_t at = 0; at < keys.size(); at += kChunk) {
    uint32_t count = static_cast<uint32_t>(std::min(kChunk, keys.size() - at));
    if (bpf_map_update_batch(fd.get(), keys.data() + at, values + at, &count, nullptr) != 0) {
      return MapError(name, "update", errno);
    }
  }
  return Status::Ok();
}

// An array map's values 0..n-1.
template <typename V>
Status FillArray(const UniqueFd& fd, const char* name, const V* values, size_t n) {
  std::vector<uint32_t> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = static_cast<uint32_t>(i);
  return WriteArray(fd, name, keys, values);
}

// Keys and values are the plain structs of netfence_abi.h: no padding, compared as bytes.
template <typename T>
bool SameBytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}
template <typename K>
struct BytesHash {
  size_t operator()(const K& k) const {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    const auto* p = reinterpret_cast<const unsigned char*>(&k);
    for (size_t i = 0; i < sizeof(K); ++i) h = (h ^ p[i]) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};
template <typename K>
struct BytesEq {
  bool operator()(const K& a, const K& b) const { return SameBytes(a, b); }
};

// A hash or LPM map holding `before` made to hold `after`.
template <typename K, typename V>
Status RewriteKeyed(const UniqueFd& fd, const char* name, const std::vector<MapEntry<K, V>>& before,
                    const std::vector<MapEntry<K, V>>& after) {
  std::unordered_map<K, const V*, BytesHash<K>, BytesEq<K>> stale;
  stale.reserve(before.size());
  for (const auto& e : before) stale.emplace(e.key, &e.value);
  std::vector<const MapEntry<K, V>*> writes;
  for (const auto& e : after) {
    auto it = stale.find(e.key);
    if (it == stale.end()) {
      writes.push_back(&e);
      continue;
    }
    if (!SameBytes(*it->second, e.value)) writes.push_back(&e);
    stale.erase(it);
  }
  // Deletes first: a full map refuses new keys.
  for (const auto& [key, value] : stale) {
    if (bpf_map_delete_elem(fd.get(), &key) != 0 && errno != ENOENT) return MapError(name, "delete", errno);
  }
  for (const auto* e : writes) {
    if (bpf_map_update_elem(fd.get(), &e->key, &e->value, BPF_ANY) != 0) return MapError(name, "update", errno);
  }
  return Status::Ok();
}

// An array map holding before[0..n_before) made to hold after[0..n_after), zero beyond.
template <typename V>
Status RewriteArray(const UniqueFd& fd, const char* name, const V* before, size_t n_before, const V* after,
                    size_t n_after) {
  std::vector<uint32_t> keys;
  std::vector<V> values;
  const V zero{};
  for (size_t i = 0; i < std::max(n_before, n_after); ++i) {
    const V& want = i < n_after ? after[i] : zero;
    if (i < n_before && SameBytes(before[i], want)) continue;
    keys.push_back(static_cast<uint32_t>(i));
    values.push_back(want);
  }
  return WriteArray(fd, name, keys, values.data());
}

size_t WithHeadroom(size_t n) { return n + std::max<size_t>(n / 2, 64); }

}  // namespace

bool Fits(const SlotCapacity& c, const MapEntries& e) {
  return e.ipcache.size() <= c.ipcache && e.tables.size() <= c.tables && e.id_rows.size() <= c.id_rows &&
         e.cidr_rows.size() <= c.cidr_rows && e.port_rows.size() <= c.port_rows && e.words <= c.words;
}

SlotCapacity CapacityFor(const MapEntries& e) {
  return {WithHeadroom(e.ipcache.size()),   WithHeadroom(e.tables.size()),    WithHeadroom(e.id_rows.size()),
          WithHeadroom(e.cidr_rows.size()), WithHeadroom(e.port_rows.size()), WithHeadroom(e.words)};
}

StatusOr<SlotMaps> CreateSlotMaps(const MapEntries& e, const uint64_t* words) {
  SlotMaps s;
  s.capacity = CapacityFor(e);
  const SlotCapacity& c = s.capacity;
  struct Spec {
    UniqueFd* fd;
    const char* name;
    bpf_map_type type;
    uint32_t key, value;
    size_t entries;
    uint32_t flags;
  };
  const Spec specs[] = {
      {&s.ipcache, "nf_ipcache", BPF_MAP_TYPE_HASH, sizeof(nf_ip_key), sizeof(nf_ip_info), c.ipcache, 0},
      {&s.tables, "nf_tables", BPF_MAP_TYPE_ARRAY, 4, sizeof(nf_table), c.tables, BPF_F_INNER_MAP},
      {&s.id_rows, "nf_id_rows", BPF_MAP_TYPE_HASH, sizeof(nf_id_key), 4, c.id_rows, 0},
      {&s.cidr_rows, "nf_cidr_rows", BPF_MAP_TYPE_LPM_TRIE, sizeof(nf_cidr_key), 4, c.cidr_rows, BPF_F_NO_PREALLOC},
      {&s.port_rows, "nf_port_rows", BPF_MAP_TYPE_LPM_TRIE, sizeof(nf_port_key), 4, c.port_rows, BPF_F_NO_PREALLOC},
      {&s.words, "nf_words", BPF_MAP_TYPE_ARRAY, 4, 8, c.words, BPF_F_INNER_MAP},
  };
  for (const Spec& spec : specs) {
    auto fd = Create(spec.name, spec.type, spec.key, spec.value, spec.entries, spec.flags);
    if (!fd.ok()) return fd.status();
    *spec.fd = std::move(fd).value();
  }
  // Rows first, then what refers to them (no one reads these maps yet; order for clarity).
  if (Status st = FillArray(s.words, "words", words, e.words); !st.ok()) return st;
  if (Status st = Fill(s.id_rows, "id_rows", e.id_rows); !st.ok()) return st;
  if (Status st = Fill(s.cidr_rows, "cidr_rows", e.cidr_rows); !st.ok()) return st;
  if (Status st = Fill(s.port_rows, "port_rows", e.port_rows); !st.ok()) return st;
  if (Status st = FillArray(s.tables, "tables", e.tables.data(), e.tables.size()); !st.ok()) return st;
  if (Status st = Fill(s.ipcache, "ipcache", e.ipcache); !st.ok()) return st;
  return s;
}

Status RewriteSlotMaps(const SlotMaps& s, const SlotContents& before, const MapEntries& after, const uint64_t* words) {
  if (!Fits(s.capacity, after)) return Status::Error("XDP maps: the tables do not fit the slot's maps");
  const MapEntries& b = before.entries;
  if (Status st = RewriteArray(s.words, "words", before.words.data(), before.words.size(), words, after.words);
      !st.ok()) {
    return st;
  }
  if (Status st = RewriteKeyed(s.id_rows, "id_rows", b.id_rows, after.id_rows); !st.ok()) return st;
  if (Status st = RewriteKeyed(s.cidr_rows, "cidr_rows", b.cidr_rows, after.cidr_rows); !st.ok()) return st;
  if (Status st = RewriteKeyed(s.port_rows, "port_rows", b.port_rows, after.port_rows); !st.ok()) return st;
  if (Status st =
          RewriteArray(s.tables, "tables", b.tables.data(), b.tables.size(), after.tables.data(), after.tables.size());
      !st.ok()) {
    return st;
  }
  return RewriteKeyed(s.ipcache, "ipcache", b.ipcache, after.ipcache);
}

}  // namespace netfence::xdp
