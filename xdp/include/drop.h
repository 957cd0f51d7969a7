/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one way a packet is dropped (after Cilium's lib/drop.h): its reason and the packet are
 * counted, the flow log gets an event, a revoked connection's entry goes, and the test
 * record is written. Every drop of the program comes through here. */
#ifndef NETFENCE_XDP_DROP_H
#define NETFENCE_XDP_DROP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "conntrack.h"
#include "context.h"
#include "events.h"
#include "maps.h"
#include "netfence_abi.h"

/* Drops the packet for `reason` (enum nf_drop_reason). `cut` and `ct` are the connection it
 * belonged to when the live generation revoked it (NF_DROP_REVOKED): the event carries the
 * entry's last counters, then the entry is deleted; else both are NULL. Returns XDP_DROP. */
static __always_inline int nf_drop_ct(struct nf_ctx *c, __u32 reason, const struct nf_ct_key *cut,
                                      const struct nf_ct_entry *ct) {
  __u64 *count = bpf_map_lookup_elem(&drop_reasons, &reason);
  if (count) *count += 1; /* per CPU: no atomic needed */
  nf_count(NF_CNT_DROP);
  nf_count_traffic(nf_traffic_slot(c, 1), c->bytes);
  if (nf_cfg_events) nf_emit(c, cut ? NF_EV_REVOKED : NF_EV_DROP, (__u8)reason, ct);
  if (cut) nf_ct_delete(cut);
  nf_record(c, XDP_DROP, reason, NF_CNT_DROP);
  return XDP_DROP;
}

static __always_inline int nf_drop(struct nf_ctx *c, __u32 reason) { return nf_drop_ct(c, reason, 0, 0); }

#endif /* NETFENCE_XDP_DROP_H */
