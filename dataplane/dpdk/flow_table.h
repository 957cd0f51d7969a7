// SPDX-License-Identifier: Apache-2.0
// A table of flows shared by every worker, on rte_hash with lock-free readers
// (RW_CONCURRENCY_LF | MULTI_WRITER_ADD): lookups take no lock; adds (new flows only) take
// rte_hash's writer lock. The connection table (nf_ct_key -> nf_ct_entry) and the allowed
// first fragments (nf_frag_key -> time) are two of them.
//
// Each key's slot lives at the position rte_hash gives the key. A slot is published (kReady)
// only once its value is written, so no lookup sees half an entry:
//
//   kFree --Create--> kWriting --> kReady --Kill (revoked)--> kDead
//                                    |  ^                       |
//                                    +--+ Create over an unusable (expired, reopened) entry
//   kReady/kDead --Collect/Flush--> kDeleting: key deleted; one grace period later kFree
//
// Workers create, look up and kill; only the collector (the control thread) deletes keys and
// frees positions, after a QSBR grace period, so a worker never holds a freed slot. A scan
// (ReadAll) reads slots under a per-slot sequence number: each is read whole or skipped.
#pragma once

#include <rte_errno.h>
#include <rte_hash.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "dataplane/dpdk/rcu.h"

namespace netfence::dpdk {

// rte_hash's hash function for keys of whole 64-bit words (both tables' keys are 40 bytes):
// CRC32-C over the words with the SSE4.2 instruction, no per-word dispatch (rte_hash_crc asks at
// every word which CRC implementation the CPU has; every file with DPDK headers is compiled for
// SSE4.2, -march=corei7). `len` is the table's key length, a multiple of 8.
inline uint32_t HashKeyWords(const void* key, uint32_t len, uint32_t init) {
  const auto* p = static_cast<const uint8_t*>(key);
  uint64_t crc = init;
  for (uint32_t off = 0; off < len; off += 8) {
    uint64_t w;
    std::memcpy(&w, p + off, 8);
    crc = __builtin_ia32_crc32di(crc, w);
  }
  return static_cast<uint32_t>(crc);
}

template <typename Key, typename Value>
class FlowTable {
  static_assert(sizeof(Key) % 8 == 0, "HashKeyWords hashes whole 64-bit words");

 public:
  enum State : uint32_t { kFree = 0, kWriting = 1, kReady = 2, kDead = 3, kDeleting = 4 };
  struct alignas(64) Slot {  // a connection's slot: two cache lines, prefetched together
    std::atomic<uint32_t> state{kFree};
    std::atomic<uint32_t> seq{0};  // odd while the slot's key and value are being replaced
    Key key;
    Value value;
  };

  // `name`: at most 24 characters (rte_hash names its ring HT_<name>, truncated at 28).
  static StatusOr<std::unique_ptr<FlowTable>> Create(const std::string& name, uint32_t capacity, Rcu* rcu) {
    rte_hash_parameters p{};
    p.name = name.c_str();
    p.entries = capacity;
    p.key_len = sizeof(Key);
    p.hash_func = HashKeyWords;
    p.socket_id = 0;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD;
    rte_hash* h = rte_hash_create(&p);
    if (h == nullptr) {
      return Status::Error("rte_hash " + name + " of " + std::to_string(capacity) +
                           " entries: " + rte_strerror(rte_errno) + " (is -m large enough?)");
    }
    return std::unique_ptr<FlowTable>(new FlowTable(h, capacity, rcu));
  }
  ~FlowTable() { rte_hash_free(hash_); }
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  uint32_t capacity() const { return capacity_; }

  // ---- Workers ------------------------------------------------------------------------
  // The position of `key`, or -1.
  int32_t Lookup(const Key& key) const {
    const int32_t pos = rte_hash_lookup(hash_, &key);
    return pos >= 0 ? pos : -1;
  }
  // Up to 64 keys at once; positions[i] is -1 for a miss.
  void LookupBulk(const void** keys, uint32_t n, int32_t* positions) const {
    if (n == 0) return;
    rte_hash_lookup_bulk(hash_, keys, n, positions);
    for (uint32_t i = 0; i < n; ++i) positions[i] = positions[i] >= 0 ? positions[i] : -1;
  }
  // Starts loading the slot at `pos` (a bulk lookup's hits, before they are read).
  void Prefetch(int32_t pos) const {
    if (pos < 0) return;
    const char* p = reinterpret_cast<const char*>(&slots_[static_cast<size_t>(pos)]);
    for (size_t off = 0; off < sizeof(Slot); off += 64) __builtin_prefetch(p + off);
  }
  // The value at `pos` if it is published, else nullptr (being written, dead, deleted).
  Value* Ready(int32_t pos) {
    if (pos < 0) return nullptr;
    Slot& s = slots_[static_cast<size_t>(pos)];
    return s.state.load(std::memory_order_acquire) == kReady ? &s.value : nullptr;
  }
  // Publishes `value` under `key` (new, or replacing an entry the caller found unusable);
  // its position, or -1 when the table is full or another worker holds the slot right now.
  int32_t Create(const Key& key, const Value& value) {
    const int32_t pos = rte_hash_add_key(hash_, &key);
    if (pos < 0) return -1;
    Slot& s = slots_[static_cast<size_t>(pos)];
    uint32_t st = s.state.load(std::memory_order_acquire);
    if (st != kFree && st != kReady && st != kDead) return -1;
    if (!s.state.compare_exchange_strong(st, kWriting, std::memory_order_acq_rel)) return -1;
    s.seq.fetch_add(1, std::memory_order_acq_rel);
    s.key = key;
    s.value = value;
    s.seq.fetch_add(1, std::memory_order_release);
    s.state.store(kReady, std::memory_order_release);
    return pos;
  }
  // Marks the published entry at `pos` dead (a revoked connection): lookups stop finding it at
  // once; the collector deletes it.
  void Kill(int32_t pos) {
    uint32_t st = kReady;
    slots_[static_cast<size_t>(pos)].state.compare_exchange_strong(st, kDead, std::memory_order_acq_rel);
  }

  // ---- Control thread -----------------------------------------------------------------
  // Deletes dead entries and those `expired` says are, then frees the positions whose grace
  // period is over. Returns how many keys it deleted.
  size_t Collect(const std::function<bool(const Key&, const Value&)>& expired) { return Sweep(false, expired); }
  // Deletes every entry (a flush), then waits for their grace period and frees them.
  size_t Flush() {
    const size_t n = Sweep(true, nullptr);
    rcu_->Synchronize();
    FreeRetired();
    return n;
  }
  // Every published entry, each read whole.
  void ReadAll(const std::function<void(const Key&, const Value&)>& each) const {
    for (size_t pos = 0; pos < slots_.size(); ++pos) {
      const Slot& s = slots_[pos];
      if (s.state.load(std::memory_order_acquire) != kReady) continue;
      for (int attempt = 0; attempt < 4; ++attempt) {
        const uint32_t before = s.seq.load(std::memory_order_acquire);
        if (before & 1) continue;
        Key k;
        Value v;
        std::memcpy(&k, &s.key, sizeof(Key));
        std::memcpy(&v, &s.value, sizeof(Value));
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s.seq.load(std::memory_order_relaxed) == before && s.state.load(std::memory_order_relaxed) == kReady) {
          each(k, v);
          break;
        }
      }
    }
  }
  // Keys in the table (published or not yet collected).
  uint32_t count() const { return static_cast<uint32_t>(rte_hash_count(hash_)); }

 private:
  FlowTable(rte_hash* h, uint32_t capacity, Rcu* rcu)
      : hash_(h), capacity_(capacity), rcu_(rcu), slots_(static_cast<size_t>(rte_hash_max_key_id(h)) + 1) {}

  size_t Sweep(bool all, const std::function<bool(const Key&, const Value&)>& expired) {
    FreeRetired();
    size_t deleted = 0;
    for (size_t pos = 0; pos < slots_.size(); ++pos) {
      Slot& s = slots_[pos];
      uint32_t st = s.state.load(std::memory_order_acquire);
      const bool doomed = st == kDead || (st == kReady && (all || (expired && expired(s.key, s.value))));
      if (!doomed || !s.state.compare_exchange_strong(st, kDeleting, std::memory_order_acq_rel)) continue;
      rte_hash_del_key(hash_, &s.key);
      retired_.push_back(static_cast<int32_t>(pos));
      ++deleted;
    }
    if (!retired_.empty()) retired_token_ = rcu_->Start();
    return deleted;
  }
  // Positions deleted by the last sweep go back to rte_hash once no worker can hold them.
  void FreeRetired() {
    if (retired_.empty() || !rcu_->Done(retired_token_)) return;
    for (int32_t pos : retired_) {
      Slot& s = slots_[static_cast<size_t>(pos)];
      s.seq.fetch_add(2, std::memory_order_acq_rel);
      s.state.store(kFree, std::memory_order_release);
      rte_hash_free_key_with_position(hash_, pos);
    }
    retired_.clear();
  }

  rte_hash* hash_;
  uint32_t capacity_;
  Rcu* rcu_;
  std::vector<Slot> slots_;
  std::vector<int32_t> retired_;  // deleted, waiting for retired_token_
  uint64_t retired_token_ = 0;
};

}  // namespace netfence::dpdk
