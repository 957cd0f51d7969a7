// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/pipeline/generation_history.h"

#include <algorithm>

#include "common/tables/table_set.h"

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
  if (live_ != nullptr) live_->superseded_ns = now_ns;
  GenerationMeta* raw = g.get();
  by_sequence_.emplace(raw->sequence, std::move(g));
  by_generation_[raw->generation] = raw;
  by_epoch_[raw->epoch] = raw;
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
  return it == by_epoch_.end() ? nullptr : it->second;
}

const GenerationMeta* GenerationHistory::Live() const {
  std::lock_guard lock(mu_);
  return live_;
}

bool GenerationHistory::Enrich(uint64_t generation, const IpAddr& addr, Endpoint* out) const {
  std::lock_guard lock(mu_);
  auto g = by_generation_.find(generation);
  if (g == by_generation_.end()) return false;
  const uint64_t seq = g->second->sequence;
  out->ns.clear();
  out->pod.clear();
  out->node.clear();
  out->labels.clear();
  out->identity.reset();
  auto a = addresses_.find(addr);
  const PodInfo* info = a == addresses_.end() ? nullptr : At(a->second, seq);
  if (info == nullptr) return true;  // world
  out->ns = info->ns;
  out->pod = info->pod;
  out->node = info->node;
  out->identity = info->identity;
  if (auto l = labels_.find(info->identity); l != labels_.end()) {
    if (const Labels* labels = At(l->second, seq)) out->labels = *labels;
  }
  return true;
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

size_t GenerationHistory::Retire(int64_t cutoff_ns, const std::function<bool(uint64_t generation)>& referenced) {
  std::lock_guard lock(mu_);
  size_t dropped = 0;
  for (auto it = by_sequence_.begin(); it != by_sequence_.end();) {
    GenerationMeta* g = it->second.get();
    const bool retire = g != live_ && g->superseded_ns != 0 && g->superseded_ns < cutoff_ns &&
                        !(referenced && referenced(g->generation));
    if (!retire) {
      ++it;
      continue;
    }
    if (auto e = by_generation_.find(g->generation); e != by_generation_.end() && e->second == g)
      by_generation_.erase(e);
    if (auto e = by_epoch_.find(g->epoch); e != by_epoch_.end() && e->second == g) by_epoch_.erase(e);
    it = by_sequence_.erase(it);
    ++dropped;
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
