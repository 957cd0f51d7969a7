// SPDX-License-Identifier: Apache-2.0
#include "common/tables/update_chunks.h"

namespace netfence::tables {

std::vector<v1::NodeUpdate> SplitUpdate(v1::NodeUpdate update, size_t max_bytes) {
  if (update.ByteSizeLong() <= max_bytes) return {std::move(update)};
  v1::NodeUpdate meta;
  meta.set_generation(update.generation());
  meta.set_base_generation(update.base_generation());
  meta.set_snapshot(update.snapshot());
  meta.set_node(update.node());
  meta.set_endpoints_sequence(update.endpoints_sequence());
  meta.set_produced_unix_nanos(update.produced_unix_nanos());

  std::vector<v1::NodeUpdate> parts(1, meta);
  size_t bytes = 0;
  auto room = [&](size_t need) {
    if (bytes > 0 && bytes + need > max_bytes) {
      parts.push_back(meta);
      bytes = 0;
    }
    bytes += need + 4;
    return &parts.back();
  };
  for (auto& e : *update.mutable_ipcache()) *room(e.ByteSizeLong())->add_ipcache() = std::move(e);
  for (auto& a : *update.mutable_removed_ipcache()) room(a.size())->add_removed_ipcache(std::move(a));
  for (auto& i : *update.mutable_identities()) *room(i.ByteSizeLong())->add_identities() = std::move(i);
  for (uint32_t i : update.removed_identities()) room(5)->add_removed_identities(i);
  for (auto& t : *update.mutable_tables()) *room(t.ByteSizeLong())->add_tables() = std::move(t);
  for (uint64_t t : update.removed_tables()) room(8)->add_removed_tables(t);
  for (auto& e : *update.mutable_endpoints()) *room(e.ByteSizeLong())->add_endpoints() = std::move(e);
  for (auto& k : *update.mutable_removed_endpoints()) *room(k.ByteSizeLong())->add_removed_endpoints() = std::move(k);
  for (auto& k : *update.mutable_unknown_registered()) *parts.back().add_unknown_registered() = std::move(k);
  for (size_t i = 0; i + 1 < parts.size(); ++i) parts[i].set_more(true);
  return parts;
}

bool MergeUpdatePart(v1::NodeUpdate&& part, v1::NodeUpdate* whole) {
  const bool last = !part.more();
  whole->MergeFrom(part);
  whole->set_more(!last);
  return last;
}

}  // namespace netfence::tables
