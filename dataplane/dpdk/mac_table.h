// SPDX-License-Identifier: Apache-2.0
// The learning switch's table: MAC address -> port, shared by every worker, lock-free (each
// entry one 64-bit word: 48 bits of MAC, a pinned bit, 15 bits of port; compare-and-swap to
// claim a slot, plain stores to move a MAC). Port security for pods: the first MAC a pod's
// port sends from is pinned to it; no other MAC is learned from that port, and a pinned MAC is
// never moved elsewhere, so a pod cannot draw another pod's frames to itself by forging its
// MAC (forging IP addresses is the anti-spoofing check's business).
#pragma once

#include <atomic>
#include <cstdint>

namespace netfence::dpdk {

class MacTable {
 public:
  static constexpr uint32_t kSlots = 8192;
  static constexpr uint32_t kProbes = 16;
  static constexpr int kPorts = 64;

  MacTable();
  // The port `mac` was learned on, or -1.
  int Lookup(const uint8_t* mac) const;
  // `mac` was the source of a frame received on `port`; `pin` for a pod's port.
  void Learn(const uint8_t* mac, uint16_t port, bool pin);
  // Forgets every MAC learned on `port` (unplugged).
  void ForgetPort(uint16_t port);

 private:
  static uint64_t Key(const uint8_t* mac);
  std::atomic<uint64_t> slots_[kSlots];
  std::atomic<uint64_t> pinned_[kPorts];  // MAC key + 1 pinned to each pod port, 0: none yet
};

}  // namespace netfence::dpdk
