// SPDX-License-Identifier: Apache-2.0
#include "dataplane/xdp/slot_writer.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace netfence::xdp {

SlotWriter::~SlotWriter() { AwaitGracePeriod(); }

void SlotWriter::AwaitGracePeriod() {
  if (grace_.joinable()) grace_.join();
}

void SlotWriter::Flipped(uint32_t slot) {
  AwaitGracePeriod();
  grace_ok_ = false;
  if (slot >= NF_SLOTS || !slots_[slot].known) return;  // nothing to rewrite later without it
  const uint32_t idle = slot ^ 1;
  if (!slots_[idle].known) {
    // Unknown maps in the idle slot (the first flip, or after re-adopting pins): install fresh
    // ones holding the live tables, so the next change is a rewrite. Their installation waits
    // for the grace period needed anyway. Write() touches neither slot before joining.
    grace_ = std::thread([this, slot, idle] {
      const SlotContents& live = slots_[slot].contents;
      auto maps = CreateSlotMaps(live.entries, live.words.data());
      if (!maps.ok() || !Install(idle, *maps).ok()) return;
      slots_[idle].maps = std::move(maps).value();
      slots_[idle].contents = live;
      slots_[idle].known = true;
      grace_ok_ = true;
    });
    return;
  }
  const int outer = outer_.ipcache, inner = slots_[slot].maps.ipcache.get();
  // Puts the live slot's own ipcache map back in its place: nothing changes for packets,
  // and the kernel returns only after a grace period.
  grace_ =
      std::thread([this, outer, slot, inner] { grace_ok_ = bpf_map_update_elem(outer, &slot, &inner, BPF_ANY) == 0; });
}

Status SlotWriter::Write(uint32_t slot, MapEntries entries, const v1::RuleTables& tables) {
  if (slot >= NF_SLOTS) return Status::Error("XDP maps: no slot " + std::to_string(slot));
  AwaitGracePeriod();  // packets that started before the last flip may still read `slot`
  Slot& s = slots_[slot];
  std::vector<uint64_t> arena = Arena(tables, entries);
  const uint64_t* words = arena.data();
  // A failed rewrite leaves a mix: fresh maps replace it.
  const bool rewritten = s.known && grace_ok_ && Fits(s.maps.capacity, entries) &&
                         RewriteSlotMaps(s.maps, s.contents, entries, words).ok();
  if (rewritten) {
    ++rewrites_;
  } else {
    s.known = false;
    auto maps = CreateSlotMaps(entries, words);
    if (!maps.ok()) return maps.status();
    if (Status st = Install(slot, *maps); !st.ok()) return st;
    s.maps = std::move(maps).value();
    s.known = true;
    ++installs_;
  }
  s.contents.entries = std::move(entries);
  s.contents.words = std::move(arena);
  return Status::Ok();
}

Status SlotWriter::Install(uint32_t slot, SlotMaps& maps) {
  const struct {
    int outer;
    int inner;
    const char* name;
  } slots[] = {{outer_.ipcache, maps.ipcache.get(), "ipcache_slots"},
               {outer_.tables, maps.tables.get(), "tables_slots"},
               {outer_.id_rows, maps.id_rows.get(), "id_rows_slots"},
               {outer_.cidr_rows, maps.cidr_rows.get(), "cidr_rows_slots"},
               {outer_.port_rows, maps.port_rows.get(), "port_rows_slots"},
               {outer_.words, maps.words.get(), "words_slots"}};
  // Each update waits for a grace period; from parallel threads the six waits overlap in one
  // instead of six in a row (~80 ms -> ~15 ms here).
  int errors[std::size(slots)] = {};
  {
    std::vector<std::thread> updates;
    for (size_t i = 0; i < std::size(slots); ++i) {
      updates.emplace_back([&, i] {
        errors[i] = bpf_map_update_elem(slots[i].outer, &slot, &slots[i].inner, BPF_ANY) != 0 ? errno : 0;
      });
    }
    for (std::thread& t : updates) t.join();
  }
  for (size_t i = 0; i < std::size(slots); ++i) {
    if (errors[i] != 0) {
      return Status::Error(std::string("XDP map ") + slots[i].name + ": update: " + std::strerror(errors[i]));
    }
  }
  return Status::Ok();
}

}  // namespace netfence::xdp
