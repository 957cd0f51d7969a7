/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Keys and values of the Cilium-design peer (cilium_peer.bpf.c), shared with its loader
 * (bench/cilium_peer.h). IPv4 only; addresses and ports in network byte order. */
#ifndef NETFENCE_BENCH_CILIUM_PEER_H
#define NETFENCE_BENCH_CILIUM_PEER_H

#include <linux/types.h>

/* ipcache: LPM trie, address prefix -> security identity (Cilium's cilium_ipcache). */
struct cp_ipcache_key {
  __u32 prefixlen;
  __u32 addr;
};
struct cp_ipcache_value {
  __u32 identity;
};

/* Local endpoints by address (Cilium's cilium_lxc): the endpoint id names its policy map. */
struct cp_endpoint {
  __u32 id;
};

/* Per-endpoint policy (Cilium's cilium_policy_<id>): (peer identity, direction, protocol,
 * port) -> verdict. Identity 0 is "any peer" (L4-only rules), protocol and port 0 "any port"
 * (L3-only rules): a lookup tries exact, then L3-only, then L4-only, then allow-all. */
struct cp_policy_key {
  __u32 identity;
  __u16 dport; /* network byte order */
  __u8 proto;
  __u8 egress; /* 0 ingress */
};
struct cp_policy_value {
  __u32 deny; /* 0: allow */
  __u32 pad;
};

/* Conntrack (Cilium's cilium_ct4_global): the 5-tuple as the packet carries it; a reply
 * finds the entry by its reversed tuple. */
struct cp_ct_key {
  __u32 saddr;
  __u32 daddr;
  __u16 sport;
  __u16 dport;
  __u8 proto;
  __u8 pad[3];
};
struct cp_ct_entry {
  __u64 last_seen_ns;
  __u64 packets;
  __u64 bytes;
  __u32 flags;
  __u32 pad;
};

#define CP_CNT_PASS 0
#define CP_CNT_DROP 1
#define CP_COUNTERS 2

#endif /* NETFENCE_BENCH_CILIUM_PEER_H */
