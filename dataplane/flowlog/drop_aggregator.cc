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
  h = Mix(h, (uint64_t{k.proto} << 32) | (uint64_t{k.dport} << 8) | (uint64_t{k.has_ports} << 4) |
                 (uint64_t(k.direction) << 2) | k.level);
  h = Mix(h, std::hash<std::string_view>{}(k.reason));
  h = Mix(h, k.generation);
  return static_cast<size_t>(h);
}

DropAggregator::DropAggregator(Options options, Clock clock) : options_(options), clock_(std::move(clock)) {}

DropAggregator::Map* DropAggregator::MapOf(uint8_t level) {
  switch (static_cast<Aggregation>(level)) {
    case Aggregation::kExact:
      return &exact_;
    case Aggregation::kPair:
      return &pair_;
    case Aggregation::kOverflow:
      return &overflow_;
  }
  return &overflow_;
}

void DropAggregator::AddTo(Map* map, const Key& key, Aggregation level, const DropObservation& d, int64_t now) {
  auto [it, inserted] = map->try_emplace(key);
  Open& o = it->second;
  DropAggregate& a = o.agg;
  if (inserted) {
    o.closes_ns = now + options_.window_ns;
    order_.emplace_back(key, o.closes_ns);
    a.aggregation = level;
    a.src = key.src;
    a.dst = key.dst;
    a.proto = key.proto;
    a.dport = key.dport;
    a.has_ports = key.has_ports;
    a.reason = d.reason;
    a.direction = key.direction;
    a.generation = d.generation;
    a.first_ns = d.time_ns;
    a.last_ns = d.time_ns;
    a.sport = d.sport;
    a.single_sport = d.has_ports && level == Aggregation::kExact;
    a.ifindex = d.ifindex;
    a.rule_table = d.rule_table;
    a.rule = d.rule;
  }
  if (a.rule != d.rule || a.rule_table != d.rule_table) a.rule = DropObservation::kNoRule;
  a.count += 1;
  a.bytes += d.bytes;
  if (d.time_ns < a.first_ns) a.first_ns = d.time_ns;
  if (d.time_ns > a.last_ns) a.last_ns = d.time_ns;
  if (a.single_sport && d.sport != a.sport) a.single_sport = false;
}

void DropAggregator::Add(const DropObservation& d) {
  const int64_t now = clock_();
  ++stats_.drops;
  Key k{d.src,
        d.dst,
        d.proto,
        d.has_ports,
        d.has_ports ? d.dport : uint16_t{0},
        d.direction,
        static_cast<uint8_t>(Aggregation::kExact),
        d.reason,
        d.generation};
  if (exact_.size() < options_.max_exact || exact_.count(k)) {
    AddTo(&exact_, k, Aggregation::kExact, d, now);
    return;
  }
  k.has_ports = false;
  k.dport = 0;
  k.level = static_cast<uint8_t>(Aggregation::kPair);
  if (pair_.size() < options_.max_pair || pair_.count(k)) {
    ++stats_.folded_pair;
    AddTo(&pair_, k, Aggregation::kPair, d, now);
    return;
  }
  // One per (reason, direction): bounded by the few reasons there are.
  k.src = IpAddr{};
  k.dst = IpAddr{};
  k.generation = 0;
  k.level = static_cast<uint8_t>(Aggregation::kOverflow);
  ++stats_.folded_overflow;
  AddTo(&overflow_, k, Aggregation::kOverflow, d, now);
}

std::vector<DropAggregate> DropAggregator::Poll() {
  const int64_t now = clock_();
  std::vector<DropAggregate> out;
  while (!order_.empty() && order_.front().second <= now) {
    const Key& k = order_.front().first;
    Map* map = MapOf(k.level);
    auto it = map->find(k);
    if (it != map->end() && it->second.closes_ns == order_.front().second) {
      out.push_back(std::move(it->second.agg));
      map->erase(it);
    }
    order_.pop_front();
  }
  stats_.records += out.size();
  return out;
}

std::vector<DropAggregate> DropAggregator::FlushAll() {
  std::vector<DropAggregate> out;
  for (auto& [k, closes] : order_) {
    Map* map = MapOf(k.level);
    auto it = map->find(k);
    if (it != map->end() && it->second.closes_ns == closes) {
      out.push_back(std::move(it->second.agg));
      map->erase(it);
    }
  }
  order_.clear();
  stats_.records += out.size();
  return out;
}

FlowRecord DropAggregate::ToRecord(int64_t time_ns) const {
  FlowRecord r;
  r.event = EventKind::kDrop;
  r.time_ns = time_ns;
  r.verdict = Verdict::kDenied;
  r.direction = direction;
  r.reason = reason;
  r.proto = proto;
  r.aggregation = aggregation;
  if (aggregation != Aggregation::kOverflow) {
    r.src.ip = src;
    r.dst.ip = dst;
  }
  if (aggregation == Aggregation::kExact && has_ports) {
    r.dst.port = dport;
    if (single_sport) r.src.port = sport;
  }
  if (aggregation == Aggregation::kExact && (single_sport || !has_ports)) {
    r.community_id = CommunityId(src, dst, proto, sport, dport);
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
