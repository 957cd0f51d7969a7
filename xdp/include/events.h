/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Events for the flow log: new flows, drops and revocations, written to the `events` ring
 * buffer. Conntrack hits write nothing. When the ring is full the event is counted in
 * counters[NF_CNT_EVENTS_LOST] instead; the verdict never waits for the reader. */
#ifndef NETFENCE_XDP_EVENTS_H
#define NETFENCE_XDP_EVENTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "context.h"
#include "maps.h"
#include "netfence_abi.h"

static __always_inline void nf_count(__u32 counter) {
  __u64 *c = bpf_map_lookup_elem(&counters, &counter);
  if (c) *c += 1; /* per CPU: no atomic needed */
}

/* Counts one IP packet of `bytes` under verdict and direction (enum nf_traffic_index). */
static __always_inline void nf_count_traffic(__u32 index, __u32 bytes) {
  struct nf_traffic *t = bpf_map_lookup_elem(&traffic, &index);
  if (!t) return;
  t->packets += 1; /* per CPU: no atomic needed */
  t->bytes += bytes;
}

/* The traffic slot of a packet of this verdict (enum nf_traffic_index). */
static __always_inline __u32 nf_traffic_slot(const struct nf_ctx *c, int denied) {
  return (denied ? NF_TRAFFIC_DENIED_INGRESS : NF_TRAFFIC_ALLOWED_INGRESS) + (c->from_pod ? 1 : 0);
}

/* One event about the packet into the ring; `ct` (NF_EV_NEW_FLOW, NF_EV_REVOKED) is its
 * connection's entry, else NULL. */
static __always_inline void nf_emit(const struct nf_ctx *c, __u8 kind, __u8 reason, const struct nf_ct_entry *ct) {
  struct nf_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    nf_count(NF_CNT_EVENTS_LOST);
    return;
  }
  const struct nf_flow *f = &c->f;
  e->ts_ns = bpf_ktime_get_ns();
  __builtin_memcpy(e->src, f->src, 16);
  __builtin_memcpy(e->dst, f->dst, 16);
  e->sport = f->key_sport;
  e->dport = f->key_dport;
  e->proto = (__u8)f->proto;
  e->kind = kind;
  e->reason = reason;
  e->parsed = (__u8)c->parsed;
  e->ifindex = c->ifindex;
  e->generation = c->generation;
  e->verdict = c->v;
  e->bytes = c->bytes;
  e->icmp_type = f->icmp_type;
  e->icmp_code = f->icmp_code;
  e->hook = (__u8)c->hook;
  e->tcp_flags = f->tcp_flags;
  e->ct_pad = 0;
  if (ct) {
    e->ct_tcp_flags[0] = ct->tcp_flags[0];
    e->ct_tcp_flags[1] = ct->tcp_flags[1];
    e->ct_flags = ct->flags;
    e->ct_epoch = ct->epoch;
    e->ct_created_ns = ct->created_ns;
    e->ct_packets[0] = ct->packets[0];
    e->ct_packets[1] = ct->packets[1];
    e->ct_bytes[0] = ct->bytes[0];
    e->ct_bytes[1] = ct->bytes[1];
  } else {
    e->ct_tcp_flags[0] = e->ct_tcp_flags[1] = 0;
    e->ct_flags = 0;
    e->ct_epoch = 0;
    e->ct_created_ns = 0;
    e->ct_packets[0] = e->ct_packets[1] = 0;
    e->ct_bytes[0] = e->ct_bytes[1] = 0;
  }
  bpf_ringbuf_submit(e, 0);
}

/* Load-time options (the loader sets them in .rodata before verification). */
const volatile __u32 nf_cfg_conntrack = 1;        /* 0: classify every packet (stateless) */
const volatile __u32 nf_cfg_events = 1;           /* 0: no ring-buffer events */
const volatile __u32 nf_cfg_record_decisions = 0; /* 1: fill last_decision (tests) */
const volatile __u32 nf_cfg_verdict_cache = 1;    /* 0: classify over the tables every time */
const volatile __u32 nf_cfg_ct_pod_quota = 0;     /* connections per pod interface; 0: no quota */

/* The packet's decision into last_decision (tests only: nf_cfg_record_decisions). */
static __always_inline void nf_record(const struct nf_ctx *c, __u32 action, __u32 reason, __u32 path) {
  if (!nf_cfg_record_decisions) return;
  __u32 zero = 0;
  struct nf_decision *d = bpf_map_lookup_elem(&last_decision, &zero);
  if (!d) return;
  d->verdict = c->v;
  d->action = action;
  d->drop_reason = reason;
  d->parsed = c->parsed;
  d->proto = c->f.proto;
  d->dport = c->f.dport;
  d->path = path;
  __builtin_memcpy(d->src, c->f.src, 16);
  __builtin_memcpy(d->dst, c->f.dst, 16);
}

#endif /* NETFENCE_XDP_EVENTS_H */
