/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The live-frames generator of peers_bench: run by BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES on one end of a veth pair, it sends every frame to the other end
 * (XDP_TX). With nfg_span > 0 each frame gets the next TCP source port of
 * [nfg_base, nfg_base + nfg_span) and its checksum is updated to match (RFC 1624), so a
 * stream of one frame becomes a stream of distinct connections (new flows for every system
 * under test); with nfg_span == 0 the frame goes out as it is (one flow). The frame is
 * Ethernet + IPv4 without options + TCP, as peers_bench builds it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 nfg_base = 1024;
const volatile __u32 nfg_span = 0;

/* Frames sent, per CPU (also the source of the next port). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 1);
} nfg_sent SEC(".maps");

static __always_inline __u16 nfg_csum_replace(__u16 check, __u16 old, __u16 now) {
  __u32 sum = (__u16)~check + (__u32)(__u16)~old + now;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

SEC("xdp")
int nfg_flowgen(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u32 zero = 0;
  __u64* sent = bpf_map_lookup_elem(&nfg_sent, &zero);
  if (!sent) return XDP_ABORTED;
  __u64 n = (*sent)++;
  if (nfg_span == 0) return XDP_TX;
  struct ethhdr* eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  struct tcphdr* tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > data_end) return XDP_ABORTED;
  __u16 port = bpf_htons((__u16)(nfg_base + n % nfg_span));
  tcp->check = nfg_csum_replace(tcp->check, tcp->source, port);
  tcp->source = port;
  return XDP_TX;
}
