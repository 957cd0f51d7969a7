// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/pipeline/flow_tracker.h"

#include <algorithm>
#include <cstring>

#include "dataplane/fastpath/conntrack_key.h"
#include "dataplane/flowlog/pipeline/attribution.h"

namespace netfence::flowlog {

namespace {

constexpr uint8_t kTcp = 6;

IpAddr Addr(const uint8_t* bytes) {
  IpAddr a;
  std::memcpy(a.bytes.data(), bytes, 16);
  return a;
}

// The entry an event describes (NEW_FLOW: as created; REVOKED: as cut).
nf_ct_entry EntryOfEvent(const nf_event& e) {
  nf_ct_entry c{};
  c.created_ns = e.ct_created_ns;
  c.last_seen_ns = e.ct_created_ns;
  c.packets[0] = e.ct_packets[0];
  c.packets[1] = e.ct_packets[1];
  c.bytes[0] = e.ct_bytes[0];
  c.bytes[1] = e.ct_bytes[1];
  c.epoch = e.ct_epoch;
  c.flags = e.ct_flags;
  c.tcp_flags[0] = e.ct_tcp_flags[0];
  c.tcp_flags[1] = e.ct_tcp_flags[1];
  c.ifindex = e.ifindex;
  c.egress_table = e.verdict.egress_table;
  c.ingress_table = e.verdict.ingress_table;
  c.egress_rule = e.verdict.egress_outcome == NF_ALLOWED ? e.verdict.egress_rule : NF_NO_RULE;
  c.ingress_rule = e.verdict.ingress_outcome == NF_ALLOWED ? e.verdict.ingress_rule : NF_NO_RULE;
  return c;
}

uint64_t Total(const __u64 (&v)[2]) { return v[0] + v[1]; }

// What an entry alone says of an ICMP flow: the initiator sent an echo request.
uint8_t EchoType(uint8_t proto) { return proto == 58 ? 128 : 8; }
uint32_t HookOf(const nf_ct_entry& e) { return (e.flags & NF_CT_TC_COUNTS_0) ? NF_HOOK_TC : NF_HOOK_XDP; }

// The conntrack key of an event's packet, normalised as the program does.
nf_ct_key KeyOf(const nf_event& e) {
  return fastpath::ConntrackKey(Addr(e.src), e.sport, Addr(e.dst), e.dport, e.proto);
}

}  // namespace

uint64_t ConntrackTimeoutNs(const nf_ct_entry& e, uint8_t proto) {
  if (proto != kTcp) return NF_CT_TIMEOUT_OTHER;
  if (e.flags & NF_CT_CLOSED) return NF_CT_TIMEOUT_TCP_CLOSE;
  if (!(e.flags & NF_CT_SEEN_REPLY)) return NF_CT_TIMEOUT_TCP_SYN;
  return NF_CT_TIMEOUT_TCP_EST;
}

size_t FlowTracker::KeyHash::operator()(const nf_ct_key& k) const { return static_cast<size_t>(FlowId(k, 0)); }

bool FlowTracker::KeyEq::operator()(const nf_ct_key& a, const nf_ct_key& b) const {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

FlowTracker::FlowTracker(TrackerOptions options, const GenerationHistory* history, Emit emit)
    : options_(std::move(options)), history_(history), emit_(std::move(emit)) {}

FlowRecord FlowTracker::Base(const nf_ct_key& k, const nf_ct_entry& e, const nf_verdict& v, const GenerationMeta* g,
                             uint64_t generation, uint8_t icmp_type, uint8_t icmp_code, uint32_t hook,
                             int64_t start_wall) {
  FlowRecord r;
  const bool initiator_b = (e.flags & NF_CT_INITIATOR_B) != 0;
  const IpAddr src = Addr(initiator_b ? k.addr_b : k.addr_a);
  const IpAddr dst = Addr(initiator_b ? k.addr_a : k.addr_b);
  const uint16_t sport = initiator_b ? k.port_b : k.port_a;
  const uint16_t dport = initiator_b ? k.port_a : k.port_b;
  r.proto = k.proto;
  r.src.ip = src;
  r.dst.ip = dst;
  if (HasPorts(k.proto)) {
    r.src.port = sport;
    r.dst.port = dport;
  }
  r.community_id = FlowCommunityId(src, dst, k.proto, sport, dport, icmp_type, icmp_code);
  if (g == nullptr) ++stats_.unattributed;
  AttributeAllowed(g, v, src, &r);
  AttributeAudit(g, v, &r);  // the connection's records keep it: Reattribute() leaves it
  NameEnds(*history_, g, &r);
  r.generation = generation;
  r.node = options_.node;
  r.observation_point = ObservationPoint(hook, options_.fast_path);
  r.ifindex = e.ifindex;
  r.flow_id = FlowId(k, e.created_ns);
  r.start_time_ns = start_wall;
  return r;
}

FlowRecord FlowTracker::BaseOfEntry(const nf_ct_key& k, const nf_ct_entry& e, uint32_t hook) {
  const GenerationMeta* g = history_->FindEpoch(e.epoch);
  return Base(k, e, VerdictOfEntry(e), g, g != nullptr ? g->stamp : 0, EchoType(k.proto), 0, hook, Wall(e.created_ns));
}

void FlowTracker::Reattribute(Flow* f, uint32_t epoch) {
  // A new generation re-checked the connection (its entry's rules are that programming's).
  const GenerationMeta* g = history_->FindEpoch(epoch);
  FlowRecord& r = f->base;
  if (g == nullptr) ++stats_.unattributed;
  r.generation = g != nullptr ? g->stamp : 0;
  // The entry does not keep the audited decision: a connection that started as audit stays
  // audit, with what its start said would have decided (a search for verdict=audit finds
  // the whole connection); the enforced side is re-named as the new programming admits it.
  const bool audit = r.is_audit();
  AttributeAllowed(g, VerdictOfEntry(f->last), *r.src.ip, &r);
  if (audit) r.verdict = Verdict::kAudit;
  NameEnds(*history_, g, &r);
}

FlowRecord FlowTracker::Make(const Flow& f, EventKind kind, int64_t time) const {
  FlowRecord r = f.base;
  r.event = kind;
  r.time_ns = time;
  const nf_ct_entry& e = f.last;
  r.src_packets = e.packets[0];
  r.src_bytes = e.bytes[0];
  r.dst_packets = e.packets[1];
  r.dst_bytes = e.bytes[1];
  r.packets = Total(e.packets);
  r.bytes = Total(e.bytes);
  r.tcp_flags_src = e.tcp_flags[0];
  r.tcp_flags_dst = e.tcp_flags[1];
  if (kind == EventKind::kStart) r.start_time_ns = 0;  // `time` is the start
  return r;
}

void FlowTracker::WriteStart(Flow* f, int64_t time) {
  FlowRecord r = Make(*f, EventKind::kStart, time);
  f->reported_packets = r.packets;
  f->reported_bytes = r.bytes;
  ++stats_.starts;
  emit_(std::move(r));
}

void FlowTracker::WriteUpdate(Flow* f, int64_t now_wall) {
  FlowRecord r = Make(*f, EventKind::kUpdate, now_wall);
  f->reported_packets = r.packets;
  f->reported_bytes = r.bytes;
  ++stats_.updates;
  emit_(std::move(r));
}

void FlowTracker::WriteEnd(Flow* f, int64_t time, int64_t end_time, const char* end_reason) {
  FlowRecord r = Make(*f, EventKind::kEnd, time);
  // Entries keep time at the coarse clock's resolution (a tick, ~4 ms): the last packet of a
  // short connection may read as earlier than its first, timed precisely by its event.
  r.end_time_ns = std::max(end_time, r.start_time_ns);
  r.end_reason = end_reason;
  f->reported_packets = r.packets;
  f->reported_bytes = r.bytes;
  ++stats_.ends;
  emit_(std::move(r));
}

const char* FlowTracker::EndReason(const nf_ct_entry& e, uint8_t proto, uint64_t now_mono) {
  if (e.flags & NF_CT_CLOSED) return "closed";
  if (now_mono > e.last_seen_ns && now_mono - e.last_seen_ns > ConntrackTimeoutNs(e, proto)) return "idle-timeout";
  return "evicted";
}

void FlowTracker::MarkEnded(Flow* f) {
  if (!f->ended) ++ended_;
  f->ended = true;
}

void FlowTracker::OnNewFlow(const nf_event& e) {
  const int64_t time = Wall(e.ts_ns);
  if (e.ct_created_ns == 0) {
    // Not tracked (ICMP other than echo, conntrack off): a start record of its one packet.
    bool sender_b = false;
    const nf_ct_key k = fastpath::ConntrackKey(Addr(e.src), e.sport, Addr(e.dst), e.dport, e.proto, &sender_b);
    nf_ct_entry c = EntryOfEvent(e);
    c.flags = sender_b ? NF_CT_INITIATOR_B : 0;
    c.created_ns = e.ts_ns;
    c.packets[0] = 1;
    c.bytes[0] = e.bytes;
    c.tcp_flags[0] = e.tcp_flags;
    Flow f;
    f.base = Base(k, c, e.verdict, history_->Resolve(e.generation, time), e.generation, e.icmp_type, e.icmp_code,
                  e.hook, time);
    f.last = c;
    WriteStart(&f, time);
    return;
  }
  const nf_ct_key k = KeyOf(e);
  const nf_ct_entry c = EntryOfEvent(e);
  auto [it, inserted] = flows_.try_emplace(k);
  Flow& f = it->second;
  if (!inserted) {
    if (f.last.created_ns != c.created_ns && !f.ended) {
      // The same 5-tuple again: the old connection is over (closed, or expired).
      WriteEnd(&f, time, Wall(f.last.last_seen_ns), EndReason(f.last, k.proto, e.ts_ns));
    }
    if (f.ended) --ended_;
    const bool adopted = !f.ended && f.last.created_ns == c.created_ns;
    const nf_ct_entry seen = f.last;
    f = Flow{};
    if (adopted) f.last = seen;  // an adopted connection whose event was still unread
  }
  if (f.last.created_ns == 0) f.last = c;
  f.seen_scan = scan_;
  f.base = Base(k, c, e.verdict, history_->Resolve(e.generation, time), e.generation, e.icmp_type, e.icmp_code, e.hook,
                time);
  WriteStart(&f, time);
}

void FlowTracker::OnRevoked(const nf_event& e) {
  const nf_ct_key k = KeyOf(e);
  nf_ct_entry c = EntryOfEvent(e);
  c.last_seen_ns = e.ts_ns;
  const int64_t time = Wall(e.ts_ns);
  auto it = flows_.find(k);
  if (it != flows_.end() && it->second.ended) {
    --ended_;
    flows_.erase(it);
    it = flows_.end();
  }
  if (it == flows_.end()) {
    // Its start was never seen (lost, or an earlier agent's): the end still says what it was,
    // named as of the generation that admitted it (the entry's epoch).
    Flow f;
    f.last = c;
    f.base = BaseOfEntry(k, c, e.hook);
    WriteEnd(&f, time, time, "revoked");
    return;
  }
  Flow& f = it->second;
  // The event's counters are the entry's last ones (the cut packet is not counted: dropped).
  const nf_ct_entry before = f.last;
  f.last = c;
  f.last.ifindex = before.ifindex;
  WriteEnd(&f, time, Wall(before.last_seen_ns > c.created_ns ? before.last_seen_ns : c.created_ns), "revoked");
  flows_.erase(it);
}

void FlowTracker::Adopt(const std::vector<CtEntry>& entries, uint64_t now_mono,
                        const std::unordered_map<uint64_t, FlowRecord>& handed) {
  for (const CtEntry& c : entries) {
    auto [it, inserted] = flows_.try_emplace(c.key);
    if (!inserted) continue;
    Flow& f = it->second;
    f.last = c.entry;
    if (auto h = handed.find(FlowId(c.key, c.entry.created_ns)); h != handed.end()) {
      f.base = h->second;
      f.base.node = options_.node;
      ++stats_.handed_over;
    } else {
      f.base = BaseOfEntry(c.key, c.entry, HookOf(c.entry));
    }
    f.reported_packets = Total(c.entry.packets);
    f.reported_bytes = Total(c.entry.bytes);
    f.seen_scan = scan_;
    const bool closed = (c.entry.flags & NF_CT_CLOSED) != 0;
    const bool expired =
        now_mono > c.entry.last_seen_ns && now_mono - c.entry.last_seen_ns > ConntrackTimeoutNs(c.entry, c.key.proto);
    if (closed || expired) {
      MarkEnded(&f);  // over before we came: the earlier agent (or nobody) ended it
    } else {
      ++stats_.adopted;
    }
  }
}

std::vector<FlowRecord> FlowTracker::Handover() const {
  std::vector<FlowRecord> out;
  out.reserve(flows_.size() - ended_);
  for (const auto& [k, f] : flows_) {
    if (f.ended) continue;
    FlowRecord r = f.base;
    r.event = EventKind::kUpdate;
    r.time_ns = f.base.start_time_ns;
    out.push_back(std::move(r));
  }
  return out;
}

void FlowTracker::Recover(const CtEntry& c, const Scan& scan) {
  // Created just before the read: its event may not have been drained yet. Next scan.
  if (!scan.recover) return;
  if (c.entry.created_ns + static_cast<uint64_t>(options_.settle_ns) > scan.read_mono) return;
  auto [it, inserted] = flows_.try_emplace(c.key);
  Flow& f = it->second;
  f.last = c.entry;
  f.base = BaseOfEntry(c.key, c.entry, HookOf(c.entry));
  f.seen_scan = scan_;
  ++stats_.recovered;
  WriteStart(&f, Wall(c.entry.created_ns));
  Check(&f, scan);
}

void FlowTracker::Check(Flow* f, const Scan& scan) {
  const nf_ct_entry& e = f->last;
  const uint8_t proto = f->base.proto;
  const uint64_t idle = scan.now_mono > e.last_seen_ns ? scan.now_mono - e.last_seen_ns : 0;
  if ((e.flags & NF_CT_CLOSED) && idle >= static_cast<uint64_t>(options_.close_grace_ns)) {
    WriteEnd(f, scan.now_wall, Wall(e.last_seen_ns), "closed");
    MarkEnded(f);
  } else if (idle > ConntrackTimeoutNs(e, proto)) {
    WriteEnd(f, scan.now_wall, Wall(e.last_seen_ns), "idle-timeout");
    MarkEnded(f);
  } else if (scan.update_tick && (Total(e.packets) != f->reported_packets || Total(e.bytes) != f->reported_bytes)) {
    WriteUpdate(f, scan.now_wall);
  }
}

void FlowTracker::OnScan(const Scan& scan) {
  ++scan_;
  for (const CtEntry& c : *scan.entries) {
    auto it = flows_.find(c.key);
    if (it == flows_.end()) {
      Recover(c, scan);
      continue;
    }
    Flow& f = it->second;
    if (f.last.created_ns != c.entry.created_ns) {
      // Another connection on the same 5-tuple, whose start we have not seen (yet).
      if (!f.ended)
        WriteEnd(&f, scan.now_wall, Wall(f.last.last_seen_ns), EndReason(f.last, c.key.proto, scan.now_mono));
      if (f.ended) --ended_;
      flows_.erase(it);
      Recover(c, scan);
      continue;
    }
    f.seen_scan = scan_;
    if (f.ended) continue;
    const uint32_t epoch_before = f.last.epoch;
    f.last = c.entry;
    if (c.entry.epoch != epoch_before) Reattribute(&f, c.entry.epoch);
    Check(&f, scan);
  }
  // Connections whose entry is gone (evicted, flushed, or expired and replaced meanwhile).
  for (auto it = flows_.begin(); it != flows_.end();) {
    Flow& f = it->second;
    if (f.seen_scan == scan_) {
      ++it;
      continue;
    }
    if (f.ended) {
      --ended_;
      it = flows_.erase(it);
      continue;
    }
    if (f.last.created_ns + static_cast<uint64_t>(options_.settle_ns) > scan.read_mono) {
      ++it;  // created after the read began: not in this table yet
      continue;
    }
    WriteEnd(&f, scan.now_wall, Wall(f.last.last_seen_ns), EndReason(f.last, f.base.proto, scan.now_mono));
    it = flows_.erase(it);
  }
}

void FlowTracker::Flush(int64_t now_wall) {
  for (auto& [k, f] : flows_) {
    if (f.ended) continue;
    if (Total(f.last.packets) != f.reported_packets || Total(f.last.bytes) != f.reported_bytes)
      WriteUpdate(&f, now_wall);
  }
}

}  // namespace netfence::flowlog
