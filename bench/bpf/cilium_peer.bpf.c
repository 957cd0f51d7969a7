/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The Cilium-design peer of peers_bench: a policy datapath written after Cilium's
 * (bpf_lxc's ingress policy, lib/conntrack.h, lib/policy.h), with the same steps in the same
 * order, so that netfence's shared bitmap tables are compared with per-endpoint policy maps:
 *
 *   parse IPv4 + TCP/UDP ─ conntrack lookup (tuple, then reversed) ─ hit ─► PASS
 *   miss ─ destination a local endpoint? no ─► PASS (not ours to police)
 *        ─ source identity from the ipcache (LPM) ─ the endpoint's policy map:
 *          exact (identity, proto, port), L3-only (identity), L4-only (proto, port), all
 *        ─ allowed ─► conntrack entry, PASS;  denied ─► DROP
 *
 * Counters count every verdict (peers_bench reads them for the received rate). IPv4 only;
 * no events (Cilium's drop notifications are off, as netfence's events are in the bench). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "cilium_peer.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct cp_ipcache_key);
  __type(value, struct cp_ipcache_value);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} cp_ipcache SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u32); /* IPv4 address */
  __type(value, struct cp_endpoint);
  __uint(max_entries, 4096);
} cp_endpoints SEC(".maps");

/* Sizes rather than BTF types: the template is never instantiated, so its key and value
 * structs would only be forward-declared in BTF. */
struct cp_policy_map {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(key_size, sizeof(struct cp_policy_key));
  __uint(value_size, sizeof(struct cp_policy_value));
  __uint(max_entries, 1);
};
/* Endpoint id -> its policy map (the loader sizes each inner map to its entries). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __array(values, struct cp_policy_map);
} cp_policy SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct cp_ct_key);
  __type(value, struct cp_ct_entry);
  __uint(max_entries, 262144);
} cp_conntrack SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, CP_COUNTERS);
} cp_counters SEC(".maps");

static __always_inline int cp_verdict(__u32 counter, int action) {
  __u64* c = bpf_map_lookup_elem(&cp_counters, &counter);
  if (c) *c += 1;
  return action;
}

/* Cilium's policy_can_access(): the exact key, then the wildcards. */
static __always_inline int cp_allowed(void* policy, __u32 identity, __u8 proto, __u16 dport) {
  struct cp_policy_key k = {.identity = identity, .dport = dport, .proto = proto, .egress = 0};
  struct cp_policy_value* v = bpf_map_lookup_elem(policy, &k);
  if (!v) {
    k.dport = 0; /* L3-only: any port of this peer */
    k.proto = 0;
    v = bpf_map_lookup_elem(policy, &k);
  }
  if (!v) {
    k.identity = 0; /* L4-only: this port from any peer */
    k.dport = dport;
    k.proto = proto;
    v = bpf_map_lookup_elem(policy, &k);
  }
  if (!v) {
    k.dport = 0; /* allow-all */
    k.proto = 0;
    v = bpf_map_lookup_elem(policy, &k);
  }
  return v && !v->deny;
}

SEC("xdp")
int cp_xdp(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return cp_verdict(CP_CNT_DROP, XDP_DROP);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return cp_verdict(CP_CNT_PASS, XDP_PASS);
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl < 5) return cp_verdict(CP_CNT_DROP, XDP_DROP);
  __u16* ports = (void*)ip + ip->ihl * 4;
  struct cp_ct_key k = {.saddr = ip->saddr, .daddr = ip->daddr, .proto = ip->protocol};
  if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
    if ((void*)(ports + 2) > data_end) return cp_verdict(CP_CNT_DROP, XDP_DROP);
    k.sport = ports[0];
    k.dport = ports[1];
  }
  __u32 bytes = (__u32)(data_end - data);

  /* Conntrack: the tuple, then the reply's. */
  __u64 now = bpf_ktime_get_coarse_ns();
  struct cp_ct_entry* e = bpf_map_lookup_elem(&cp_conntrack, &k);
  if (!e) {
    struct cp_ct_key r = {.saddr = k.daddr, .daddr = k.saddr, .sport = k.dport, .dport = k.sport, .proto = k.proto};
    e = bpf_map_lookup_elem(&cp_conntrack, &r);
  }
  if (e) {
    e->last_seen_ns = now;
    __sync_fetch_and_add(&e->packets, 1);
    __sync_fetch_and_add(&e->bytes, bytes);
    return cp_verdict(CP_CNT_PASS, XDP_PASS);
  }

  /* A new flow: the receiving endpoint's ingress policy. */
  __u32 daddr = k.daddr;
  struct cp_endpoint* ep = bpf_map_lookup_elem(&cp_endpoints, &daddr);
  if (!ep) return cp_verdict(CP_CNT_PASS, XDP_PASS);
  __u32 id = ep->id;
  void* policy = bpf_map_lookup_elem(&cp_policy, &id);
  if (!policy) return cp_verdict(CP_CNT_DROP, XDP_DROP);
  struct cp_ipcache_key ik = {.prefixlen = 32, .addr = k.saddr};
  struct cp_ipcache_value* src = bpf_map_lookup_elem(&cp_ipcache, &ik);
  __u32 identity = src ? src->identity : 2; /* Cilium's "world" */
  if (!cp_allowed(policy, identity, k.proto, k.dport)) return cp_verdict(CP_CNT_DROP, XDP_DROP);

  struct cp_ct_entry fresh = {.last_seen_ns = now, .packets = 1, .bytes = bytes};
  bpf_map_update_elem(&cp_conntrack, &k, &fresh, BPF_ANY);
  return cp_verdict(CP_CNT_PASS, XDP_PASS);
}
