// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/mac_table.h"

#include <cstring>

namespace netfence::dpdk {
namespace {
constexpr uint64_t kPortMask = 0x7FFF;
constexpr uint64_t kPinned = 0x8000;
constexpr uint64_t kNoPort = kPortMask;  // a forgotten entry keeps its slot (probe chains stay whole)
uint64_t MacOf(uint64_t word) { return word >> 16; }
}  // namespace

MacTable::MacTable() {
  for (auto& s : slots_) s.store(0, std::memory_order_relaxed);
  for (auto& p : pinned_) p.store(0, std::memory_order_relaxed);
}

uint64_t MacTable::Key(const uint8_t* mac) {
  uint64_t k = 0;
  std::memcpy(&k, mac, 6);
  return k;
}

int MacTable::Lookup(const uint8_t* mac) const {
  const uint64_t key = Key(mac);
  const uint32_t h = static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ull) >> 40);
  for (uint32_t i = 0; i < kProbes; ++i) {
    const uint64_t w = slots_[(h + i) % kSlots].load(std::memory_order_relaxed);
    if (w == 0) return -1;
    if (MacOf(w) == key) return (w & kPortMask) == kNoPort ? -1 : static_cast<int>(w & kPortMask);
  }
  return -1;
}

void MacTable::Learn(const uint8_t* mac, uint16_t port, bool pin) {
  const uint64_t key = Key(mac);
  if (key == 0 || (mac[0] & 1)) return;  // multicast and broadcast sources are never learned
  if (pin && port < kPorts) {
    uint64_t mine = pinned_[port].load(std::memory_order_relaxed);
    if (mine == 0 && pinned_[port].compare_exchange_strong(mine, key + 1)) mine = key + 1;
    if (mine != key + 1) return;  // a pod's port has one MAC
  }
  const uint64_t word = (key << 16) | (pin ? kPinned : 0) | (port & kPortMask);
  const uint32_t h = static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ull) >> 40);
  for (uint32_t i = 0; i < kProbes; ++i) {
    std::atomic<uint64_t>& slot = slots_[(h + i) % kSlots];
    uint64_t w = slot.load(std::memory_order_relaxed);
    if (w == 0) {
      if (slot.compare_exchange_strong(w, word)) return;
      // Another worker claimed it: look at what it wrote.
    }
    if (MacOf(w) != key) continue;
    if (w == word) return;
    const bool forgotten = (w & kPortMask) == kNoPort;
    if ((w & kPinned) && !forgotten) return;  // a pod's MAC does not move
    slot.store(word, std::memory_order_relaxed);
    return;
  }
}

void MacTable::ForgetPort(uint16_t port) {
  for (auto& s : slots_) {
    uint64_t w = s.load(std::memory_order_relaxed);
    if (w != 0 && (w & kPortMask) == port) s.store((w & ~(kPortMask | kPinned)) | kNoPort, std::memory_order_relaxed);
  }
  if (port < kPorts) pinned_[port].store(0, std::memory_order_relaxed);
}

}  // namespace netfence::dpdk
