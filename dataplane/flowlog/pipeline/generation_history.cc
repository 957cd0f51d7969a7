// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/pipeline/generation_history.h"

#include <algorithm>

#include "common/tables/table_set.h"
#include "common/tables/wire.h"

namespace netfence::flowlog {

template <typename T>
const T* GenerationHistory::At(const Versions<T>& v, uint64_t sequence) {
  // Versions are in ascending `from`: the last one starting at or before `sequence`.
  auto it = std::upper_bound(v.begin(), v.end(), sequence, [](uint64_t s, const Version<T>& x) { return s < x.from; });
  if (it == v.begin()) return nullptr;
  return std::prev(it)->value.get();
}

void GenerationHistory::DiffIpcache(const std::map<IpAddr, v1::IpcacheEntry>& ipcache, uint64_t seq) {
  // Merge-walk the view and the versions (both sorted by address): only changes allocate.
  auto h = addresses_.begin();
  auto put = [seq](Versions<PodInfo>& v, std::shared_ptr<const PodInfo> value) {
    v.push_back({seq, std::move(value)});
  };
  for (const auto& [addr, e] : ipcache) {
    while (h != addresses_.end() && h->first < addr) {
      if (h->second.back().value) put(h->second, nullptr);  // gone from the view
      ++h;
    }
    PodInfo info{e.namespace_(), e.pod(), e.node(), e.identity()};
    if (h != addresses_.end() && h->first == addr) {
      const PodInfo* cur = h->second.back().value.get();
      if (cur == nullptr || !(*cur == info)) put(h->second, std::make_shared<const PodInfo>(std::move(info)));
      ++h;
    } else {
      h = addresses_.emplace_hint(h, addr, Versions<PodInfo>{});
      put(h->second, std::make_shared<const PodInfo>(std::move(info)));
      ++h;
    }
  }
  for (; h != addresses_.end(); ++h) {
    if (h->second.back().value) put(h->second, nullptr);
  }
}

void GenerationHistory::DiffIdentities(const std::map<uint32_t, v1::Identity>& identities, uint64_t seq) {
  auto h = labels_.begin();
  for (const auto& [id, identity] : identities) {
    while (h != labels_.end() && h->first < id) {
      if (h->second.back().value) h->second.push_back({seq, nullptr});
      ++h;
    }
    Labels labels;
    labels.reserve(static_cast<size_t>(identity.labels_size()));
    for (const auto& l : identity.labels()) labels.emplace_back(l.key(), l.value());
    if (h != labels_.end() && h->first == id) {
      const Labels* cur = h->second.back().value.get();
      if (cur == nullptr || *cur != labels)
        h->second.push_back({seq, std::make_shared<const Labels>(std::move(labels))});
      ++h;
    } else {
      h = labels_.emplace_hint(h, id, Versions<Labels>{});
      h->second.push_back({seq, std::make_shared<const Labels>(std::move(labels))});
      ++h;
    }
  }
  for (; h != labels_.end(); ++h) {
    if (h->second.back().value) h->second.push_back({seq, nullptr});
  }
}

void GenerationHistory::Add(const GenerationInput& in, int64_t now_ns) {
  auto g = std::make_unique<GenerationMeta>();
  g->generation = in.generation;
  g->epoch = in.epoch;
  g->live_ns = now_ns;
  if (in.tables != nullptr) {
    const v1::RuleTables& t = *in.tables;
    g->policies.reserve(static_cast<size_t>(t.policies_size()));
    for (const auto& p : t.policies()) {
      g->policies.emplace_back(p.namespace_(), p.name());
      PolicyInfo& info = g->policy_info.emplace_back();
      info.audit = p.audit();
      if (p.kind().empty()) continue;
      info.kind = p.kind();
      info.tier = p.tier() == v1::TIER_ADMIN ? "Admin" : "Baseline";
      info.rule_names[static_cast<int>(Direction::kIngress)].assign(p.ingress_rule_names().begin(),
                                                                    p.ingress_rule_names().end());
      info.rule_names[static_cast<int>(Direction::kEgress)].assign(p.egress_rule_names().begin(),
                                                                   p.egress_rule_names().end());
    }
    g->tables.reserve(static_cast<size_t>(t.tables_size()));
    for (const auto& dt : t.tables()) {
      TableMeta m;
      m.direction = dt.direction() == v1::EGRESS ? Direction::kEgress : Direction::kIngress;
      m.isolated = dt.isolated();
      m.isolating_policies.assign(dt.isolating_policies().begin(), dt.isolating_policies().end());
      m.rule_policy.assign(dt.rule_policy().begin(), dt.rule_policy().end());
      m.rule_index.assign(dt.rule_index().begin(), dt.rule_index().end());
      m.rule_flags.assign(dt.rule_flags().begin(), dt.rule_flags().end());
      m.audit_isolating_policies.assign(dt.audit_isolating_policies().begin(), dt.audit_isolating_policies().end());
      // Tables of an earlier compiler leave audit_isolated false: `isolated` stands for both.
      m.audit = (dt.audit_isolated() && !dt.isolated()) || !m.audit_isolating_policies.empty() ||
                std::any_of(m.rule_flags.begin(), m.rule_flags.end(),
                            [](uint32_t f) { return (f & tables::kRuleAudit) != 0; });
      g->rules += dt.rule_count();
      g->tables.push_back(std::move(m));
    }
    for (const auto& ep : t.endpoints()) {
      for (const std::string& ip : ep.ips()) {
        if (auto a = tables::AddrFromBytes(ip))
          g->local.emplace(*a, LocalTables{ep.ingress_table(), ep.egress_table()});
      }
    }
    g->identities = static_cast<uint64_t>(t.identities_size());
    g->endpoints = static_cast<uint64_t>(t.endpoints_size());
    g->ipcache = static_cast<uint64_t>(t.ipcache_identities_size());
  }
  std::lock_guard lock(mu_);
  g->sequence = next_sequence_++;
  if (in.ipcache != nullptr) DiffIpcache(*in.ipcache, g->sequence);
  if (in.identities != nullptr) DiffIdentities(*in.identities, g->sequence);
  GenerationMeta* raw = g.get();
  const bool same_programming = live_ != nullptr && live_->epoch == raw->epoch && by_epoch_.contains(raw->epoch);
  if (live_ != nullptr) live_->superseded_ns = now_ns;
  if (!same_programming) {
    if (live_ != nullptr) {
      if (auto p = by_epoch_.find(live_->epoch); p != by_epoch_.end()) p->second.superseded_ns = now_ns;
    }
    if (auto old = by_epoch_.find(raw->epoch); old != by_epoch_.end()) {
      // An epoch seen before, not live: the fast path was made anew (its pins removed); nothing
      // of the old programming can come any more.
      for (GenerationMeta* m : old->second.generations) Drop(m);
      if (auto st = stamps_.find(old->second.stamp); st != stamps_.end() && st->second == raw->epoch) stamps_.erase(st);
      by_epoch_.erase(old);
    }
    by_epoch_[raw->epoch].stamp = raw->generation;
    stamps_[raw->generation] = raw->epoch;
  }
  Programming& p = by_epoch_[raw->epoch];
  raw->stamp = p.stamp;
  p.generations.push_back(raw);
  by_sequence_.emplace(raw->sequence, std::move(g));
  by_generation_[raw->generation] = raw;
  live_ = raw;
}

const GenerationMeta* GenerationHistory::Find(uint64_t generation) const {
  std::lock_guard lock(mu_);
  auto it = by_generation_.find(generation);
  return it == by_generation_.end() ? nullptr : it->second;
}

const GenerationMeta* GenerationHistory::FindEpoch(uint32_t epoch) const {
  std::lock_guard lock(mu_);
  auto it = by_epoch_.find(epoch);
  return it == by_epoch_.end() || it->second.generations.empty() ? nullptr : it->second.generations.back();
}

const GenerationMeta* GenerationHistory::Resolve(uint64_t generation, int64_t at_ns) const {
  std::lock_guard lock(mu_);
  uint32_t epoch = 0;
  if (auto s = stamps_.find(generation); s != stamps_.end()) {
    epoch = s->second;
  } else if (auto g = by_generation_.find(generation); g != by_generation_.end()) {
    epoch = g->second->epoch;
  } else {
    return nullptr;
  }
  auto p = by_epoch_.find(epoch);
  if (p == by_epoch_.end() || p->second.generations.empty()) return nullptr;
  const GenerationMeta* best = p->second.generations.front();
  for (const GenerationMeta* m : p->second.generations) {
    if (m->live_ns > at_ns) break;
    best = m;
  }
  return best;
}

bool GenerationHistory::Knows(uint64_t generation) const {
  std::lock_guard lock(mu_);
  return stamps_.contains(generation) || by_generation_.contains(generation);
}

const GenerationMeta* GenerationHistory::Live() const {
  std::lock_guard lock(mu_);
  return live_;
}

void GenerationHistory::EnrichLocked(uint64_t seq, const IpAddr& addr, Endpoint* out) const {
  out->ns.clear();
  out->pod.clear();
  out->node.clear();
  out->labels.clear();
  out->identity.reset();
  auto a = addresses_.find(addr);
  const PodInfo* info = a == addresses_.end() ? nullptr : At(a->second, seq);
  if (info == nullptr) return;  // world
  out->ns = info->ns;
  out->pod = info->pod;
  out->node = info->node;
  out->identity = info->identity;
  if (auto l = labels_.find(info->identity); l != labels_.end()) {
    if (const Labels* labels = At(l->second, seq)) out->labels = *labels;
  }
}

bool GenerationHistory::Enrich(uint64_t generation, const IpAddr& addr, Endpoint* out) const {
  std::lock_guard lock(mu_);
  auto g = by_generation_.find(generation);
  if (g == by_generation_.end()) return false;
  EnrichLocked(g->second->sequence, addr, out);
  return true;
}

void GenerationHistory::Enrich(const GenerationMeta& g, const IpAddr& addr, Endpoint* out) const {
  std::lock_guard lock(mu_);
  EnrichLocked(g.sequence, addr, out);
}

void GenerationHistory::Prune(uint64_t oldest) {
  // Versions before the one holding at `oldest` are unreachable; an address absent since
  // then is forgotten.
  auto prune = [oldest](auto& map) {
    for (auto it = map.begin(); it != map.end();) {
      auto& v = it->second;
      auto keep = std::upper_bound(v.begin(), v.end(), oldest, [](uint64_t s, const auto& x) { return s < x.from; });
      if (keep != v.begin()) v.erase(v.begin(), std::prev(keep));
      if (v.size() == 1 && !v.front().value) {
        it = map.erase(it);
      } else {
        ++it;
      }
    }
  };
  prune(addresses_);
  prune(labels_);
}

void GenerationHistory::Drop(GenerationMeta* g) {
  if (auto e = by_generation_.find(g->generation); e != by_generation_.end() && e->second == g) by_generation_.erase(e);
  by_sequence_.erase(g->sequence);
}

size_t GenerationHistory::Retire(int64_t cutoff_ns, const std::function<bool(uint64_t stamp)>& referenced) {
  std::lock_guard lock(mu_);
  size_t dropped = 0;
  const auto superseded_before_cutoff = [cutoff_ns](int64_t t) { return t != 0 && t < cutoff_ns; };
  for (auto it = by_epoch_.begin(); it != by_epoch_.end();) {
    Programming& p = it->second;
    const bool live = live_ != nullptr && live_->epoch == it->first;
    if (!live && superseded_before_cutoff(p.superseded_ns) && !(referenced && referenced(p.stamp))) {
      for (GenerationMeta* g : p.generations) Drop(g);
      dropped += p.generations.size();
      if (auto st = stamps_.find(p.stamp); st != stamps_.end() && st->second == it->first) stamps_.erase(st);
      it = by_epoch_.erase(it);
      continue;
    }
    // Generations of this programming that a later one of it superseded before the cutoff:
    // every event of their time has been read (they resolve to the later one from then on).
    auto& v = p.generations;
    for (size_t i = 0; i + 1 < v.size();) {
      if (superseded_before_cutoff(v[i]->superseded_ns)) {
        Drop(v[i]);
        v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
        ++dropped;
      } else {
        ++i;
      }
    }
    ++it;
  }
  if (dropped > 0 && !by_sequence_.empty()) Prune(by_sequence_.begin()->first);
  return dropped;
}

size_t GenerationHistory::size() const {
  std::lock_guard lock(mu_);
  return by_sequence_.size();
}

size_t GenerationHistory::address_versions() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [a, v] : addresses_) n += v.size();
  return n;
}

}  // namespace netfence::flowlog
