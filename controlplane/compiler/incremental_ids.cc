// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/incremental.h"

#include <algorithm>
#include <tuple>
#include <unordered_set>

#include "controlplane/compiler/compiler.h"
#include "controlplane/compiler/identity_key.h"
#include "controlplane/compiler/incremental_internal.h"
#include "controlplane/compiler/rows.h"
#include "google/protobuf/util/message_differencer.h"

namespace netfence::compiler {

using google::protobuf::util::MessageDifferencer;
using k8s::Direction;

// Identity membership and ids: which identity a pod joins, and the batch compiler's id rule
// (identity_key.h) kept over changes.

bool IncrementalCompiler::PreferenceOrder::operator()(const IdentityRec* a, const IdentityRec* b) const {
  if (a->preferred != b->preferred) return a->preferred < b->preferred;
  return CompareIdentity(a->key, b->key) < 0;
}

IncrementalCompiler::IdentityRec* IncrementalCompiler::FindIdentity(const k8s::Pod& pod, uint64_t hash) const {
  auto [lo, hi] = by_hash_.equal_range(hash);
  for (auto it = lo; it != hi; ++it) {
    if (SameIdentity(it->second->key, pod)) return it->second;
  }
  return nullptr;
}

void IncrementalCompiler::JoinIdentity(PodRec* pod, Batch* b) {
  const uint64_t hash = IdentityHash(pod->pod);
  IdentityRec* rec = FindIdentity(pod->pod, hash);
  if (rec == nullptr) {
    auto owned = std::make_unique<IdentityRec>();
    rec = owned.get();
    rec->key = pod->pod;
    rec->hash = hash;
    rec->preferred = PreferredIdentityId(hash);
    identity_store_.push_back(std::move(owned));
    by_hash_.emplace(hash, rec);
    auto& in_ns = ns_identities_[rec->key.meta.ns];
    if (in_ns.empty()) IndexNamespace(rec->key.meta.ns, true);
    in_ns.insert(rec);
    b->added.insert(rec);
  } else if (rec->dead) {
    rec->dead = false;  // emptied earlier in this batch, back now: it never left
    b->emptied.erase(rec);
  } else if (pod->pod.meta.name < rec->members.begin()->first) {
    b->example_changed.insert(rec);
  }
  rec->members[pod->pod.meta.name] = pod;
  pod->identity = rec;
}

void IncrementalCompiler::LeaveIdentity(PodRec* pod, Batch* b) {
  IdentityRec* rec = pod->identity;
  pod->identity = nullptr;
  const bool was_example = rec->members.begin()->first == pod->pod.meta.name;
  rec->members.erase(pod->pod.meta.name);
  if (rec->members.empty()) {
    rec->dead = true;
    b->emptied.insert(rec);
  } else if (was_example && !b->added.contains(rec)) {
    b->example_changed.insert(rec);
  }
}

// ---- Identity ids ---------------------------------------------------------------------------

void IncrementalCompiler::Unindex(IdentityRec* rec) {
  auto [lo, hi] = by_hash_.equal_range(rec->hash);
  for (auto h = lo; h != hi; ++h) {
    if (h->second == rec) {
      by_hash_.erase(h);
      break;
    }
  }
  auto ns = ns_identities_.find(rec->key.meta.ns);
  ns->second.erase(rec);
  if (ns->second.empty()) {
    IndexNamespace(rec->key.meta.ns, false);
    ns_identities_.erase(ns);
  }
}

// The batch compiler's rule over every identity: in preference order, each takes its
// preferred id or the next free one.
void IncrementalCompiler::RecomputeAllIds(Batch* b) {
  std::unordered_set<uint32_t> used;
  std::vector<std::pair<IdentityRec*, uint32_t>> moves;
  for (IdentityRec* rec : by_preference_) {
    uint32_t id = rec->preferred;
    while (!used.insert(id).second) id = NextIdentityId(id);
    if (id != rec->id) moves.emplace_back(rec, id);
  }
  for (auto [rec, id] : moves) {
    if (auto it = by_id_.find(rec->id); rec->id != 0 && it != by_id_.end() && it->second == rec) by_id_.erase(it);
  }
  for (auto [rec, id] : moves) {
    if (rec->id != 0) b->id_changed.try_emplace(rec, rec->id);
    rec->id = id;
    by_id_[id] = rec;
  }
}

void IncrementalCompiler::AssignIds(Batch* b) {
  // Identities emptied and not refilled are gone: free their ids. Where the next identities
  // in preference order were pushed up by them, or will be pushed by new ones, ids move: the
  // walk below redoes the batch rule from each such place until ids stop changing.
  std::vector<IdentityRec*> starts;
  for (IdentityRec* rec : b->emptied) {
    if (b->added.erase(rec) > 0) {  // created and emptied within the batch: it never existed
      Unindex(rec);
      b->discarded.push_back(rec);
      continue;
    }
    auto next = by_preference_.upper_bound(rec);
    by_preference_.erase(rec);
    if (auto it = by_id_.find(rec->id); it != by_id_.end() && it->second == rec) by_id_.erase(it);
    Unindex(rec);
    b->removed.emplace_back(rec, rec->id);
    if (next != by_preference_.end()) starts.push_back(*next);
  }
  for (IdentityRec* rec : b->added) {
    by_preference_.insert(rec);
    starts.push_back(rec);
  }
  std::sort(starts.begin(), starts.end(), PreferenceOrder());
  std::vector<std::tuple<IdentityRec*, uint32_t, uint32_t>> moves;  // (rec, old, new)
  std::unordered_map<IdentityRec*, uint32_t> planned;
  auto id_of = [&](IdentityRec* r) {
    auto p = planned.find(r);
    return p == planned.end() ? r->id : p->second;
  };
  for (IdentityRec* start : starts) {
    auto it = by_preference_.find(start);
    if (it == by_preference_.end()) continue;
    for (; it != by_preference_.end(); ++it) {
      IdentityRec* rec = *it;
      uint32_t want = rec->preferred;
      if (it != by_preference_.begin()) want = std::max(want, id_of(*std::prev(it)) + 1);
      if (want >= IdentityIdLimit()) {  // the ids wrap: only the whole rule is right
        RecomputeAllIds(b);
        return;
      }
      // Ids after an identity whose id stays are what they were: the walk ends there.
      auto p = planned.find(rec);
      if (p != planned.end() ? p->second == want : (rec->id != 0 && rec->id == want)) break;
      if (p == planned.end()) moves.emplace_back(rec, rec->id, want);
      planned[rec] = want;
    }
  }
  for (auto& [rec, old_id, new_id] : moves) {
    if (auto f = by_id_.find(old_id); old_id != 0 && f != by_id_.end() && f->second == rec) by_id_.erase(f);
  }
  for (auto& [rec, old_id, new_id] : moves) {
    const uint32_t final_id = planned.at(rec);
    if (rec->id == final_id) continue;
    if (rec->id != 0) b->id_changed.try_emplace(rec, rec->id);
    rec->id = final_id;
    by_id_[final_id] = rec;
  }
}

}  // namespace netfence::compiler
