// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/drop_aggregator.h"

#include "dataplane/flowlog/community_id.h"

namespace netfence::flowlog {

namespace {
uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}
}  // namespace

size_t DropAggregator::KeyHash::operator()(const Key& k) const {
  uint64_t h = Mix(k.src.hi(), k.src.lo());
  h = Mix(h, k.dst.hi());
  h = Mix(h, k.dst.lo());
  h = Mix(h, (uint64_t{k.proto} << 48) | (uint64_t{k.sport} << 32) | (uint64_t{k.dport} << 16) |
                 (uint64_t{k.audit} << 5) | (uint64_t{k.has_ports} << 4) | (uint64_t(k.direction) << 2) | k.level);
  h = Mix(h, std::hash<std::string_view>{}(k.reason));
  h = Mix(h, k.generation);
  return static_cast<size_t>(h);
}

DropAggregator::DropAggregator(Options options, Clock clock) : options_(options), clock_(std::move(clock)) {
  if (options_.max_tuples_per_group == 0) options_.max_tuples_per_group = 1;
}

DropAggregator::Map* DropAggregator::MapOf(uint8_t level) {
  switch (static_cast<Aggregation>(level)) {
    case Aggregation::kExact:
      return &exact_;
    case Aggregation::kFolded:
    case Aggregation::kPair:
      return &folded_;
    case Aggregation::kOverflow:
      return &overflow_;
  }
  return &overflow_;
}

DropAggregator::Key DropAggregator::GroupOf(Key k) {
  k.sport = 0;
  k.level = static_cast<uint8_t>(Aggregation::kFolded);
  return k;
}

DropAggregator::Open& DropAggregator::AddTo(Map* map, const Key& key, Aggregation level, const DropObservation& d,
                                            int64_t now) {
  auto [it, inserted] = map->try_emplace(key);
  Open& o = it->second;
  DropAggregate& a = o.agg;
  if (inserted) {
    o.closes_ns = now + options_.window_ns;
    order_.emplace_back(key, o.closes_ns);
    ++generations_[d.generation];
    a.aggregation = level;
    a.src = key.src;
    a.dst = key.dst;
    a.proto = key.proto;
    a.sport = key.sport;
    a.dport = key.dport;
    a.has_ports = key.has_ports;
    a.reason = d.reason;
    a.direction = key.direction;
    a.generation = d.generation;
    a.first_ns = d.time_ns;
    a.last_ns = d.time_ns;
    a.ifindex = d.ifindex;
    a.hook = d.hook;
    a.tuples = level == Aggregation::kExact ? 1 : 0;
    a.rule_table = d.rule_table;
    a.rule = d.rule;
    a.audit = d.audit;
    a.audited = d.audited;
  }
  if (a.rule != d.rule || a.rule_table != d.rule_table) a.rule = DropObservation::kNoRule;
  if (a.audited != d.audited) a.audited_mixed = true;
  a.count += 1;
  a.bytes += d.bytes;
  if (d.time_ns < a.first_ns) a.first_ns = d.time_ns;
  if (d.time_ns > a.last_ns) a.last_ns = d.time_ns;
  return o;
}

void DropAggregator::Add(const DropObservation& d) {
  const int64_t now = clock_();
  ++stats_.drops;
  Key k{d.src,
        d.dst,
        d.proto,
        d.has_ports,
        d.has_ports ? d.sport : uint16_t{0},
        d.has_ports ? d.dport : uint16_t{0},
        d.direction,
        static_cast<uint8_t>(Aggregation::kExact),
        d.reason,
        d.generation,
        d.audit};
  if (exact_.contains(k)) {
    AddTo(&exact_, k, Aggregation::kExact, d, now);
    return;
  }
  const Key group = GroupOf(k);
  uint32_t& open_tuples = group_tuples_[group];
  if (open_tuples < options_.max_tuples_per_group && exact_.size() < options_.max_exact) {
    ++open_tuples;
    AddTo(&exact_, k, Aggregation::kExact, d, now);
    return;
  }
  if (open_tuples == 0) group_tuples_.erase(group);
  if (folded_.size() < options_.max_folded || folded_.contains(group)) {
    ++stats_.folded;
    Open& o = AddTo(&folded_, group, Aggregation::kFolded, d, now);
    if (!o.sports) o.sports = std::make_unique<PortBitmap>();
    uint64_t& word = (*o.sports)[k.sport / 64];
    const uint64_t bit = uint64_t{1} << (k.sport % 64);
    if (!(word & bit)) {
      word |= bit;
      ++o.agg.tuples;
    }
    return;
  }
  // One per (proto, reason, direction): bounded by the protocols and the few reasons there are.
  k.src = IpAddr{};
  k.dst = IpAddr{};
  k.sport = 0;
  k.dport = 0;
  k.has_ports = false;
  k.generation = 0;
  k.level = static_cast<uint8_t>(Aggregation::kOverflow);
  ++stats_.overflowed;
  Open& o = AddTo(&overflow_, k, Aggregation::kOverflow, d, now);
  o.agg.tuples = 0;  // not known
}

void DropAggregator::Close(const Key& key, int64_t closes, std::vector<DropAggregate>* out) {
  Map* map = MapOf(key.level);
  auto it = map->find(key);
  if (it == map->end() || it->second.closes_ns != closes) return;
  if (key.level == static_cast<uint8_t>(Aggregation::kExact)) {
    auto g = group_tuples_.find(GroupOf(key));
    if (g != group_tuples_.end() && --g->second == 0) group_tuples_.erase(g);
  }
  auto gen = generations_.find(it->second.agg.generation);
  if (gen != generations_.end() && --gen->second == 0) generations_.erase(gen);
  out->push_back(std::move(it->second.agg));
  map->erase(it);
}

std::vector<DropAggregate> DropAggregator::Poll() {
  const int64_t now = clock_();
  std::vector<DropAggregate> out;
  while (!order_.empty() && order_.front().second <= now) {
    Close(order_.front().first, order_.front().second, &out);
    order_.pop_front();
  }
  stats_.records += out.size();
  return out;
}

std::vector<DropAggregate> DropAggregator::FlushAll() {
  std::vector<DropAggregate> out;
  for (auto& [k, closes] : order_) Close(k, closes, &out);
  order_.clear();
  stats_.records += out.size();
  return out;
}

FlowRecord DropAggregate::ToRecord(int64_t time_ns) const {
  FlowRecord r;
  r.event = EventKind::kDrop;
  r.time_ns = time_ns;
  r.verdict = Verdict::kDenied;
  if (audit) {
    // Dropped all the same: packets and bytes are the dropped ones. The caller names what
    // would have allowed it (audit_reason, audit_policies).
    r.verdict = Verdict::kAudit;
    r.enforced = Verdict::kDenied;
    r.audited = Verdict::kAllowed;
  }
  r.direction = direction;
  r.reason = reason;
  r.proto = proto;
  r.aggregation = aggregation;
  if (aggregation != Aggregation::kOverflow) {
    r.src.ip = src;
    r.dst.ip = dst;
    if (has_ports) r.dst.port = dport;
  }
  if (aggregation == Aggregation::kExact) {
    if (has_ports) r.src.port = sport;
    r.community_id = CommunityId(src, dst, proto, sport, dport);
  } else {
    r.folded_tuples = tuples;
  }
  r.packets = count;
  r.bytes = bytes;
  r.count = count;
  r.generation = generation;
  r.first_time_ns = first_ns;
  r.last_time_ns = last_ns;
  r.ifindex = ifindex;
  return r;
}

}  // namespace netfence::flowlog
