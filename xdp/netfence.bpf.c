/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* netfence XDP program: enforces the compiled NetworkPolicy tables on every packet received
 * by the interface it is attached to (a pod's host-side veth, or the node's uplink). The
 * same decision runs as a TC egress program on a pod's host-side veth for what the node
 * itself sends to the pod (netfence_tc, at the end).
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
#include "context.h"
#include "drop.h"
#include "events.h"
#include "maps.h"
#include "netfence_abi.h"
#include "parsing.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NF_TC_PULL_BYTES 256u /* enough for 2 VLAN tags, IPv6 with extension headers, L4 */
#ifndef TC_ACT_OK
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#endif

/* The datagram a fragment belongs to, in the per-CPU scratch entry. */
static __always_inline struct nf_frag_scratch *nf_frag_scratch(const struct nf_flow *f) {
  __u32 zero = 0;
  struct nf_frag_scratch *s = bpf_map_lookup_elem(&frag_scratch, &zero);
  if (!s) return 0;
  __builtin_memcpy(s->key.src, f->src, 16);
  __builtin_memcpy(s->key.dst, f->dst, 16);
  s->key.id = f->frag_id;
  s->key.proto = f->proto;
  return s;
}

/* Remembers an allowed first fragment so that the datagram's later fragments follow it. */
static __always_inline void nf_remember_fragment(const struct nf_flow *f, __u32 epoch) {
  struct nf_frag_scratch *s = nf_frag_scratch(f);
  if (!s) return;
  s->entry.first_ns = bpf_ktime_get_ns();
  s->entry.epoch = epoch;
  s->entry.pad = 0;
  bpf_map_update_elem(&fragments, &s->key, &s->entry, BPF_ANY);
}

/* Passes the packet on `path` (enum nf_counter). `counted`: whether this hook counts the
 * packet's traffic (a conntrack hit is counted at the hook that counts its direction, see
 * nf_ct_account). */
static __always_inline int nf_pass(const struct nf_ctx *c, __u32 path, int counted) {
  if (c->f.first_fragment) nf_remember_fragment(&c->f, c->epoch);
  nf_count(path);
  if (counted) nf_count_traffic(nf_traffic_slot(c, 0), c->bytes);
  nf_record(c, XDP_PASS, 0, path);
  return XDP_PASS;
}

static __always_inline struct nf_query *nf_new_query(const struct nf_live *m, __u32 proto, __u32 dport, const __u8 *src,
                                                     const __u8 *dst, __u32 from_uplink) {
  __u32 zero = 0;
  struct nf_query *q = bpf_map_lookup_elem(&query_scratch, &zero);
  if (!q) return 0;
  q->q.epoch = m->epoch;
  q->q.guard = m->guard;
  __builtin_memcpy(q->q.src, src, 16);
  __builtin_memcpy(q->q.dst, dst, 16);
  q->q.dport = (__u16)dport;
  q->q.proto = (__u8)proto;
  q->q.from_uplink = from_uplink != 0;
  q->slot = m->slot;
  return q;
}

/* Whether `addr` is inside the node's pod CIDRs (and not an exempt address of the node's
 * there) but no local endpoint's (`info`: its ipcache entry, if any). */
static __always_inline int nf_unregistered(const __u8 *addr, const struct nf_ip_info *info) {
  if (info && (info->flags & NF_IP_LOCAL_ENDPOINT)) return 0;
  struct nf_prefix_key key = {.prefixlen = 128};
  __builtin_memcpy(key.addr, addr, 16);
  const __u8 *guarded = bpf_map_lookup_elem(&pod_cidrs, &key);
  return guarded && *guarded;
}

/* A direction that denies: isolated by NetworkPolicy without an allowing rule, or a
 * ClusterNetworkPolicy Deny rule. Asked of the enforced outcomes only: policies in audit
 * never drop. */
static __always_inline int nf_denied(__u32 outcome) { return outcome == NF_DENIED || outcome == NF_DENIED_BY_RULE; }

/* Applies the sender's egress table when it is a local endpoint (and did not come in from an
 * uplink) and the receiver's ingress table when it is one. Returns 0 when allowed, else 1 + the
 * drop reason. */
static __always_inline int nf_classify_tables(struct nf_query *q, struct nf_verdict *v) {
  __u32 slot = q->slot;
  void *ipcache = bpf_map_lookup_elem(&ipcache_slots, &slot);
  if (!ipcache) return 1 + NF_DROP_INTERNAL;
  struct nf_ip_info *s = bpf_map_lookup_elem(ipcache, q->q.src);
  struct nf_ip_info *d = bpf_map_lookup_elem(ipcache, q->q.dst);
  __u32 src_identity = s ? s->identity : 0;
  __u32 dst_identity = d ? d->identity : 0;
  if (nf_unregistered(q->q.src, s) || nf_unregistered(q->q.dst, d)) return 1 + NF_DROP_UNREGISTERED;
  struct nf_dir_result *r = &q->r, *ar = &q->ar; /* off the stack */
  int internal = 0;
  if (s && (s->flags & NF_IP_LOCAL_ENDPOINT) && !q->q.from_uplink) {
    nf_match(q, s->egress_table, 0, dst_identity);
    v->egress_outcome = r->outcome;
    v->egress_table = r->table;
    v->egress_rule = r->rule;
    v->audit_egress_outcome = ar->outcome;
    v->audit_egress_rule = ar->rule;
    internal |= r->internal | ar->internal;
  }
  if (d && (d->flags & NF_IP_LOCAL_ENDPOINT)) {
    nf_match(q, d->ingress_table, 1, src_identity);
    v->ingress_outcome = r->outcome;
    v->ingress_table = r->table;
    v->ingress_rule = r->rule;
    v->audit_ingress_outcome = ar->outcome;
    v->audit_ingress_rule = ar->rule;
    internal |= r->internal | ar->internal;
  }
  if (internal) return 1 + NF_DROP_INTERNAL;
  if (nf_denied(v->egress_outcome) || nf_denied(v->ingress_outcome)) return 1 + NF_DROP_POLICY;
  return 0;
}

/* nf_classify_tables() behind the verdict cache (maps.h): a question asked again under the
 * same epoch and guard version gets the decision the tables gave, in one lookup. Decisions of
 * inconsistent tables (NF_DROP_INTERNAL) are never cached. A global function: the verifier
 * checks it once, on its own, rather than at every call site. */
__attribute__((noinline)) int nf_classify(struct nf_query *q, struct nf_verdict *v) {
  if (!q || !v) return 1 + NF_DROP_INTERNAL;
  if (nf_cfg_verdict_cache) {
    struct nf_vc_value *hit = bpf_map_lookup_elem(&verdict_cache, &q->q);
    if (hit) {
      nf_count(NF_CNT_VERDICT_HIT);
      *v = hit->verdict;
      return (int)hit->result;
    }
  }
  int result = nf_classify_tables(q, v);
  if (nf_cfg_verdict_cache && result != 1 + NF_DROP_INTERNAL) {
    nf_count(NF_CNT_VERDICT_MISS);
    q->answer.result = (__u32)result;
    q->answer.verdict = *v;
    bpf_map_update_elem(&verdict_cache, &q->q, &q->answer, BPF_ANY);
  }
  return result;
}

/* One direction's new connection in rule_hits, when a rule decided it. */
static __always_inline void nf_count_rule_hit(void *tables, void *words, __u32 outcome, __u32 table, __u32 rule,
                                              __u64 now) {
  if (outcome != NF_ALLOWED && outcome != NF_DENIED_BY_RULE) return;
  struct nf_table *t = bpf_map_lookup_elem(tables, &table);
  if (!t || t->rule_keys == NF_EMPTY_ROW) return;
  __u32 at = t->rule_keys + rule;
  __u64 *key = bpf_map_lookup_elem(words, &at);
  if (!key) return;
  struct nf_rule_hits *h = bpf_map_lookup_elem(&rule_hits, key);
  if (h) {
    /* Per CPU: no other writer. */
    if (outcome == NF_ALLOWED)
      h->allowed++;
    else
      h->denied++;
    h->last_ns = now;
    return;
  }
  struct nf_rule_hits first = {.allowed = outcome == NF_ALLOWED, .denied = outcome != NF_ALLOWED, .last_ns = now};
  if (bpf_map_update_elem(&rule_hits, key, &first, BPF_NOEXIST) != 0) {
    /* Another CPU's first one made the entry, or the map is full. */
    h = bpf_map_lookup_elem(&rule_hits, key);
    if (!h) {
      nf_count(NF_CNT_RULE_HITS_LOST);
      return;
    }
    if (outcome == NF_ALLOWED)
      h->allowed++;
    else
      h->denied++;
    h->last_ns = now;
  }
}

/* A new connection's (or an untracked packet's) decision in the rule hit counters: the rule
 * of each direction that a rule decided. A global function: verified once, on its own. */
__attribute__((noinline)) int nf_count_rule_hits(__u32 slot, const struct nf_verdict *v) {
  if (!v) return 0;
  void *tables = bpf_map_lookup_elem(&tables_slots, &slot);
  void *words = bpf_map_lookup_elem(&words_slots, &slot);
  if (!tables || !words) return 0;
  __u64 now = bpf_ktime_get_coarse_ns();
  nf_count_rule_hit(tables, words, v->egress_outcome, v->egress_table, v->egress_rule, now);
  nf_count_rule_hit(tables, words, v->ingress_outcome, v->ingress_table, v->ingress_rule, now);
  return 0;
}

static __always_inline int nf_addr_eq(const __u8 *a, const __u8 *b) {
  const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
  return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* ICMPv6 housekeeping a pod sends from a link-local or the unspecified address, to a
 * link-scope multicast group (ff02::/16), while it starts up and as long as it runs: router
 * solicitations, multicast listener reports and done, and duplicate address detection (a
 * neighbour solicitation from ::). Its own link-local address is not one the agent knows, so
 * the anti-spoofing check lets these through; being link-scoped, nothing forwards them off
 * the link, and they pass like neighbour discovery (NF_CNT_PASS_NDP). Router advertisements
 * and redirects stay the pod's own addresses' only. */
static __always_inline int nf_link_housekeeping(const struct nf_flow *f) {
  if (f->proto != NF_IPPROTO_ICMPV6 || f->icmp_kind != NF_ICMP_NDP) return 0;
  const __u32 *s = (const __u32 *)f->src;
  const int unspecified = (s[0] | s[1] | s[2] | s[3]) == 0;
  const int link_local = f->src[0] == 0xfe && (f->src[1] & 0xc0) == 0x80;
  if (f->dst[0] != 0xff || (f->dst[1] & 0x0f) != 0x02) return 0;
  switch (f->icmp_type) {
    case 133: /* router solicitation */
    case 131: /* MLDv1 report */
    case 132: /* MLDv1 done */
    case 143: /* MLDv2 report */
      return link_local || unspecified;
    case 135: /* neighbour solicitation: duplicate address detection only */
      return unspecified;
    default:
      return 0;
  }
}

/* Whether `addr` is one of the endpoint's addresses. */
static __always_inline int nf_iface_owns(const struct nf_iface *iface, const __u8 *addr) {
  __u32 n = iface->n_addrs;
#pragma unroll
  for (int i = 0; i < NF_IFACE_MAX_ADDRS; i++) {
    if ((__u32)i < n && nf_addr_eq(iface->addrs[i], addr)) return 1;
  }
  return 0;
}

/* Whether a packet from a pod's interface speaks for an address that is not the pod's: a
 * source address not its own (but for link housekeeping from link-local or ::), or a
 * neighbour advertisement whose target is not its own (neighbour cache poisoning). */
static __always_inline int nf_pod_spoofs(const struct nf_iface *iface, const struct nf_flow *f) {
  if (!nf_iface_owns(iface, f->src) && !nf_link_housekeeping(f)) return 1;
  return f->proto == NF_IPPROTO_ICMPV6 && f->icmp_kind == NF_ICMP_NDP && f->icmp_type == 136 &&
         !nf_iface_owns(iface, f->inner_src);
}

/* An ARP message from a pod: its sender address (v4-mapped) is the pod's, or 0.0.0.0. */
static __always_inline int nf_arp_sender_ok(const struct nf_iface *iface, const __u8 *spa) {
  const __u32 *a = (const __u32 *)spa;
  return a[3] == 0 || nf_iface_owns(iface, spa);
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
static __always_inline int nf_established(struct nf_ctx *c, const struct nf_live *m, const struct nf_ct_key *k,
                                          struct nf_ct_entry *e, int sender_b, int from_uplink, __u64 now) {
  int initiator_b = (e->flags & NF_CT_INITIATOR_B) != 0;
  int dir = sender_b != initiator_b;
  __u32 path = NF_CNT_PASS_CT;
  if (e->epoch != m->epoch) {
    /* Re-classify the connection as its initiator opened it, under the live tables. */
    const __u8 *from = initiator_b ? k->addr_b : k->addr_a;
    const __u8 *to = initiator_b ? k->addr_a : k->addr_b;
    /* From an uplink, the initiator is local only if this is its reply coming back in. */
    struct nf_query *q = nf_new_query(m, k->proto, e->dport, from, to, from_uplink && dir == 0);
    if (!q) return nf_drop(c, NF_DROP_INTERNAL);
    if (nf_classify(q, &c->v)) return nf_drop_ct(c, NF_DROP_REVOKED, k, e);
    nf_ct_admit(e, &c->v, m->epoch);
    path = NF_CNT_PASS_RECHECKED;
  }
  int counted = nf_ct_account(e, &c->f, dir, sender_b, c->bytes, now, c->hook == NF_HOOK_TC);
  return nf_pass(c, path, counted);
}

/* Creates the connection's entry for an allowed new flow; NULL when it is not tracked or the
 * table refused it. */
static __always_inline struct nf_ct_entry *nf_ct_create(const struct nf_ctx *c, const struct nf_live *m, __u64 now) {
  const struct nf_flow *f = &c->f;
  struct nf_ct_key k;
  int sender_b = nf_ct_key_of(f->src, f->key_sport, f->dst, f->key_dport, (__u8)f->proto, &k);
  __u32 zero = 0;
  struct nf_ct_entry *e = bpf_map_lookup_elem(&ct_scratch, &zero); /* off the stack */
  if (!e) return 0;
  __builtin_memset(e, 0, sizeof(*e));
  e->created_ns = now;
  e->last_seen_ns = now;
  e->packets[0] = 1;
  e->bytes[0] = c->bytes;
  e->flags = (sender_b ? NF_CT_INITIATOR_B : 0) | (c->hook == NF_HOOK_TC ? NF_CT_TC_COUNTS_0 : 0);
  e->tcp_flags[0] = f->tcp_flags;
  e->dport = (__u16)f->dport;
  e->ifindex = c->ifindex;
  nf_ct_admit(e, &c->v, m->epoch);
  if (nf_ct_insert(&k, e) != 0) return 0;
  nf_count(NF_CNT_CT_CREATED);
  return e;
}

/* One more connection held by the pod behind `ifindex` (ct_pod_counts). */
static __always_inline void nf_ct_count_pod(__u32 ifindex, __u64 *held) {
  if (held) {
    __sync_fetch_and_add(held, 1);
    return;
  }
  __u64 one = 1;
  if (bpf_map_update_elem(&ct_pod_counts, &ifindex, &one, BPF_NOEXIST) != 0) {
    held = bpf_map_lookup_elem(&ct_pod_counts, &ifindex); /* another CPU's first one */
    if (held) __sync_fetch_and_add(held, 1);
  }
}

/* The whole decision for one packet, at either hook. Returns XDP_PASS or XDP_DROP. */
static __always_inline int nf_decide(void *data, void *data_end, struct nf_ctx *c) {
  struct nf_flow *f = &c->f;
  /* What is behind the interface a packet came in on (XDP; at TC egress the packet is
   * leaving towards the pod): a pod's veth carries only the pod's addresses, an uplink no
   * local sender. */
  __u32 ifindex = c->ifindex;
  struct nf_iface *iface = c->hook == NF_HOOK_XDP ? nf_iface_of(ifindex) : 0;
  c->from_pod = iface && iface->kind == NF_IFACE_ENDPOINT;

  int parsed = nf_parse_packet(data, data_end, f);
  if (parsed == NF_PARSE_NOT_IP) {
    /* A pod's port carries IP and ARP only, and its ARP speaks for the pod's own IPv4 address
     * (or for none: 0.0.0.0, the probe of RFC 5227), as its IP packets do. */
    if (c->from_pod) {
      const int arp = f->proto == NF_PROTO_ARP;
      f->proto = 0; /* not an IP protocol: events say 0, with the ARP sender as source */
      if (!arp) return nf_drop(c, NF_DROP_NOT_IP);
      if (!nf_arp_sender_ok(iface, f->src)) return nf_drop(c, NF_DROP_SPOOFED);
    }
    nf_count(NF_CNT_PASS_NOT_IP);
    nf_record(c, XDP_PASS, 0, NF_CNT_PASS_NOT_IP);
    return XDP_PASS;
  }
  if (parsed != NF_PARSE_IP && parsed != NF_PARSE_FRAGMENT) return nf_drop(c, (__u32)parsed);
  c->parsed = 1;

  struct nf_live m;
  if (!nf_live_slot(&m, &c->generation)) {
    /* No tables yet: fail closed, but for the link's housekeeping (as once they are there). */
    const int spoofed = iface && iface->kind == NF_IFACE_ENDPOINT && nf_pod_spoofs(iface, f);
    if (f->icmp_kind == NF_ICMP_NDP && !spoofed) return nf_pass(c, NF_CNT_PASS_NDP, 1);
    return nf_drop(c, NF_DROP_NO_TABLES);
  }
  c->epoch = m.epoch;

  int from_uplink = 0;
  if (iface) {
    if (iface->kind == NF_IFACE_ENDPOINT && nf_pod_spoofs(iface, f)) return nf_drop(c, NF_DROP_SPOOFED);
    from_uplink = iface->kind == NF_IFACE_UPLINK;
  }
  if (parsed == NF_PARSE_FRAGMENT) {
    /* A later fragment follows its datagram's first one while the programming that allowed
     * that one is live and for NF_FRAG_TIMEOUT_NS at most. */
    struct nf_frag_scratch *fs = nf_frag_scratch(f);
    struct nf_frag_entry *fe = fs ? bpf_map_lookup_elem(&fragments, &fs->key) : 0;
    if (fe && fe->epoch == m.epoch && bpf_ktime_get_ns() - fe->first_ns < NF_FRAG_TIMEOUT_NS)
      return nf_pass(c, NF_CNT_PASS_FRAGMENT, 1);
    if (fe) bpf_map_delete_elem(&fragments, &fs->key);
    /* IPv4 addresses are v4-mapped; an IPv6 header carrying one was dropped by the parser. */
    int v4 = f->src[10] == 0xff && f->src[11] == 0xff && f->src[0] == 0;
    return nf_drop(c, v4 ? NF_DROP_IP4_FRAGMENT : NF_DROP_IP6_FRAGMENT);
  }
  if (f->icmp_kind == NF_ICMP_NDP) return nf_pass(c, NF_CNT_PASS_NDP, 1);

  /* Coarse time (jiffies resolution) is plenty for timeouts of seconds, and cheaper. */
  __u64 now = nf_cfg_conntrack ? bpf_ktime_get_coarse_ns() : 0;
  if (nf_cfg_conntrack) {
    struct nf_ct_key k;
    if (f->icmp_kind == NF_ICMP_ERROR && nf_addr_eq(f->src, f->inner_dst) && nf_addr_eq(f->dst, f->inner_src)) {
      /* An error about a packet of a connection admitted by the live tables follows it, when
       * it comes back from that packet's destination to its source; any other error (a
       * forged or third-party outer header) is an ICMP packet like any other. */
      nf_ct_key_of(f->inner_src, f->inner_sport, f->inner_dst, f->inner_dport, f->inner_proto, &k);
      struct nf_ct_entry *e = nf_ct_lookup(&k);
      if (e && e->epoch == m.epoch) return nf_pass(c, NF_CNT_PASS_RELATED, 1);
    }
    int sender_b = nf_ct_key_of(f->src, f->key_sport, f->dst, f->key_dport, (__u8)f->proto, &k);
    struct nf_ct_entry *e = nf_ct_lookup(&k);
    if (e && nf_ct_usable(e, f, now)) return nf_established(c, &m, &k, e, sender_b, from_uplink, now);
  }

  struct nf_query *q = nf_new_query(&m, f->proto, f->dport, f->src, f->dst, from_uplink);
  if (!q) return nf_drop(c, NF_DROP_INTERNAL);
  int denied = nf_classify(q, &c->v);
  if (denied) {
    if (denied - 1 == NF_DROP_POLICY) nf_count_rule_hits(q->slot, &c->v);
    return nf_drop(c, (__u32)(denied - 1));
  }

  /* Tracked: TCP, UDP, SCTP, ICMP echo and other protocols (ports 0); not ICMP errors or
   * informational messages, which are classified one by one. */
  int icmp = f->proto == IPPROTO_ICMP || f->proto == NF_IPPROTO_ICMPV6;
  struct nf_ct_entry *created = 0; /* the new entry, for the event (NULL: not tracked) */
  if (nf_cfg_conntrack && (!icmp || f->icmp_kind == NF_ICMP_ECHO)) {
    __u64 *held = 0;
    if (nf_cfg_ct_pod_quota && c->from_pod) {
      held = bpf_map_lookup_elem(&ct_pod_counts, &ifindex);
      if (held && *held >= nf_cfg_ct_pod_quota) return nf_drop(c, NF_DROP_CT_QUOTA);
    }
    created = nf_ct_create(c, &m, now);
    if (created && nf_cfg_ct_pod_quota && c->from_pod) nf_ct_count_pod(ifindex, held);
  }
  nf_count_rule_hits(q->slot, &c->v);
  if (nf_cfg_events) nf_emit(c, NF_EV_NEW_FLOW, 0, created);
  return nf_pass(c, NF_CNT_PASS_NEW, 1);
}

SEC("xdp")
int netfence_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct nf_ctx c = {.ifindex = ctx->ingress_ifindex, .bytes = (__u32)(data_end - data), .hook = NF_HOOK_XDP};
  return nf_decide(data, data_end, &c);
}

/* TC egress of a pod's host-side veth: what the node itself sends to the pod crosses no XDP
 * hook. Packets that crossed one on this node (from a pod, or in from the uplink) hit the
 * conntrack entry that hook made and pass. */
SEC("tc")
int netfence_tc(struct __sk_buff *skb) {
  /* Headers may sit beyond the linear part of the skb: pull the first bytes in. */
  __u32 want = skb->len < NF_TC_PULL_BYTES ? skb->len : NF_TC_PULL_BYTES;
  if ((__u32)(skb->data_end - skb->data) < want) bpf_skb_pull_data(skb, want);
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  struct nf_ctx c = {.ifindex = skb->ifindex, .bytes = skb->len, .hook = NF_HOOK_TC};
  return nf_decide(data, data_end, &c) == XDP_PASS ? TC_ACT_OK : TC_ACT_SHOT;
}
