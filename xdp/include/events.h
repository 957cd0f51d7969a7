/* Events for the flow log: new flows, drops and revocations, written to the `events` ring
 * buffer. Conntrack hits write nothing. When the ring is full the event is counted in
 * counters[NF_CNT_EVENTS_LOST] instead; the verdict never waits for the reader. */
#ifndef NETFENCE_XDP_EVENTS_H
#define NETFENCE_XDP_EVENTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "netfence_abi.h"
#include "parsing.h"

static __always_inline void nf_count(__u32 counter) {
  __u64 *c = bpf_map_lookup_elem(&counters, &counter);
  if (c) *c += 1;  /* per CPU: no atomic needed */
}

static __always_inline void nf_emit(__u32 ifindex, __u32 bytes, __u8 kind, __u8 reason, int parsed, const struct nf_flow *f,
                                    const struct nf_verdict *v, __u64 generation) {
  struct nf_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    nf_count(NF_CNT_EVENTS_LOST);
    return;
  }
  e->ts_ns = bpf_ktime_get_ns();
  __builtin_memcpy(e->src, f->src, 16);
  __builtin_memcpy(e->dst, f->dst, 16);
  e->sport = f->key_sport;
  e->dport = f->key_dport;
  e->proto = (__u8)f->proto;
  e->kind = kind;
  e->reason = reason;
  e->parsed = (__u8)parsed;
  e->ifindex = ifindex;
  e->generation = generation;
  e->verdict = *v;
  e->bytes = bytes;
  bpf_ringbuf_submit(e, 0);
}

#endif /* NETFENCE_XDP_EVENTS_H */
