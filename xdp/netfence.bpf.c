/* netfence XDP program: enforces the compiled NetworkPolicy tables on every packet received
 * by the interface it is attached to (a pod's host-side veth, or the node's uplink).
 *
 *   parse ─ not IP ──────────────────────────────────────────────► PASS
 *     │ malformed ─────────────────────────────────────────────────► DROP (reason, event)
 *     ▼
 *   later fragment ─ first fragment allowed? ──────────────────────► PASS / DROP
 *   conntrack hit, admitted by the live generation ────────────────► PASS (no event)
 *   conntrack hit, older generation ─ re-classify the connection ─► PASS / DROP (revoked)
 *   new flow ─ classify: the sender's egress policy (when it is a local endpoint) and the
 *              receiver's ingress policy (when it is one) ─► PASS + conntrack + event
 *                                                         └► DROP (policy, event)
 *
 * Tables live in one of two slots (maps.h); the slot read at the start of a packet is used
 * for all of it, so no packet sees half a generation. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "classify.h"
#include "conntrack.h"
#include "events.h"
#include "maps.h"
#include "netfence_abi.h"
#include "parsing.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Load-time options (the loader sets them in .rodata before verification). */
const volatile __u32 nf_cfg_conntrack = 1;         /* 0: classify every packet (stateless) */
const volatile __u32 nf_cfg_events = 1;            /* 0: no ring-buffer events */
const volatile __u32 nf_cfg_record_decisions = 0;  /* 1: fill last_decision (tests) */

static __always_inline void nf_record(const struct nf_flow *f, int parsed, const struct nf_verdict *v, __u32 action,
                                      __u32 reason, __u32 path) {
  if (!nf_cfg_record_decisions) return;
  __u32 zero = 0;
  struct nf_decision *d = bpf_map_lookup_elem(&last_decision, &zero);
  if (!d) return;
  d->egress_outcome = v->egress_outcome;
  d->egress_table = v->egress_table;
  d->egress_rule = v->egress_rule;
  d->ingress_outcome = v->ingress_outcome;
  d->ingress_table = v->ingress_table;
  d->ingress_rule = v->ingress_rule;
  d->action = action;
  d->drop_reason = reason;
  d->parsed = (__u32)parsed;
  d->proto = f->proto;
  d->dport = f->dport;
  d->path = path;
  __builtin_memcpy(d->src, f->src, 16);
  __builtin_memcpy(d->dst, f->dst, 16);
}

static __always_inline int nf_drop(struct xdp_md *ctx, const struct nf_flow *f, int parsed, const struct nf_verdict *v,
                                   __u32 reason, __u8 kind, __u64 generation) {
  __u64 *count = bpf_map_lookup_elem(&drop_reasons, &reason);
  if (count) *count += 1;  /* per CPU: no atomic needed */
  nf_count(NF_CNT_DROP);
  if (nf_cfg_events) nf_emit(ctx, kind, (__u8)reason, parsed, f, v, generation);
  nf_record(f, parsed, v, XDP_DROP, reason, NF_CNT_DROP);
  return XDP_DROP;
}

/* Remembers an allowed first fragment so that the datagram's later fragments follow it. */
static __always_inline void nf_remember_fragment(const struct nf_flow *f) {
  struct nf_frag_key k = {};
  __builtin_memcpy(k.src, f->src, 16);
  __builtin_memcpy(k.dst, f->dst, 16);
  k.id = f->frag_id;
  k.proto = f->proto;
  __u64 now = bpf_ktime_get_ns();
  bpf_map_update_elem(&fragments, &k, &now, BPF_ANY);
}

static __always_inline int nf_pass(const struct nf_flow *f, const struct nf_verdict *v, __u32 path) {
  if (f->first_fragment) nf_remember_fragment(f);
  nf_count(path);
  nf_record(f, 1, v, XDP_PASS, 0, path);
  return XDP_PASS;
}

/* Classifies src -> dst (proto, dport) with the live slot: the sender's egress table when it
 * is a local endpoint, the receiver's ingress table when it is one. Returns 1 and sets
 * *reason when the packet must be dropped, 0 when allowed. */
static __always_inline int nf_classify(const struct nf_slot_maps *m, const __u8 *src, const __u8 *dst, __u32 proto,
                                       __u32 dport, struct nf_verdict *v, __u32 *reason) {
  struct nf_ip_info *s = bpf_map_lookup_elem(m->ipcache, src);
  struct nf_ip_info *d = bpf_map_lookup_elem(m->ipcache, dst);
  __u32 src_identity = s ? s->identity : 0;
  __u32 dst_identity = d ? d->identity : 0;
  struct nf_dir_result r;
  int internal = 0;
  if (s && (s->flags & NF_IP_LOCAL_ENDPOINT)) {
    nf_match(m, s->egress_table, dst, dst_identity, proto, dport, &r);
    v->egress_outcome = r.outcome;
    v->egress_table = r.table;
    v->egress_rule = r.rule;
    internal |= r.internal;
  }
  if (d && (d->flags & NF_IP_LOCAL_ENDPOINT)) {
    nf_match(m, d->ingress_table, src, src_identity, proto, dport, &r);
    v->ingress_outcome = r.outcome;
    v->ingress_table = r.table;
    v->ingress_rule = r.rule;
    internal |= r.internal;
  }
  *reason = internal ? NF_DROP_INTERNAL : NF_DROP_POLICY;
  return internal || v->egress_outcome == NF_DENIED || v->ingress_outcome == NF_DENIED;
}

static __always_inline __u32 nf_rule_or_none(__u32 outcome, __u32 rule) {
  return outcome == NF_ALLOWED ? rule : NF_NO_RULE;
}

static __always_inline void nf_ct_admit(struct nf_ct_entry *e, const struct nf_verdict *v, __u32 epoch) {
  e->epoch = epoch;
  e->egress_rule = nf_rule_or_none(v->egress_outcome, v->egress_rule);
  e->ingress_rule = nf_rule_or_none(v->ingress_outcome, v->ingress_rule);
  e->egress_table = v->egress_table;
  e->ingress_table = v->ingress_table;
}

/* A packet of a tracked connection. Returns the XDP action. */
static __always_inline int nf_established(struct xdp_md *ctx, const struct nf_slot_maps *m, struct nf_flow *f,
                                          const struct nf_ct_key *k, struct nf_ct_entry *e, int sender_b,
                                          struct nf_verdict *v, __u64 now) {
  int initiator_b = (e->flags & NF_CT_INITIATOR_B) != 0;
  int dir = sender_b != initiator_b;
  __u32 path = NF_CNT_PASS_CT;
  if (e->epoch != m->epoch) {
    /* Re-classify the connection as its initiator opened it, under the live tables. */
    const __u8 *from = initiator_b ? k->addr_b : k->addr_a;
    const __u8 *to = initiator_b ? k->addr_a : k->addr_b;
    __u32 reason;
    if (nf_classify(m, from, to, k->proto, e->dport, v, &reason)) {
      bpf_map_delete_elem(&conntrack, k);
      return nf_drop(ctx, f, 1, v, NF_DROP_REVOKED, NF_EV_REVOKED, m->generation);
    }
    nf_ct_admit(e, v, m->epoch);
    path = NF_CNT_PASS_RECHECKED;
  }
  nf_ct_account(e, f, dir, sender_b, (__u32)(ctx->data_end - ctx->data), now);
  return nf_pass(f, v, path);
}

SEC("xdp")
int netfence_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct nf_flow f = {};
  struct nf_verdict v = {};

  int parsed = nf_parse_packet(data, data_end, &f);
  if (parsed == NF_PARSE_NOT_IP) {
    nf_count(NF_CNT_PASS_NOT_IP);
    nf_record(&f, 0, &v, XDP_PASS, 0, NF_CNT_PASS_NOT_IP);
    return XDP_PASS;
  }
  if (parsed != NF_PARSE_IP && parsed != NF_PARSE_FRAGMENT) return nf_drop(ctx, &f, 0, &v, (__u32)parsed, NF_EV_DROP, 0);

  struct nf_slot_maps m;
  if (!nf_live_slot(&m)) return nf_drop(ctx, &f, 1, &v, NF_DROP_NO_TABLES, NF_EV_DROP, 0);

  if (parsed == NF_PARSE_FRAGMENT) {
    struct nf_frag_key fk = {};
    __builtin_memcpy(fk.src, f.src, 16);
    __builtin_memcpy(fk.dst, f.dst, 16);
    fk.id = f.frag_id;
    fk.proto = f.proto;
    if (bpf_map_lookup_elem(&fragments, &fk)) return nf_pass(&f, &v, NF_CNT_PASS_FRAGMENT);
    /* IPv4 addresses are v4-mapped; an IPv6 header carrying one was dropped by the parser. */
    __u32 reason = f.src[10] == 0xff && f.src[11] == 0xff && f.src[0] == 0 ? NF_DROP_IP4_FRAGMENT : NF_DROP_IP6_FRAGMENT;
    return nf_drop(ctx, &f, 1, &v, reason, NF_EV_DROP, m.generation);
  }
  if (f.icmp_kind == NF_ICMP_NDP) return nf_pass(&f, &v, NF_CNT_PASS_NDP);

  __u64 now = nf_cfg_conntrack ? bpf_ktime_get_ns() : 0;
  struct nf_ct_key k;
  if (nf_cfg_conntrack) {
    if (f.icmp_kind == NF_ICMP_ERROR) {
      /* An error about a packet of a connection admitted by the live tables follows it. */
      nf_ct_key_of(f.inner_src, f.inner_sport, f.inner_dst, f.inner_dport, f.inner_proto, &k);
      struct nf_ct_entry *e = bpf_map_lookup_elem(&conntrack, &k);
      if (e && e->epoch == m.epoch) return nf_pass(&f, &v, NF_CNT_PASS_RELATED);
    }
    int sender_b = nf_ct_key_of(f.src, f.key_sport, f.dst, f.key_dport, (__u8)f.proto, &k);
    struct nf_ct_entry *e = bpf_map_lookup_elem(&conntrack, &k);
    if (e && nf_ct_usable(e, &f, now)) return nf_established(ctx, &m, &f, &k, e, sender_b, &v, now);
  }

  __u32 reason;
  if (nf_classify(&m, f.src, f.dst, f.proto, f.dport, &v, &reason)) return nf_drop(ctx, &f, 1, &v, reason, NF_EV_DROP, m.generation);

  /* Tracked: TCP, UDP, SCTP, ICMP echo and other protocols (ports 0); not ICMP errors or
   * informational messages, which are classified one by one. */
  int icmp = f.proto == IPPROTO_ICMP || f.proto == NF_IPPROTO_ICMPV6;
  if (nf_cfg_conntrack && (!icmp || f.icmp_kind == NF_ICMP_ECHO)) {
    int sender_b = nf_ct_key_of(f.src, f.key_sport, f.dst, f.key_dport, (__u8)f.proto, &k);
    struct nf_ct_entry e = {};
    e.created_ns = now;
    e.last_seen_ns = now;
    e.packets[0] = 1;
    e.bytes[0] = (__u32)(ctx->data_end - ctx->data);
    e.flags = sender_b ? NF_CT_INITIATOR_B : 0;
    e.tcp_flags[0] = f.tcp_flags;
    e.dport = (__u16)f.dport;
    e.ifindex = ctx->ingress_ifindex;
    nf_ct_admit(&e, &v, m.epoch);
    if (bpf_map_update_elem(&conntrack, &k, &e, BPF_ANY) == 0) nf_count(NF_CNT_CT_CREATED);
  }
  if (nf_cfg_events) nf_emit(ctx, NF_EV_NEW_FLOW, 0, 1, &f, &v, m.generation);
  return nf_pass(&f, &v, NF_CNT_PASS_NEW);
}
