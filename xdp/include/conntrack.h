/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Connection tracking: one LRU entry per connection, keyed by the normalised 5-tuple, so
 * that both directions find it. The entry remembers who opened the connection, the
 * generation whose policy admitted it (a packet under a newer generation re-classifies the
 * connection: revoked ones are cut), per-direction counters and enough TCP state to expire
 * closed connections quickly. */
#ifndef NETFENCE_XDP_CONNTRACK_H
#define NETFENCE_XDP_CONNTRACK_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "netfence_abi.h"
#include "parsing.h"

#define NF_TCP_FIN 0x01
#define NF_TCP_SYN 0x02
#define NF_TCP_RST 0x04
#define NF_TCP_ACK 0x10

/* <0, 0, >0 as (a, pa) compares to (b, pb): addresses word by word, then ports. */
static __always_inline int nf_endpoint_cmp(const __u8 *a, __u16 pa, const __u8 *b, __u16 pb) {
  const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
#pragma unroll
  for (int i = 0; i < 4; i++) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  if (pa != pb) return pa < pb ? -1 : 1;
  return 0;
}

/* Fills the normalised key of a packet src:sport -> dst:dport; returns 1 when the sender
 * is side b. */
static __always_inline int nf_ct_key_of(const __u8 *src, __u16 sport, const __u8 *dst, __u16 dport, __u8 proto,
                                        struct nf_ct_key *k) {
  int sender_b = nf_endpoint_cmp(src, sport, dst, dport) > 0;
  __builtin_memcpy(k->addr_a, sender_b ? dst : src, 16);
  __builtin_memcpy(k->addr_b, sender_b ? src : dst, 16);
  k->port_a = sender_b ? dport : sport;
  k->port_b = sender_b ? sport : dport;
  k->proto = proto;
  k->pad[0] = k->pad[1] = k->pad[2] = 0;
  return sender_b;
}

/* Whether both addresses of the key are v4-mapped (::ffff:a.b.c.d): an IPv4 connection. */
static __always_inline int nf_ct_is_v4(const struct nf_ct_key *k) {
  const __u32 *a = (const __u32 *)k->addr_a, *b = (const __u32 *)k->addr_b;
  return (a[0] | a[1] | b[0] | b[1]) == 0 && a[2] == bpf_htonl(0xFFFF) && b[2] == bpf_htonl(0xFFFF);
}

static __always_inline void nf_ct4_key_of(const struct nf_ct_key *k, struct nf_ct4_key *k4) {
  k4->addr_a = ((const __u32 *)k->addr_a)[3];
  k4->addr_b = ((const __u32 *)k->addr_b)[3];
  k4->port_a = k->port_a;
  k4->port_b = k->port_b;
  k4->proto = k->proto;
  k4->pad[0] = k4->pad[1] = k4->pad[2] = 0;
}

/* The connection's entry, from conntrack4 (IPv4) or conntrack (IPv6); NULL when untracked. */
static __always_inline struct nf_ct_entry *nf_ct_lookup(const struct nf_ct_key *k) {
  if (nf_ct_is_v4(k)) {
    struct nf_ct4_key k4;
    nf_ct4_key_of(k, &k4);
    return bpf_map_lookup_elem(&conntrack4, &k4);
  }
  return bpf_map_lookup_elem(&conntrack, k);
}

static __always_inline long nf_ct_insert(const struct nf_ct_key *k, const struct nf_ct_entry *e) {
  if (nf_ct_is_v4(k)) {
    struct nf_ct4_key k4;
    nf_ct4_key_of(k, &k4);
    return bpf_map_update_elem(&conntrack4, &k4, e, BPF_ANY);
  }
  return bpf_map_update_elem(&conntrack, k, e, BPF_ANY);
}

static __always_inline void nf_ct_delete(const struct nf_ct_key *k) {
  if (nf_ct_is_v4(k)) {
    struct nf_ct4_key k4;
    nf_ct4_key_of(k, &k4);
    bpf_map_delete_elem(&conntrack4, &k4);
    return;
  }
  bpf_map_delete_elem(&conntrack, k);
}

/* How long the entry lives after its last packet. */
static __always_inline __u64 nf_ct_timeout(const struct nf_ct_entry *e, __u8 proto) {
  if (proto != IPPROTO_TCP) return NF_CT_TIMEOUT_OTHER;
  if (e->flags & NF_CT_CLOSED) return NF_CT_TIMEOUT_TCP_CLOSE;
  if (!(e->flags & NF_CT_SEEN_REPLY)) return NF_CT_TIMEOUT_TCP_SYN;
  return NF_CT_TIMEOUT_TCP_EST;
}

/* Whether the entry still describes a live connection the packet belongs to: not expired,
 * and not a closed TCP connection that a fresh SYN is reopening. */
static __always_inline int nf_ct_usable(const struct nf_ct_entry *e, const struct nf_flow *f, __u64 now) {
  if (now - e->last_seen_ns > nf_ct_timeout(e, (__u8)f->proto)) return 0;
  if (f->proto == IPPROTO_TCP && (e->flags & NF_CT_CLOSED) &&
      (f->tcp_flags & (NF_TCP_SYN | NF_TCP_ACK)) == NF_TCP_SYN) {
    return 0;
  }
  return 1;
}

/* Accounts a packet of direction `dir` (0 initiator, 1 reply) sent by side b or a, seen at
 * TC egress (`tc`) or XDP; counted only at the hook that counts that direction. Returns 1
 * when it was counted here. */
static __always_inline int nf_ct_account(struct nf_ct_entry *e, const struct nf_flow *f, int dir, int sender_b,
                                         __u32 bytes, __u64 now, int tc) {
  e->last_seen_ns = now;
  if (dir && !(e->flags & NF_CT_SEEN_REPLY)) {
    __sync_fetch_and_or(&e->flags, NF_CT_SEEN_REPLY | (tc ? NF_CT_TC_COUNTS_1 : 0));
  }
  __u32 tc_bit = dir ? NF_CT_TC_COUNTS_1 : NF_CT_TC_COUNTS_0;
  if (((e->flags & tc_bit) != 0) != (tc != 0)) return 0; /* counted at the other hook */
  if (dir) {
    __sync_fetch_and_add(&e->packets[1], 1);
    __sync_fetch_and_add(&e->bytes[1], bytes);
  } else {
    __sync_fetch_and_add(&e->packets[0], 1);
    __sync_fetch_and_add(&e->bytes[0], bytes);
  }
  if (f->proto != IPPROTO_TCP) return 1;
  __u8 fl = f->tcp_flags;
  if ((e->tcp_flags[dir & 1] | fl) != e->tcp_flags[dir & 1]) e->tcp_flags[dir & 1] |= fl;
  if (fl & (NF_TCP_FIN | NF_TCP_RST)) {
    __u32 add = (fl & NF_TCP_RST) ? NF_CT_CLOSED : (sender_b ? NF_CT_FIN_B : NF_CT_FIN_A);
    __u32 now_flags = e->flags | add;
    if ((now_flags & (NF_CT_FIN_A | NF_CT_FIN_B)) == (NF_CT_FIN_A | NF_CT_FIN_B)) add |= NF_CT_CLOSED;
    __sync_fetch_and_or(&e->flags, add);
  }
  return 1;
}

#endif /* NETFENCE_XDP_CONNTRACK_H */
