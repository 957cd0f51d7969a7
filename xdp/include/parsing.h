/* Packet parsing for the XDP classifier: Ethernet, up to NF_MAX_VLAN_TAGS 802.1Q/802.1ad
 * tags, IPv4 (with options), IPv6 (with up to NF_MAX_IP6_EXT_HEADERS extension headers),
 * then the TCP/UDP/SCTP destination port or an ICMP/ICMPv6 header. Every read is checked
 * against data_end first. The result is the flow key the classifier needs, with IPv4
 * addresses v4-mapped (::ffff:a.b.c.d) like the compiled tables. */
#ifndef NETFENCE_XDP_PARSING_H
#define NETFENCE_XDP_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "netfence_abi.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define NF_IPPROTO_ICMPV6 58
#define NF_IPPROTO_SCTP 132
#define NF_IP6_HOPOPTS 0
#define NF_IP6_ROUTING 43
#define NF_IP6_FRAGMENT 44
#define NF_IP6_AH 51
#define NF_IP6_DSTOPTS 60
#define NF_IP6_MOBILITY 135

/* parse_packet() results besides a drop reason (enum nf_drop_reason). */
#define NF_PARSE_IP 100
#define NF_PARSE_NOT_IP 101

struct nf_flow {
  __u8 src[16];
  __u8 dst[16];
  __u32 proto;
  __u32 dport;
};

struct nf_vlan_hdr {
  __be16 tci;
  __be16 encap_proto;
};

struct nf_ip6_opt {
  __u8 nexthdr;
  __u8 hdrlen;
};

struct nf_ip6_frag {
  __u8 nexthdr;
  __u8 reserved;
  __be16 frag_off;
  __be32 id;
};

/* The first bytes common to ICMP and ICMPv6 headers (8 bytes: type, code, checksum, rest). */
struct nf_icmp_hdr {
  __u8 type;
  __u8 code;
  __be16 checksum;
  __be32 rest;
};

/* SCTP common header. */
struct nf_sctp_hdr {
  __be16 source;
  __be16 dest;
  __be32 vtag;
  __be32 checksum;
};

static __always_inline int nf_is_vlan(__be16 proto) {
  return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline int nf_is_ip6_ext(__u32 nexthdr) {
  return nexthdr == NF_IP6_HOPOPTS || nexthdr == NF_IP6_ROUTING || nexthdr == NF_IP6_FRAGMENT ||
         nexthdr == NF_IP6_AH || nexthdr == NF_IP6_DSTOPTS || nexthdr == NF_IP6_MOBILITY;
}

static __always_inline int nf_is_v4mapped(const struct in6_addr *a) {
  return a->in6_u.u6_addr32[0] == 0 && a->in6_u.u6_addr32[1] == 0 && a->in6_u.u6_addr32[2] == bpf_htonl(0xFFFF);
}

/* The L4 header at `l4`: the destination port of TCP/UDP/SCTP, a length check for ICMP.
 * `l4_len` is what the IP header says follows (frames may carry padding past it). */
static __always_inline int nf_parse_l4(void *l4, void *data_end, __u32 l4_len, struct nf_flow *f) {
  f->dport = 0;
  switch (f->proto) {
    case IPPROTO_TCP: {
      struct tcphdr *th = l4;
      if ((void *)(th + 1) > data_end || l4_len < sizeof(*th)) return NF_DROP_L4_TRUNC;
      if (th->doff < 5) return NF_DROP_TCP_DOFF;
      if (l4 + th->doff * 4 > data_end || l4_len < th->doff * 4u) return NF_DROP_L4_TRUNC;
      f->dport = bpf_ntohs(th->dest);
      return NF_PARSE_IP;
    }
    case IPPROTO_UDP: {
      struct udphdr *uh = l4;
      if ((void *)(uh + 1) > data_end || l4_len < sizeof(*uh)) return NF_DROP_L4_TRUNC;
      f->dport = bpf_ntohs(uh->dest);
      return NF_PARSE_IP;
    }
    case NF_IPPROTO_SCTP: {
      struct nf_sctp_hdr *sh = l4;
      if ((void *)(sh + 1) > data_end || l4_len < sizeof(*sh)) return NF_DROP_L4_TRUNC;
      f->dport = bpf_ntohs(sh->dest);
      return NF_PARSE_IP;
    }
    case IPPROTO_ICMP:
    case NF_IPPROTO_ICMPV6: {
      struct nf_icmp_hdr *ih = l4;
      if ((void *)(ih + 1) > data_end || l4_len < sizeof(*ih)) return NF_DROP_L4_TRUNC;
      return NF_PARSE_IP;
    }
    default:
      return NF_PARSE_IP;  /* classified by protocol alone */
  }
}

static __always_inline int nf_parse_ip4(void *nh, void *data_end, struct nf_flow *f) {
  struct iphdr *ip = nh;
  if ((void *)(ip + 1) > data_end) return NF_DROP_IP4_TRUNC;
  if (ip->version != 4) return NF_DROP_IP4_VERSION;
  __u32 hlen = ip->ihl * 4;
  if (hlen < sizeof(*ip)) return NF_DROP_IP4_IHL;
  if (nh + hlen > data_end) return NF_DROP_IP4_TRUNC;
  __u32 tot = bpf_ntohs(ip->tot_len);
  if (tot < hlen) return NF_DROP_IP4_LEN;
  if (nh + tot > data_end) return NF_DROP_IP4_TRUNC;
  if (ip->frag_off & bpf_htons(0x1FFF)) return NF_DROP_IP4_FRAGMENT;
  __builtin_memset(f->src, 0, 10);
  __builtin_memset(f->dst, 0, 10);
  f->src[10] = f->src[11] = 0xff;
  f->dst[10] = f->dst[11] = 0xff;
  __builtin_memcpy(&f->src[12], &ip->saddr, 4);
  __builtin_memcpy(&f->dst[12], &ip->daddr, 4);
  f->proto = ip->protocol;
  return nf_parse_l4(nh + hlen, data_end, tot - hlen, f);
}

static __always_inline int nf_parse_ip6(void *nh, void *data_end, struct nf_flow *f) {
  struct ipv6hdr *ip6 = nh;
  if ((void *)(ip6 + 1) > data_end) return NF_DROP_IP6_TRUNC;
  if (ip6->version != 6) return NF_DROP_IP6_VERSION;
  __u32 plen = bpf_ntohs(ip6->payload_len);  /* 0: a jumbogram; bounded by the frame only */
  if ((void *)(ip6 + 1) + plen > data_end) return NF_DROP_IP6_TRUNC;
  /* IPv4 lives in the tables as ::ffff:a.b.c.d: such an address in an IPv6 header would
   * take the identity of the IPv4 pod. It never appears on the wire (RFC 4038). */
  if (nf_is_v4mapped(&ip6->saddr) || nf_is_v4mapped(&ip6->daddr)) return NF_DROP_IP6_V4MAPPED;
  __builtin_memcpy(f->src, &ip6->saddr, 16);
  __builtin_memcpy(f->dst, &ip6->daddr, 16);
  __u32 nexthdr = ip6->nexthdr;
  void *cursor = ip6 + 1;
  __u32 ext_len = 0;  /* extension header bytes walked */
#pragma unroll
  for (int i = 0; i < NF_MAX_IP6_EXT_HEADERS; i++) {
    if (!nf_is_ip6_ext(nexthdr)) break;
    if (nexthdr == NF_IP6_FRAGMENT) {
      struct nf_ip6_frag *fh = cursor;
      if ((void *)(fh + 1) > data_end) return NF_DROP_IP6_EXT_TRUNC;
      if (fh->frag_off & bpf_htons(0xFFF8)) return NF_DROP_IP6_FRAGMENT;
      nexthdr = fh->nexthdr;
      cursor = fh + 1;
      ext_len += sizeof(*fh);
      continue;
    }
    struct nf_ip6_opt *oh = cursor;
    if ((void *)(oh + 1) > data_end) return NF_DROP_IP6_EXT_TRUNC;
    __u32 len = nexthdr == NF_IP6_AH ? ((__u32)oh->hdrlen + 2) * 4 : ((__u32)oh->hdrlen + 1) * 8;
    if (cursor + len > data_end) return NF_DROP_IP6_EXT_TRUNC;
    nexthdr = oh->nexthdr;
    cursor += len;
    ext_len += len;
  }
  if (nf_is_ip6_ext(nexthdr)) return NF_DROP_IP6_EXT_DEPTH;
  f->proto = nexthdr;
  if (plen == 0) plen = 0xFFFFFFFFu;
  if (ext_len > plen) return NF_DROP_IP6_EXT_TRUNC;
  return nf_parse_l4(cursor, data_end, plen - ext_len, f);
}

/* NF_PARSE_IP (flow filled), NF_PARSE_NOT_IP (pass it on), or a drop reason. */
static __always_inline int nf_parse_packet(void *data, void *data_end, struct nf_flow *f) {
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return NF_DROP_ETH_TRUNC;
  __be16 proto = eth->h_proto;
  void *cursor = eth + 1;
#pragma unroll
  for (int i = 0; i < NF_MAX_VLAN_TAGS; i++) {
    if (!nf_is_vlan(proto)) break;
    struct nf_vlan_hdr *vh = cursor;
    if ((void *)(vh + 1) > data_end) return NF_DROP_VLAN_TRUNC;
    proto = vh->encap_proto;
    cursor = vh + 1;
  }
  if (nf_is_vlan(proto)) return NF_DROP_VLAN_DEPTH;
  if (proto == bpf_htons(ETH_P_IP)) return nf_parse_ip4(cursor, data_end, f);
  if (proto == bpf_htons(ETH_P_IPV6)) return nf_parse_ip6(cursor, data_end, f);
  return NF_PARSE_NOT_IP;
}

#endif /* NETFENCE_XDP_PARSING_H */
