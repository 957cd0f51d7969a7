// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/decider.h"

#include <time.h>

#include <cstring>

namespace netfence::dpdk {
namespace {

constexpr uint32_t kIcmp = 1, kTcp = 6, kIcmp6 = 58;
constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

IpAddr Addr(const uint8_t* bytes) {
  IpAddr a;
  std::memcpy(a.bytes.data(), bytes, 16);
  return a;
}

uint32_t RuleOrNone(uint32_t outcome, uint32_t rule) { return outcome == NF_ALLOWED ? rule : NF_NO_RULE; }

void Admit(nf_ct_entry* e, const nf_verdict& v, uint32_t epoch) {
  e->epoch = epoch;
  e->egress_rule = RuleOrNone(v.egress_outcome, v.egress_rule);
  e->ingress_rule = RuleOrNone(v.ingress_outcome, v.ingress_rule);
  e->egress_table = v.egress_table;
  e->ingress_table = v.ingress_table;
}

// nf_ct_usable(): not expired, and not a closed TCP connection a fresh SYN reopens. A worker
// may have stamped the entry a moment after this burst's clock was read: that is not expiry.
bool Usable(const nf_ct_entry& e, const nf_dp_flow& f, uint64_t now) {
  const uint64_t idle = now > e.last_seen_ns ? now - e.last_seen_ns : 0;
  if (idle > ConntrackTimeout(e, static_cast<uint8_t>(f.proto))) return false;
  if (f.proto == kTcp && (e.flags & NF_CT_CLOSED) && (f.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn) return false;
  return true;
}

// nf_link_housekeeping(): ICMPv6 a pod sends from a link-local or the unspecified address to a
// link-scope group (router solicitation, listener reports, duplicate address detection).
bool LinkHousekeeping(const nf_dp_flow& f) {
  if (f.proto != kIcmp6 || f.icmp_kind != NF_DP_ICMP_NDP) return false;
  uint32_t s[4];
  std::memcpy(s, f.src, 16);
  const bool unspecified = (s[0] | s[1] | s[2] | s[3]) == 0;
  const bool link_local = f.src[0] == 0xfe && (f.src[1] & 0xc0) == 0x80;
  if (f.dst[0] != 0xff || (f.dst[1] & 0x0f) != 0x02) return false;
  switch (f.icmp_type) {
    case 133:  // router solicitation
    case 131:  // MLDv1 report
    case 132:  // MLDv1 done
    case 143:  // MLDv2 report
      return link_local || unspecified;
    case 135:  // neighbour solicitation: duplicate address detection only
      return unspecified;
    default:
      return false;
  }
}

// nf_pod_spoofs(): a source address not the pod's (but for link housekeeping), or a neighbour
// advertisement whose target (inner_src, as the parser keeps it) is not the pod's.
bool PodSpoofs(const PortPolicy& port, const nf_dp_flow& f) {
  if (!port.Owns(f.src) && !LinkHousekeeping(f)) return true;
  return f.proto == kIcmp6 && f.icmp_kind == NF_DP_ICMP_NDP && f.icmp_type == 136 && !port.Owns(f.inner_src);
}

bool SameAddr(const uint8_t* a, const uint8_t* b) { return std::memcmp(a, b, 16) == 0; }

bool SameQuery(const classifier::BurstQuery& a, const classifier::BurstQuery& b) {
  return a.key.src == b.key.src && a.key.dst == b.key.dst && a.key.proto == b.key.proto && a.key.dport == b.key.dport &&
         a.from_uplink == b.from_uplink;
}

}  // namespace

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t MonotonicCoarseNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int ConntrackKeyOf(const uint8_t* src, uint16_t sport, const uint8_t* dst, uint16_t dport, uint8_t proto,
                   nf_ct_key* k) {
  // nf_endpoint_cmp(): the addresses as four native-endian 32-bit words, then the ports.
  int cmp = 0;
  for (int i = 0; i < 16 && cmp == 0; i += 4) {
    uint32_t x, y;
    std::memcpy(&x, src + i, 4);
    std::memcpy(&y, dst + i, 4);
    if (x != y) cmp = x < y ? -1 : 1;
  }
  if (cmp == 0 && sport != dport) cmp = sport < dport ? -1 : 1;
  const int sender_b = cmp > 0;
  std::memcpy(k->addr_a, sender_b ? dst : src, 16);
  std::memcpy(k->addr_b, sender_b ? src : dst, 16);
  k->port_a = sender_b ? dport : sport;
  k->port_b = sender_b ? sport : dport;
  k->proto = proto;
  k->pad[0] = k->pad[1] = k->pad[2] = 0;
  return sender_b;
}

uint64_t ConntrackTimeout(const nf_ct_entry& e, uint8_t proto) {
  if (proto != kTcp) return NF_CT_TIMEOUT_OTHER;
  if (e.flags & NF_CT_CLOSED) return NF_CT_TIMEOUT_TCP_CLOSE;
  if (!(e.flags & NF_CT_SEEN_REPLY)) return NF_CT_TIMEOUT_TCP_SYN;
  return NF_CT_TIMEOUT_TCP_EST;
}

Decider::Decider(Conntrack* conntrack, Fragments* fragments, EventRing* events, WorkerStats* stats,
                 DeciderOptions options)
    : conntrack_(conntrack), fragments_(fragments), events_(events), stats_(stats), options_(options),
      cache_(options.verdict_cache) {}

void Decider::Answer(const Tables& t, const classifier::BurstQuery* queries, uint32_t n,
                     classifier::BurstAnswer* answers) {
  if (!cache_.enabled()) {
    classifier::ClassifyBurst(*t.classifier, {queries, n}, {answers, n});
    return;
  }
  uint32_t misses = 0, index[kMaxBurst];
  for (uint32_t i = 0; i < n; ++i) {
    if (cache_.Find(t.epoch, queries[i], &answers[i])) {
      stats_->Count(NF_CNT_VERDICT_HIT);
      continue;
    }
    miss_queries_[misses] = queries[i];
    index[misses++] = i;
  }
  if (misses == 0) return;
  classifier::ClassifyBurst(*t.classifier, {miss_queries_, misses}, {miss_answers_, misses});
  for (uint32_t j = 0; j < misses; ++j) {
    answers[index[j]] = miss_answers_[j];
    cache_.Put(t.epoch, miss_queries_[j], miss_answers_[j]);
    stats_->Count(NF_CNT_VERDICT_MISS);
  }
}

nf_frag_key Decider::FragmentKey(const nf_dp_flow& f) {
  nf_frag_key k{};
  std::memcpy(k.src, f.src, 16);
  std::memcpy(k.dst, f.dst, 16);
  k.id = f.frag_id;
  k.proto = f.proto;
  return k;
}

// Everything before the connection lookup, without side effects: parse, and how far the
// packet gets (nf_decide() up to its conntrack lookup).
void Decider::Prepare(const Snapshot& s, const PortPolicy& port, const BurstPacket& p, Ctx& c) {
  // Field by field, not `c = Ctx{}`: the temporary and its copy were a fifth of a conntrack
  // hit's cost. The key is written below for the packets that need one.
  std::memset(&c.f, 0, sizeof(c.f));  // zeroed, as the program's context is (nf_dp_parse)
  std::memset(&c.v, 0, sizeof(c.v));
  c.ifindex = port.ifindex;
  c.port = 0;
  c.bytes = p.len;
  c.parsed = 0;
  c.generation = 0;
  c.epoch = 0;
  c.stage = kDone;
  c.from_uplink = false;
  c.sender_b = 0;
  c.pos = -1;
  c.query = -1;
  const bool has_iface = port.role != PortRole::kNone;
  c.from_pod = port.role == PortRole::kEndpoint;
  c.parse_result = nf_dp_parse(p.data, p.len, &c.f);
  if (c.parse_result == NF_DP_PARSE_NOT_IP) {
    // A pod's port carries IP and ARP only, its ARP for the pod's own IPv4 address or 0.0.0.0.
    c.stage = kNotIp;
    if (c.from_pod) {
      const bool arp = c.f.proto == NF_DP_PROTO_ARP;
      c.f.proto = 0;
      uint32_t spa;
      std::memcpy(&spa, c.f.src + 12, 4);
      if (!arp) {
        c.stage = kNotIpFromPod;
      } else if (spa != 0 && !port.Owns(c.f.src)) {
        c.stage = kSpoofed;
      }
    }
    return;
  }
  if (c.parse_result != NF_DP_PARSE_IP && c.parse_result != NF_DP_PARSE_FRAGMENT) {
    c.stage = kMalformed;
    return;
  }
  c.parsed = 1;
  const bool spoofed = c.from_pod && PodSpoofs(port, c.f);
  const Tables* t = s.tables.get();
  if (t == nullptr) {
    // No tables: fail closed, but for the link's housekeeping (as once they are there).
    c.stage = c.f.icmp_kind == NF_DP_ICMP_NDP && !spoofed ? kNdp : kNoTables;
    return;
  }
  c.generation = t->generation;
  c.epoch = t->epoch;
  if (has_iface) {
    if (spoofed) {
      c.stage = kSpoofed;
      return;
    }
    c.from_uplink = port.role == PortRole::kUplink;
  }
  if (c.parse_result == NF_DP_PARSE_FRAGMENT) {
    c.stage = kFragment;
    return;
  }
  if (c.f.icmp_kind == NF_DP_ICMP_NDP) {
    c.stage = kNdp;
    return;
  }
  c.stage = options_.conntrack ? kConntrack : kClassify;
  c.sender_b = ConntrackKeyOf(c.f.src, c.f.key_sport, c.f.dst, c.f.key_dport, static_cast<uint8_t>(c.f.proto), &c.key);
}

bool Decider::NeedsQuery(const Ctx& c, const Tables& t, classifier::BurstQuery* q) const {
  if (c.stage != kConntrack && c.stage != kClassify) return false;
  if (c.stage == kConntrack && c.pos >= 0) {
    const nf_ct_entry* e = conntrack_->Ready(c.pos);
    // Admitted by the live tables: no question, whether or not the entry is still usable (if
    // not, Finish() finds that and classifies the packet on its own: rare).
    if (e != nullptr && e->epoch == t.epoch) return false;
    if (e != nullptr && Usable(*e, c.f, now_)) {
      // The re-check: the connection as its initiator opened it.
      const int initiator_b = (e->flags & NF_CT_INITIATOR_B) != 0;
      const int dir = c.sender_b != initiator_b;
      q->key.src = Addr(initiator_b ? c.key.addr_b : c.key.addr_a);
      q->key.dst = Addr(initiator_b ? c.key.addr_a : c.key.addr_b);
      q->key.proto = c.key.proto;
      q->key.dport = e->dport;
      q->from_uplink = c.from_uplink && dir == 0;
      return true;
    }
  }
  q->key.src = Addr(c.f.src);
  q->key.dst = Addr(c.f.dst);
  q->key.proto = static_cast<uint8_t>(c.f.proto);
  q->key.dport = static_cast<uint16_t>(c.f.dport);
  q->from_uplink = c.from_uplink;
  return true;
}

void Decider::DecideBurst(const Snapshot& s, uint16_t port, const BurstPacket* packets, uint32_t n, uint8_t* actions,
                          nf_decision* records) {
  if (n > kMaxBurst) n = kMaxBurst;
  now_ = options_.conntrack ? MonotonicCoarseNs() : 0;
  created_ = false;
  const PortPolicy& policy = s.ports[port < kMaxPorts ? port : 0];
  // Stage 1: parse, and the connections to look up.
  const void* keys[kMaxBurst];
  int32_t positions[kMaxBurst];
  uint32_t lookups = 0, index[kMaxBurst];
  for (uint32_t i = 0; i < n; ++i) {
    if (i + 1 < n) __builtin_prefetch(packets[i + 1].data);
    Prepare(s, policy, packets[i], ctx_[i]);
    ctx_[i].port = port < kMaxPorts ? port : 0;
    if (ctx_[i].stage == kConntrack) {
      keys[lookups] = &ctx_[i].key;
      index[lookups++] = i;
    }
  }
  // Stage 2: every connection at once.
  conntrack_->LookupBulk(keys, lookups, positions);
  for (uint32_t j = 0; j < lookups; ++j) conntrack_->Prefetch(positions[j]);
  for (uint32_t j = 0; j < lookups; ++j) ctx_[index[j]].pos = positions[j];
  // Stage 3: every classification the burst needs, at once (pure: no side effect).
  const Tables* t = s.tables.get();
  uint32_t queries = 0;
  if (t != nullptr) {
    for (uint32_t i = 0; i < n; ++i) {
      if (NeedsQuery(ctx_[i], *t, &queries_[queries])) ctx_[i].query = static_cast<int>(queries++);
    }
    Answer(*t, queries_, queries, answers_);
  }
  // Stage 4: each packet in order, with its side effects.
  for (uint32_t i = 0; i < n; ++i) actions[i] = Finish(s, ctx_[i], records ? &records[i] : nullptr);
}

int Decider::Classify(const Snapshot& s, Ctx& c, const classifier::BurstQuery& q) {
  classifier::BurstAnswer one;
  const classifier::BurstAnswer* a = nullptr;
  if (c.query >= 0 && SameQuery(queries_[c.query], q)) {
    a = &answers_[c.query];
  } else {  // the burst changed the connection since the query was made: ask again
    Answer(*s.tables, &q, 1, &one);
    a = &one;
  }
  if (s.guard.Unregistered(q.key.src.bytes.data(), a->src_endpoint) ||
      s.guard.Unregistered(q.key.dst.bytes.data(), a->dst_endpoint)) {
    return 1 + NF_DROP_UNREGISTERED;
  }
  const classifier::Decision& d = a->decision;
  if (a->src_endpoint && !q.from_uplink) {
    c.v.egress_outcome = static_cast<uint32_t>(d.egress.outcome);
    c.v.egress_table = d.egress.table;
    c.v.egress_rule = d.egress.rule_bit;
    c.v.audit_egress_outcome = static_cast<uint32_t>(d.audit_egress.outcome);
    c.v.audit_egress_rule = d.audit_egress.rule_bit;
  }
  if (a->dst_endpoint) {
    c.v.ingress_outcome = static_cast<uint32_t>(d.ingress.outcome);
    c.v.ingress_table = d.ingress.table;
    c.v.ingress_rule = d.ingress.rule_bit;
    c.v.audit_ingress_outcome = static_cast<uint32_t>(d.audit_ingress.outcome);
    c.v.audit_ingress_rule = d.audit_ingress.rule_bit;
  }
  // Traffic follows the enforced outcomes: policies in audit never drop (XDP's nf_denied()).
  auto denied = [](uint32_t outcome) { return outcome == NF_DENIED || outcome == NF_DENIED_BY_RULE; };
  if (denied(c.v.egress_outcome) || denied(c.v.ingress_outcome)) return 1 + NF_DROP_POLICY;
  return 0;
}

uint8_t Decider::Finish(const Snapshot& s, Ctx& c, nf_decision* record) {
  switch (c.stage) {
    case kNotIp:
      stats_->Count(NF_CNT_PASS_NOT_IP);
      Record(record, c, kPass, 0, NF_CNT_PASS_NOT_IP);
      return kPass;
    case kMalformed:
      return Drop(c, static_cast<uint32_t>(c.parse_result), record);
    case kNoTables:
      return Drop(c, NF_DROP_NO_TABLES, record);
    case kNotIpFromPod:
      return Drop(c, NF_DROP_NOT_IP, record);
    case kFragment: {
      // A later fragment follows its first under the programming that allowed it, for
      // NF_FRAG_TIMEOUT_NS at most; a stale entry is deleted.
      const int32_t pos = fragments_->Lookup(FragmentKey(c.f));
      const nf_frag_entry* fe = pos >= 0 ? fragments_->Ready(pos) : nullptr;
      if (fe != nullptr && fe->epoch == c.epoch && MonotonicNs() - fe->first_ns < NF_FRAG_TIMEOUT_NS) {
        return Pass(c, NF_CNT_PASS_FRAGMENT, true, record);
      }
      if (fe != nullptr) fragments_->Kill(pos);
      // IPv4 addresses are v4-mapped; an IPv6 header carrying one was dropped by the parser.
      const bool v4 = c.f.src[10] == 0xff && c.f.src[11] == 0xff && c.f.src[0] == 0;
      return Drop(c, v4 ? NF_DROP_IP4_FRAGMENT : NF_DROP_IP6_FRAGMENT, record);
    }
    case kSpoofed:
      return Drop(c, NF_DROP_SPOOFED, record);
    case kNdp:
      return Pass(c, NF_CNT_PASS_NDP, true, record);
    default:
      break;
  }
  const Tables& t = *s.tables;
  if (c.stage == kConntrack) {
    if (c.f.icmp_kind == NF_DP_ICMP_ERROR && SameAddr(c.f.src, c.f.inner_dst) && SameAddr(c.f.dst, c.f.inner_src)) {
      // An error about a packet of a connection admitted by the live tables follows it, when
      // it travels from that packet's destination back to its source.
      nf_ct_key inner;
      ConntrackKeyOf(c.f.inner_src, c.f.inner_sport, c.f.inner_dst, c.f.inner_dport, c.f.inner_proto, &inner);
      const nf_ct_entry* e = conntrack_->Ready(conntrack_->Lookup(inner));
      if (e != nullptr && e->epoch == t.epoch) return Pass(c, NF_CNT_PASS_RELATED, true, record);
    }
    // An earlier packet of this burst may have created the connection since the bulk lookup.
    if (c.pos < 0 && created_) c.pos = conntrack_->Lookup(c.key);
    nf_ct_entry* e = conntrack_->Ready(c.pos);
    if (e != nullptr && Usable(*e, c.f, now_)) return Established(s, c, c.pos, e, record);
  }
  classifier::BurstQuery q;
  q.key = {Addr(c.f.src), Addr(c.f.dst), static_cast<uint8_t>(c.f.proto), static_cast<uint16_t>(c.f.dport)};
  q.from_uplink = c.from_uplink;
  if (const int denied = Classify(s, c, q)) {
    if (denied - 1 == NF_DROP_POLICY) CountRuleHits(*s.tables, c.v);
    return Drop(c, static_cast<uint32_t>(denied - 1), record);
  }

  // Tracked: TCP, UDP, SCTP, ICMP echo and other protocols (ports 0); not ICMP errors or
  // informational messages, which are classified one by one.
  const bool icmp = c.f.proto == kIcmp || c.f.proto == kIcmp6;
  nf_ct_entry created{};
  const nf_ct_entry* made = nullptr;
  if (options_.conntrack && (!icmp || c.f.icmp_kind == NF_DP_ICMP_ECHO)) {
    // The pod's quota of connections (nf_cfg_ct_pod_quota).
    std::atomic<uint64_t>* held = options_.ct_pod_quota > 0 && c.from_pod && options_.pod_connections != nullptr
                                      ? &options_.pod_connections->held[c.port]
                                      : nullptr;
    if (held != nullptr && held->load(std::memory_order_relaxed) >= options_.ct_pod_quota) {
      return Drop(c, NF_DROP_CT_QUOTA, record);
    }
    if (CreateEntry(c, t.epoch, &created) >= 0) {
      made = &created;
      if (held != nullptr) held->fetch_add(1, std::memory_order_relaxed);
    }
  }
  CountRuleHits(*s.tables, c.v);
  if (options_.events) Emit(c, NF_EV_NEW_FLOW, 0, made);
  return Pass(c, NF_CNT_PASS_NEW, true, record);
}

// nf_count_rule_hits(): the rule of each direction that a rule decided.
void Decider::CountRuleHits(const Tables& t, const nf_verdict& v) {
  const uint32_t outcomes[2] = {v.egress_outcome, v.ingress_outcome};
  const uint32_t tables[2] = {v.egress_table, v.ingress_table};
  const uint32_t rules[2] = {v.egress_rule, v.ingress_rule};
  for (int d = 0; d < 2; ++d) {
    if (outcomes[d] != NF_ALLOWED && outcomes[d] != NF_DENIED_BY_RULE) continue;
    if (tables[d] >= t.rule_keys.size() || rules[d] >= t.rule_keys[tables[d]].size()) continue;
    const uint64_t key = t.rule_keys[tables[d]][rules[d]];
    if (key == 0) continue;
    if (now_ == 0) now_ = MonotonicCoarseNs();
    if (!stats_->rule_hits.Count(key, outcomes[d] == NF_ALLOWED, now_)) stats_->Count(NF_CNT_RULE_HITS_LOST);
  }
}

uint8_t Decider::Established(const Snapshot& s, Ctx& c, int32_t pos, nf_ct_entry* e, nf_decision* record) {
  const uint32_t epoch = s.tables->epoch;
  const int initiator_b = (e->flags & NF_CT_INITIATOR_B) != 0;
  const int dir = c.sender_b != initiator_b;
  uint32_t path = NF_CNT_PASS_CT;
  if (e->epoch != epoch) {
    // Re-classify the connection as its initiator opened it, under the live tables. From an
    // uplink, the initiator is local only if this is its reply coming back in.
    classifier::BurstQuery q;
    q.key = {Addr(initiator_b ? c.key.addr_b : c.key.addr_a), Addr(initiator_b ? c.key.addr_a : c.key.addr_b),
             c.key.proto, e->dport};
    q.from_uplink = c.from_uplink && dir == 0;
    if (Classify(s, c, q) != 0) {
      const nf_ct_entry last = *e;
      return Drop(c, NF_DROP_REVOKED, record, pos, &last);
    }
    Admit(e, c.v, epoch);
    path = NF_CNT_PASS_RECHECKED;
  }
  const bool counted = Account(e, c, dir, c.sender_b);
  return Pass(c, path, counted, record);
}

// nf_ct_account() at the one hook a DPDK node has: every packet crosses the pipeline once, at
// the port it arrived on, so every packet is counted here.
bool Decider::Account(nf_ct_entry* e, const Ctx& c, int dir, int sender_b) {
  e->last_seen_ns = now_;
  const bool atomic = options_.shared_entries;
  auto add = [atomic](__u64* v, uint64_t n) {
    if (atomic) {
      __atomic_fetch_add(v, n, __ATOMIC_RELAXED);
    } else {
      *v += n;
    }
  };
  auto set_flags = [atomic](uint32_t* v, uint32_t bits) {
    if (atomic) {
      __atomic_fetch_or(v, bits, __ATOMIC_RELAXED);
    } else {
      *v |= bits;
    }
  };
  if (dir && !(e->flags & NF_CT_SEEN_REPLY)) set_flags(&e->flags, NF_CT_SEEN_REPLY);
  const uint32_t tc_bit = dir ? NF_CT_TC_COUNTS_1 : NF_CT_TC_COUNTS_0;
  if (e->flags & tc_bit) return false;  // counted at a TC hook (never set by this pipeline)
  add(&e->packets[dir ? 1 : 0], 1);
  add(&e->bytes[dir ? 1 : 0], c.bytes);
  if (c.f.proto != kTcp) return true;
  const uint8_t fl = c.f.tcp_flags;
  uint8_t& seen = e->tcp_flags[dir & 1];
  if ((seen | fl) != seen) seen |= fl;
  if (fl & (kTcpFin | kTcpRst)) {
    uint32_t bits = (fl & kTcpRst) ? NF_CT_CLOSED : (sender_b ? NF_CT_FIN_B : NF_CT_FIN_A);
    const uint32_t now_flags = e->flags | bits;
    if ((now_flags & (NF_CT_FIN_A | NF_CT_FIN_B)) == (NF_CT_FIN_A | NF_CT_FIN_B)) bits |= NF_CT_CLOSED;
    set_flags(&e->flags, bits);
  }
  return true;
}

int32_t Decider::CreateEntry(const Ctx& c, uint32_t epoch, nf_ct_entry* e) {
  *e = nf_ct_entry{};
  e->created_ns = now_;
  e->last_seen_ns = now_;
  e->packets[0] = 1;
  e->bytes[0] = c.bytes;
  e->flags = c.sender_b ? NF_CT_INITIATOR_B : 0;
  e->tcp_flags[0] = c.f.tcp_flags;
  e->dport = static_cast<uint16_t>(c.f.dport);
  e->ifindex = c.ifindex;
  Admit(e, c.v, epoch);
  const int32_t pos = conntrack_->Create(c.key, *e);
  if (pos < 0) return -1;
  created_ = true;
  stats_->Count(NF_CNT_CT_CREATED);
  return pos;
}

uint8_t Decider::Pass(Ctx& c, uint32_t path, bool counted, nf_decision* record) {
  if (c.f.first_fragment) fragments_->Create(FragmentKey(c.f), nf_frag_entry{MonotonicNs(), c.epoch, 0});
  stats_->Count(path);
  if (counted) stats_->Traffic(NF_TRAFFIC_ALLOWED_INGRESS + c.from_pod, c.bytes);
  Record(record, c, kPass, 0, path);
  return kPass;
}

uint8_t Decider::Drop(Ctx& c, uint32_t reason, nf_decision* record, int32_t cut, const nf_ct_entry* ct) {
  stats_->Drop(reason);
  stats_->Count(NF_CNT_DROP);
  stats_->Traffic(NF_TRAFFIC_DENIED_INGRESS + c.from_pod, c.bytes);
  if (options_.events) Emit(c, cut >= 0 ? NF_EV_REVOKED : NF_EV_DROP, static_cast<uint8_t>(reason), ct);
  if (cut >= 0) conntrack_->Kill(cut);
  Record(record, c, kDrop, reason, NF_CNT_DROP);
  return kDrop;
}

void Decider::Emit(const Ctx& c, uint8_t kind, uint8_t reason, const nf_ct_entry* ct) {
  nf_event e{};
  e.ts_ns = MonotonicNs();
  std::memcpy(e.src, c.f.src, 16);
  std::memcpy(e.dst, c.f.dst, 16);
  e.sport = c.f.key_sport;
  e.dport = c.f.key_dport;
  e.proto = static_cast<uint8_t>(c.f.proto);
  e.kind = kind;
  e.reason = reason;
  e.parsed = static_cast<uint8_t>(c.parsed);
  e.ifindex = c.ifindex;
  e.generation = c.generation;
  e.verdict = c.v;
  e.bytes = c.bytes;
  e.icmp_type = c.f.icmp_type;
  e.icmp_code = c.f.icmp_code;
  e.hook = NF_HOOK_XDP;  // the receive side of a port, as XDP RX
  e.tcp_flags = c.f.tcp_flags;
  if (ct != nullptr) {
    e.ct_tcp_flags[0] = ct->tcp_flags[0];
    e.ct_tcp_flags[1] = ct->tcp_flags[1];
    e.ct_flags = ct->flags;
    e.ct_epoch = ct->epoch;
    e.ct_created_ns = ct->created_ns;
    e.ct_packets[0] = ct->packets[0];
    e.ct_packets[1] = ct->packets[1];
    e.ct_bytes[0] = ct->bytes[0];
    e.ct_bytes[1] = ct->bytes[1];
  }
  if (!events_->Push(e)) stats_->Count(NF_CNT_EVENTS_LOST);
}

void Decider::Record(nf_decision* record, const Ctx& c, uint32_t action, uint32_t reason, uint32_t path) {
  if (record == nullptr) return;
  record->verdict = c.v;
  record->action = action;
  record->drop_reason = reason;
  record->parsed = c.parsed;
  record->proto = c.f.proto;
  record->dport = c.f.dport;
  record->path = path;
  std::memcpy(record->src, c.f.src, 16);
  std::memcpy(record->dst, c.f.dst, 16);
}

}  // namespace netfence::dpdk
