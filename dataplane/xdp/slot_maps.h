// SPDX-License-Identifier: Apache-2.0
// One slot's table maps (xdp/include/maps.h): created with headroom and filled from compiled
// tables, or rewritten in place with only the differences from what they held. Nothing here
// touches a live map: callers pass maps no packet reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "dataplane/xdp/map_entries.h"

namespace netfence::xdp {

// How many entries each inner map can hold (its max_entries, less the LPM spare).
struct SlotCapacity {
  size_t ipcache = 0, tables = 0, id_rows = 0, cidr_rows = 0, port_rows = 0, words = 0;
};

struct SlotMaps {
  UniqueFd ipcache, tables, id_rows, cidr_rows, port_rows, words;
  SlotCapacity capacity;
};

// What a slot's maps hold: the entries and the words they were filled with.
struct SlotContents {
  MapEntries entries;
  std::vector<uint64_t> words;
};

// Whether maps of `capacity` can hold `entries`.
bool Fits(const SlotCapacity& capacity, const MapEntries& entries);

// The capacity given to fresh maps for `entries`: half again as much (at least 64 more), so
// that the next generations, a little larger, are rewritten in place.
SlotCapacity CapacityFor(const MapEntries& entries);

// Creates the six inner maps with CapacityFor(entries) and fills them; `words` are the
// tables' words (entries.words of them).
StatusOr<SlotMaps> CreateSlotMaps(const MapEntries& entries, const uint64_t* words);

// Makes maps holding `before` hold `after` (and `words`), writing only what differs: stale
// keys deleted first, then changed and new ones written, array cells beyond the new size
// zeroed. Requires Fits(maps.capacity, after). On error the maps hold a mix of both.
Status RewriteSlotMaps(const SlotMaps& maps, const SlotContents& before, const MapEntries& after,
                       const uint64_t* words);

}  // namespace netfence::xdp
