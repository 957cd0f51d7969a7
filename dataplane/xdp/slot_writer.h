// SPDX-License-Identifier: Apache-2.0
// Writes a generation's tables into the idle slot of the outer maps (xdp/include/maps.h).
//
// The kernel waits for an RCU grace period on every update of a map-in-map, so installing
// fresh inner maps costs one grace period (~10-15 ms) per generation. Instead the writer keeps
// the maps it put in each slot and what they hold, and rewrites them in place with only the
// differences: a one-rule change is a few map writes. That is safe once no packet can still
// be reading the slot, i.e. one grace period after the flip that made it idle. Flipped()
// starts that wait on a background thread (a no-op update of an outer map, whose
// synchronize_rcu() covers every XDP and TC program run that began before it); Write() joins
// it, which has normally long finished.
//
// Fresh maps (with headroom, slot_maps.h) are installed when the slot's maps are too small, or
// a rewrite or the wait failed. An idle slot whose maps are unknown (the first flip, a restart
// that re-adopted pinned maps) gets fresh maps holding the live tables on the background
// thread: their installation is the grace period, and the next change is a rewrite.
#pragma once

#include <array>
#include <cstdint>
#include <thread>

#include "common/base/status.h"
#include "dataplane/xdp/map_entries.h"
#include "dataplane/xdp/slot_maps.h"
#include "netfence/v1/tables.pb.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::xdp {

// The outer maps' fds, in SlotMaps order.
struct OuterMaps {
  int ipcache, tables, id_rows, cidr_rows, port_rows, words;
};

class SlotWriter {
 public:
  explicit SlotWriter(OuterMaps outer) : outer_(outer) {}
  ~SlotWriter();
  SlotWriter(const SlotWriter&) = delete;
  SlotWriter& operator=(const SlotWriter&) = delete;

  // Makes `slot` (not live) hold `entries` of `tables`. On error the slot must not go live.
  Status Write(uint32_t slot, MapEntries entries, const v1::RuleTables& tables);
  // `slot` went live: the other one is free once the grace period started here has passed.
  void Flipped(uint32_t slot);

  // How many Write()s rewrote maps in place / installed fresh ones (tests, benchmarks); the
  // background preparation of an unknown idle slot is neither.
  uint64_t rewrites() const { return rewrites_; }
  uint64_t installs() const { return installs_; }

 private:
  struct Slot {
    bool known = false;  // `maps` are the slot's inner maps and hold `contents`
    SlotMaps maps;
    SlotContents contents;
  };
  void AwaitGracePeriod();
  Status Install(uint32_t slot, SlotMaps& maps);

  OuterMaps outer_;
  std::array<Slot, NF_SLOTS> slots_;
  std::thread grace_;
  bool grace_ok_ = false;  // written by grace_, read after joining it
  uint64_t rewrites_ = 0, installs_ = 0;
};

}  // namespace netfence::xdp
