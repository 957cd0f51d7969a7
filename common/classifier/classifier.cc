// SPDX-License-Identifier: Apache-2.0
#include "common/classifier/classifier.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/tables/validate.h"
#include "common/tables/wire.h"

namespace netfence::classifier {

namespace {

__extension__ typedef unsigned __int128 u128;

using tables::kEmptyRow;
using tables::kFirstPodIdentity;
constexpr uint32_t kNoEndpoint = 0xFFFFFFFFu;
constexpr uint32_t kNoBit = 0xFFFFFFFFu;

u128 ToU128(const IpAddr& a) { return (u128{a.hi()} << 64) | a.lo(); }

int PortSlot(uint8_t proto) {
  switch (proto) {
    case 6:
      return 0;
    case 17:
      return 1;
    case 132:
      return 2;
    default:
      return -1;
  }
}

u128 PrefixLast(u128 addr, uint32_t len) {
  if (len == 0) return ~u128{0};
  if (len >= 128) return addr;
  return addr | ((u128{1} << (128 - len)) - 1);
}

}  // namespace

// The lookup structures built from the tables once, at load.
struct Classifier::Impl {
  // IP -> (identity, endpoint): open addressing, linear probing, power-of-two size.
  struct IpSlot {
    u128 ip = 0;
    uint32_t identity = 0;
    uint32_t endpoint = kNoEndpoint;
    bool used = false;
  };
  std::vector<IpSlot> ip_slots;
  uint64_t ip_mask = 0;

  struct PortIndex {
    std::vector<uint16_t> first, last;
    std::vector<uint32_t> row;
  };
  // One direction of one table, flattened for lookup.
  struct Dir {
    bool isolated = false;
    bool audit_isolated = false;       // isolated when policies in audit count too
    bool tiered = false;               // has rule_flags (cluster policy bits, or bits in audit)
    bool audit = false;                // some policy in audit: the audited decision may differ
    std::vector<uint64_t> audit_bits;  // rule bits of policies in audit (row_words), when any
    uint32_t np_first = 0;             // first NetworkPolicy bit
    uint32_t bl_first = 0;             // first Baseline bit
    std::vector<uint8_t> actions;      // per rule bit (tables::kRule*), when tiered
    uint32_t summary_words = 0;
    uint32_t row_words = 0;
    uint32_t all_pods_row = kEmptyRow;
    uint32_t other_row = kEmptyRow;
    std::vector<uint32_t> id_keys, id_rows;  // sorted by identity
    std::vector<u128> cidr_starts;           // disjoint address intervals covering the prefixes
    std::vector<uint32_t> cidr_rows;
    PortIndex ports[3];  // TCP, UDP, SCTP
  };
  std::vector<Dir> dirs;        // per table
  std::vector<uint64_t> zeros;  // an all-zero row as wide as the widest table's
  const uint64_t* words = nullptr;

  static size_t Hash(u128 ip) {
    uint64_t h =
        static_cast<uint64_t>(ip) * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(ip >> 64) * 0xC2B2AE3D27D4EB4Full;
    return static_cast<size_t>(h ^ (h >> 29));
  }
  const IpSlot* FindIp(u128 ip) const {
    if (ip_slots.empty()) return nullptr;
    for (size_t i = Hash(ip) & ip_mask;; i = (i + 1) & ip_mask) {
      const IpSlot& s = ip_slots[i];
      if (!s.used) return nullptr;
      if (s.ip == ip) return &s;
    }
  }
  const uint64_t* Row(uint32_t row) const { return row == kEmptyRow ? zeros.data() : words + row; }

  struct Rows {
    const uint64_t* identity;
    const uint64_t* cidr;
    const uint64_t* port;
  };
  bool Lookup(const Dir& d, const IpAddr& peer, uint8_t proto, uint16_t dport, Rows* r) const;
  // The lowest bit at or after `start` set in the AND of the rows and not in `skip` (a
  // bitmap of row_words words, or nullptr), or kNoBit.
  static uint32_t LowestFrom(const Dir& d, const Rows& r, uint32_t start, const uint64_t* skip);
  // The first search without `skip` over some rows: from `start`, its answer (kNoBit: none).
  struct Memo {
    bool valid = false;
    uint32_t start = 0;
    uint32_t bit = kNoBit;
  };
  // LowestFrom, remembering unmasked answers in `memo` and starting masked searches from them:
  // the masked answer is never below the unmasked one, and is it unless that bit is skipped.
  static uint32_t Search(const Dir& d, const Rows& r, uint32_t start, const uint64_t* skip, Memo* memo);
  // One decision over the rows (`any`: some row may be non-empty), the bits in `skip` left
  // out, with the isolation given.
  static DirectionDecision Decide(const Dir& d, const Rows& r, bool any, const uint64_t* skip, bool isolated,
                                  Memo* memo);
};

namespace {

// Disjoint intervals from nested prefixes sorted by (address, length): each interval
// carries the row of the longest prefix covering it (kEmptyRow in the gaps).
void BuildIntervals(const v1::DirectionTable& dt, Classifier::Impl::Dir* d) {
  struct Open {
    u128 last;
    uint32_t row;
  };
  std::vector<Open> stack;
  u128 cursor = 0;
  bool done = false;  // cursor ran past the end of the address space
  auto emit = [&](u128 start, uint32_t row) {
    if (!d->cidr_rows.empty() && d->cidr_rows.back() == row) return;
    d->cidr_starts.push_back(start);
    d->cidr_rows.push_back(row);
  };
  auto close_top = [&]() {
    const Open top = stack.back();
    stack.pop_back();
    if (!done && cursor <= top.last) emit(cursor, top.row);
    if (top.last == ~u128{0}) {
      done = true;
    } else if (!done && cursor <= top.last) {
      cursor = top.last + 1;
    }
  };
  for (int i = 0; i < dt.cidr_lengths_size(); ++i) {
    IpAddr a;
    std::memcpy(a.bytes.data(), dt.cidr_addrs().data() + 16 * i, 16);
    u128 start = ToU128(a);
    while (!stack.empty() && stack.back().last < start) close_top();
    if (!done && cursor < start) emit(cursor, stack.empty() ? kEmptyRow : stack.back().row);
    cursor = start;
    done = false;
    stack.push_back({PrefixLast(start, dt.cidr_lengths(i)), dt.cidr_rows(i)});
  }
  while (!stack.empty()) close_top();
  if (!done) emit(cursor, kEmptyRow);
}

// The tiers of a table (validated by tables::ValidateRuleTables: one action per bit, of the
// bit's tier).
void LoadTiers(const v1::DirectionTable& dt, Classifier::Impl::Dir* d) {
  // Tables of an earlier compiler leave audit_isolated false: isolated stands for both.
  d->audit_isolated = dt.audit_isolated() || dt.isolated();
  d->audit = d->audit_isolated != dt.isolated();
  if (dt.rule_flags_size() == 0) return;
  d->tiered = true;
  d->np_first = dt.np_first_bit();
  d->bl_first = dt.baseline_first_bit();
  d->actions.resize(dt.rule_count());
  for (uint32_t b = 0; b < dt.rule_count(); ++b) {
    const uint32_t flags = dt.rule_flags(static_cast<int>(b));
    d->actions[b] = static_cast<uint8_t>(flags & tables::kRuleActionMask);
    if (flags & tables::kRuleAudit) {
      if (d->audit_bits.empty()) d->audit_bits.assign(dt.row_words(), 0);
      d->audit_bits[b / 64] |= uint64_t{1} << (b % 64);
    }
  }
  d->audit |= !d->audit_bits.empty();
}

}  // namespace

Classifier::Classifier(std::shared_ptr<const v1::RuleTables> tables) : tables_(std::move(tables)) {}

StatusOr<std::shared_ptr<const Classifier>> Classifier::Load(std::shared_ptr<const v1::RuleTables> tables) {
  // The one check every reader of tables runs first (common/tables/validate.h).
  if (Status bad = tables::ValidateRuleTables(*tables); !bad.ok()) return bad;
  auto impl = std::make_shared<Impl>();
  const auto& t = *tables;
  impl->words = t.words().data();
  // Everything below indexes what ValidateRuleTables() checked: no check is repeated here.
  size_t nips = static_cast<size_t>(t.ipcache_identities_size());
  for (const auto& ep : t.endpoints()) nips += static_cast<size_t>(ep.ips_size());
  size_t cap = 16;
  while (cap < nips * 2 + 2) cap *= 2;
  impl->ip_slots.resize(cap);
  impl->ip_mask = cap - 1;
  auto insert = [&](const char* bytes, uint32_t identity, uint32_t endpoint) -> Impl::IpSlot* {
    IpAddr a;
    std::memcpy(a.bytes.data(), bytes, 16);
    u128 ip = ToU128(a);
    for (size_t i = Impl::Hash(ip) & impl->ip_mask;; i = (i + 1) & impl->ip_mask) {
      auto& s = impl->ip_slots[i];
      if (!s.used) {
        s = {ip, identity, endpoint, true};
        return &s;
      }
      if (s.ip == ip) return &s;
    }
  };
  for (int i = 0; i < t.ipcache_identities_size(); ++i) {
    insert(t.ipcache_addrs().data() + 16 * i, t.ipcache_identities(i), kNoEndpoint);
  }
  for (int e = 0; e < t.endpoints_size(); ++e) {
    for (const auto& ip : t.endpoints(e).ips()) {
      Impl::IpSlot* s = insert(ip.data(), t.endpoints(e).identity(), static_cast<uint32_t>(e));
      if (s->endpoint == kNoEndpoint) s->endpoint = static_cast<uint32_t>(e);
    }
  }

  uint32_t widest = 0;
  for (const v1::DirectionTable& dt : t.tables()) {
    Impl::Dir d;
    d.isolated = dt.isolated();
    d.summary_words = dt.summary_words();
    d.row_words = dt.row_words();
    widest = std::max(widest, d.summary_words + d.row_words);
    d.all_pods_row = dt.all_pods_row();
    d.other_row = dt.other_protocols_row();
    d.id_keys.assign(dt.identity_ids().begin(), dt.identity_ids().end());
    d.id_rows.assign(dt.identity_rows().begin(), dt.identity_rows().end());
    for (int i = 0; i < dt.port_rows_size(); ++i) {
      auto& pi = d.ports[PortSlot(static_cast<uint8_t>(dt.port_protocols(i)))];
      pi.first.push_back(static_cast<uint16_t>(dt.port_firsts(i)));
      pi.last.push_back(static_cast<uint16_t>(dt.port_lasts(i)));
      pi.row.push_back(dt.port_rows(i));
    }
    LoadTiers(dt, &d);
    BuildIntervals(dt, &d);
    impl->dirs.push_back(std::move(d));
  }
  impl->zeros.assign(widest, 0);
  std::shared_ptr<Classifier> c(new Classifier(std::move(tables)));
  c->impl_ = std::move(impl);
  return std::shared_ptr<const Classifier>(std::move(c));
}

std::optional<uint32_t> Classifier::EndpointOf(const IpAddr& ip) const {
  const auto* s = impl_->FindIp(ToU128(ip));
  if (!s || s->endpoint == kNoEndpoint) return std::nullopt;
  return s->endpoint;
}

uint32_t Classifier::IdentityOf(const IpAddr& ip) const {
  const auto* s = impl_->FindIp(ToU128(ip));
  return s ? s->identity : 0;
}

// The three rows a lookup ANDs: identity row OR CIDR row, AND port row. Returns false when
// the AND is empty without looking at a word (no port entry, or no peer entry).
bool Classifier::Impl::Lookup(const Dir& d, const IpAddr& peer, uint8_t proto, uint16_t dport, Rows* r) const {
  // Port dimension.
  uint32_t port_row = d.other_row;
  if (int slot = PortSlot(proto); slot >= 0) {
    const auto& pi = d.ports[slot];
    auto it = std::upper_bound(pi.first.begin(), pi.first.end(), dport);
    port_row = kEmptyRow;
    if (it != pi.first.begin()) {
      size_t i = static_cast<size_t>(it - pi.first.begin()) - 1;
      if (dport <= pi.last[i]) port_row = pi.row[i];
    }
  }
  if (port_row == kEmptyRow) return false;

  // Peer dimension: the identity row (pods only) and the longest-prefix CIDR row.
  uint32_t id_row = kEmptyRow;
  const u128 ip = ToU128(peer);
  const IpSlot* slot = FindIp(ip);
  uint32_t identity = slot ? slot->identity : 0;
  if (identity >= kFirstPodIdentity) {
    auto it = std::lower_bound(d.id_keys.begin(), d.id_keys.end(), identity);
    id_row = (it != d.id_keys.end() && *it == identity) ? d.id_rows[it - d.id_keys.begin()] : d.all_pods_row;
  }
  uint32_t cidr_row = kEmptyRow;
  if (!d.cidr_starts.empty()) {
    auto it = std::upper_bound(d.cidr_starts.begin(), d.cidr_starts.end(), ip);
    if (it != d.cidr_starts.begin()) cidr_row = d.cidr_rows[it - d.cidr_starts.begin() - 1];
  }
  if (id_row == kEmptyRow && cidr_row == kEmptyRow) return false;
  r->identity = Row(id_row);
  r->cidr = Row(cidr_row);
  r->port = Row(port_row);
  return true;
}

uint32_t Classifier::Impl::LowestFrom(const Dir& d, const Rows& r, uint32_t start, const uint64_t* skip) {
  const uint32_t S = d.summary_words;
  const uint32_t first_word = start / 64;
  for (uint32_t j = first_word / 64; j < S; ++j) {
    uint64_t s = (r.identity[j] | r.cidr[j]) & r.port[j];
    if (j == first_word / 64) s &= ~uint64_t{0} << (first_word % 64);
    while (s) {
      const uint32_t w = 64 * j + static_cast<uint32_t>(std::countr_zero(s));
      uint64_t v = (r.identity[S + w] | r.cidr[S + w]) & r.port[S + w];
      if (w == first_word) v &= ~uint64_t{0} << (start % 64);
      if (skip) v &= ~skip[w];
      if (v) return 64 * w + static_cast<uint32_t>(std::countr_zero(v));
      s &= s - 1;
    }
  }
  return kNoBit;
}

uint32_t Classifier::Impl::Search(const Dir& d, const Rows& r, uint32_t start, const uint64_t* skip, Memo* memo) {
  if (skip && memo->valid && memo->start <= start) {
    if (memo->bit == kNoBit) return kNoBit;
    if (memo->bit >= start) {
      if (!((skip[memo->bit / 64] >> (memo->bit % 64)) & 1)) return memo->bit;
      start = memo->bit + 1;
    }
  }
  const uint32_t bit = LowestFrom(d, r, start, skip);
  if (!skip && (!memo->valid || start <= memo->start)) *memo = {true, start, bit};
  return bit;
}

DirectionDecision Classifier::Impl::Decide(const Dir& d, const Rows& r, bool any, const uint64_t* skip, bool isolated,
                                           Memo* memo) {
  DirectionDecision out;
  // The AND of the dimensions, guided by the summaries: its lowest set bit.
  uint32_t bit = any ? Search(d, r, 0, skip, memo) : kNoBit;
  if (!d.tiered) {
    if (!isolated) return out;
    out.outcome = bit == kNoBit ? Outcome::kDenied : Outcome::kAllowed;
    out.rule_bit = bit == kNoBit ? 0 : bit;
    return out;
  }
  auto decide = [&](uint32_t b) {
    out.rule_bit = b;
    switch (d.actions[b]) {
      case tables::kRuleDeny:
        out.outcome = Outcome::kDeniedByRule;
        return true;
      case tables::kRulePass:
        return false;
      default:  // accept (or a NetworkPolicy allow)
        out.outcome = Outcome::kAllowed;
        return true;
    }
  };
  // Admin tier: the lowest bit decides; Pass continues at the NetworkPolicy tier.
  if (bit < d.np_first) {
    if (decide(bit)) return out;
    bit = Search(d, r, d.np_first, skip, memo);
  }
  // NetworkPolicy tier: a bit allows; isolation without one denies.
  if (bit < d.bl_first) {
    out.outcome = Outcome::kAllowed;
    out.rule_bit = bit;
    return out;
  }
  out.rule_bit = 0;
  if (isolated) {
    out.outcome = Outcome::kDenied;
    return out;
  }
  // Baseline tier: the lowest bit decides; Pass (or no bit) leaves the default: allowed.
  if (bit != kNoBit && decide(bit)) return out;
  out.outcome = Outcome::kNotIsolated;
  out.rule_bit = 0;
  return out;
}

DirectionDecision Classifier::Match(uint32_t table, const IpAddr& peer, uint8_t proto, uint16_t dport,
                                    DirectionDecision* audited) const {
  return FinishMatch(PrepareMatch(table, peer, proto, dport), audited);
}

Classifier::PreparedMatch Classifier::PrepareMatch(uint32_t table, const IpAddr& peer, uint8_t proto,
                                                   uint16_t dport) const {
  const Impl& im = *impl_;
  const Impl::Dir& d = im.dirs[table];
  PreparedMatch p;
  p.table = table;
  p.applies = d.isolated || d.audit_isolated || d.tiered;
  if (!p.applies) return p;
  Impl::Rows r;
  p.any = im.Lookup(d, peer, proto, dport, &r);
  p.rows[0] = r.identity;
  p.rows[1] = r.cidr;
  p.rows[2] = r.port;
  if (p.any) {
    for (const uint64_t* row : p.rows) {
      for (uint32_t j = 0; j < d.summary_words; j += 8) __builtin_prefetch(row + j);
    }
  }
  return p;
}

void Classifier::PrefetchFirstCandidate(const PreparedMatch& p) const {
  if (!p.applies || !p.any) return;
  const uint32_t S = impl_->dirs[p.table].summary_words;
  const uint64_t *id = p.rows[0], *cidr = p.rows[1], *port = p.rows[2];
  for (uint32_t j = 0; j < S; ++j) {
    const uint64_t s = (id[j] | cidr[j]) & port[j];
    if (s == 0) continue;
    const uint32_t w = S + 64 * j + static_cast<uint32_t>(std::countr_zero(s));
    __builtin_prefetch(id + w);
    __builtin_prefetch(cidr + w);
    __builtin_prefetch(port + w);
    return;
  }
}

DirectionDecision Classifier::FinishMatch(const PreparedMatch& p, DirectionDecision* audited) const {
  if (!p.applies) {
    if (audited) *audited = {};
    return {};
  }
  const Impl::Dir& d = impl_->dirs[p.table];
  Impl::Rows r{p.rows[0], p.rows[1], p.rows[2]};
  const uint64_t* skip = d.audit_bits.empty() ? nullptr : d.audit_bits.data();
  // With a policy in audit, the audited decision first: the enforced one's searches start from
  // its answers (Search), so the two cost one AND and at most the rest of a second.
  Impl::Memo memo;
  const bool both = audited && d.audit;
  if (both) *audited = Impl::Decide(d, r, p.any, nullptr, d.audit_isolated, &memo);
  DirectionDecision out = Impl::Decide(d, r, p.any, skip, d.isolated, &memo);
  out.table = p.table;
  if (audited) {
    if (!both) *audited = out;
    audited->table = p.table;
  }
  return out;
}

std::vector<uint32_t> Classifier::MatchingRules(uint32_t table, const IpAddr& peer, uint8_t proto,
                                                uint16_t dport) const {
  std::vector<uint32_t> out;
  const Impl& im = *impl_;
  const Impl::Dir& d = im.dirs[table];
  Impl::Rows r;
  if ((!d.isolated && !d.audit_isolated && !d.tiered) || !im.Lookup(d, peer, proto, dport, &r)) return out;
  const uint32_t S = d.summary_words;
  for (uint32_t w = 0; w < d.row_words; ++w) {
    for (uint64_t v = (r.identity[S + w] | r.cidr[S + w]) & r.port[S + w]; v; v &= v - 1) {
      out.push_back(64 * w + static_cast<uint32_t>(std::countr_zero(v)));
    }
  }
  return out;
}

Decision Classifier::Classify(const FlowKey& key) const {
  Decision d;
  const auto* src = impl_->FindIp(ToU128(key.src));
  const auto* dst = impl_->FindIp(ToU128(key.dst));
  const auto& eps = tables_->endpoints();
  if (src && src->endpoint != kNoEndpoint) {
    d.egress = Match(eps[src->endpoint].egress_table(), key.dst, key.proto, key.dport, &d.audit_egress);
  }
  if (dst && dst->endpoint != kNoEndpoint) {
    d.ingress = Match(eps[dst->endpoint].ingress_table(), key.src, key.proto, key.dport, &d.audit_ingress);
  }
  return d;
}

}  // namespace netfence::classifier
