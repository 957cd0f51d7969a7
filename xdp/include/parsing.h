/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing for the XDP program: Ethernet, up to NF_MAX_VLAN_TAGS 802.1Q/802.1ad
 * tags, IPv4 (with options), IPv6 (with up to NF_MAX_IP6_EXT_HEADERS extension headers),
 * then TCP/UDP/SCTP ports or an ICMP/ICMPv6 header (echo id; for errors, the 5-tuple of
 * the packet they are about). Every read is checked against data_end first. The result is
 * the flow key, with IPv4 addresses v4-mapped (::ffff:a.b.c.d) like the compiled tables.
 * A later fragment (offset > 0) has no L4 header: it is reported as NF_PARSE_FRAGMENT with
 * its addresses, protocol and datagram id. */
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
#define NF_PARSE_FRAGMENT 102 /* a later fragment: addresses, proto, frag_id valid */

/* nf_flow.proto of a non-IP frame that is a well-formed IPv4-over-Ethernet ARP message (src
 * holds its v4-mapped sender address): never an IP protocol number. */
#define NF_PROTO_ARP 0x0806

/* What an ICMP or ICMPv6 message is to connection tracking. */
#define NF_ICMP_OTHER 0
#define NF_ICMP_ECHO 1  /* echo request or reply: a flow keyed by the echo id */
#define NF_ICMP_ERROR 2 /* error: inner_* hold the packet it is about */
#define NF_ICMP_NDP 3   /* ICMPv6 link housekeeping (neighbour discovery, multicast listeners): passes */

struct nf_flow {
  __u8 src[16];
  __u8 dst[16];
  __u32 proto;
  __u32 dport;     /* the port classified (0 for protocols without ports) */
  __u16 key_sport; /* conntrack ports: TCP/UDP/SCTP ports, the echo id for ICMP echo */
  __u16 key_dport;
  __u8 tcp_flags;
  __u8 icmp_kind;      /* NF_ICMP_* */
  __u8 first_fragment; /* offset 0 with more fragments to come */
  __u8 inner_proto;    /* for NF_ICMP_ERROR */
  __u32 frag_id;       /* IPv4 id or IPv6 fragment header id, when fragmented */
  __u16 inner_sport;
  __u16 inner_dport;
  __u8 icmp_type; /* ICMP/ICMPv6: the message's type and code (flow logs: Community ID) */
  __u8 icmp_code;
  __u16 pad; /* keeps inner_src 4-byte aligned (compared as words) */
  __u8 inner_src[16]; /* NF_ICMP_ERROR: the quoted packet's; a neighbour advertisement: its target */
  __u8 inner_dst[16];
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

/* The first bytes common to ICMP and ICMPv6 headers (8 bytes: type, code, checksum, and
 * for echo messages the id and sequence number). */
struct nf_icmp_hdr {
  __u8 type;
  __u8 code;
  __be16 checksum;
  __be16 id;
  __be16 seq;
};

/* ARP for IPv4 over Ethernet (RFC 826): the fixed header, then the sender's hardware and
 * protocol addresses. */
struct nf_arp_hdr {
  __be16 htype;
  __be16 ptype;
  __u8 hlen;
  __u8 plen;
  __be16 op;
  __u8 sha[6];
  __u8 spa[4];
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
  return nexthdr == NF_IP6_HOPOPTS || nexthdr == NF_IP6_ROUTING || nexthdr == NF_IP6_FRAGMENT || nexthdr == NF_IP6_AH ||
         nexthdr == NF_IP6_DSTOPTS || nexthdr == NF_IP6_MOBILITY;
}

static __always_inline int nf_is_v4mapped(const struct in6_addr *a) {
  return a->in6_u.u6_addr32[0] == 0 && a->in6_u.u6_addr32[1] == 0 && a->in6_u.u6_addr32[2] == bpf_htonl(0xFFFF);
}

/* The packet an ICMP error quotes: its IP header and the first 8 bytes of its L4 header
 * (ports). Anything not fully there leaves icmp_kind NF_ICMP_OTHER (classified as ICMP). */
static __always_inline void nf_parse_icmp_inner(void *inner, void *data_end, struct nf_flow *f) {
  __u16 *ports;
  if (f->proto == IPPROTO_ICMP) {
    struct iphdr *ip = inner;
    if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5) return;
    ports = inner + ip->ihl * 4;
    __builtin_memset(f->inner_src, 0, 10);
    __builtin_memset(f->inner_dst, 0, 10);
    f->inner_src[10] = f->inner_src[11] = 0xff;
    f->inner_dst[10] = f->inner_dst[11] = 0xff;
    __builtin_memcpy(&f->inner_src[12], &ip->saddr, 4);
    __builtin_memcpy(&f->inner_dst[12], &ip->daddr, 4);
    f->inner_proto = ip->protocol;
  } else {
    struct ipv6hdr *ip6 = inner;
    if ((void *)(ip6 + 1) > data_end) return;
    ports = (void *)(ip6 + 1);
    __builtin_memcpy(f->inner_src, &ip6->saddr, 16);
    __builtin_memcpy(f->inner_dst, &ip6->daddr, 16);
    f->inner_proto = ip6->nexthdr;
  }
  if ((void *)(ports + 2) > data_end) return;
  if (f->inner_proto != IPPROTO_TCP && f->inner_proto != IPPROTO_UDP && f->inner_proto != NF_IPPROTO_SCTP) return;
  f->inner_sport = bpf_ntohs(ports[0]);
  f->inner_dport = bpf_ntohs(ports[1]);
  f->icmp_kind = NF_ICMP_ERROR;
}

/* ICMP: echo (keyed by id), error (quoting a packet), neighbour discovery, or other. */
static __always_inline void nf_parse_icmp(struct nf_icmp_hdr *ih, void *data_end, struct nf_flow *f) {
  __u8 t = ih->type;
  int v6 = f->proto == NF_IPPROTO_ICMPV6;
  f->icmp_type = t;
  f->icmp_code = ih->code;
  int echo = v6 ? (t == 128 || t == 129) : (t == 8 || t == 0);
  int error = v6 ? (t >= 1 && t <= 4) : (t == 3 || t == 11 || t == 12);
  if (echo) {
    __u16 id = bpf_ntohs(ih->id);
    f->key_sport = id;
    f->key_dport = id;
    f->icmp_kind = NF_ICMP_ECHO;
  } else if (error) {
    nf_parse_icmp_inner(ih + 1, data_end, f);
  } else if (v6 && ((t >= 133 && t <= 137) || (t >= 130 && t <= 132) || t == 143)) {
    /* Neighbour discovery (RS, RA, NS, NA, redirect) and multicast listener discovery
     * (query, report, done, MLDv2 report): the link's own housekeeping, never a connection. */
    f->icmp_kind = NF_ICMP_NDP;
    if (t == 136) {
      /* A neighbour advertisement speaks for its target address (after 4 bytes of flags):
       * kept in inner_src for the anti-spoofing check; zero when the message is cut short. */
      __u8 *target = (__u8 *)(ih + 1);
      if ((void *)(target + 16) <= data_end)
        __builtin_memcpy(f->inner_src, target, 16);
      else
        __builtin_memset(f->inner_src, 0, 16);
    }
  }
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
      f->key_sport = bpf_ntohs(th->source);
      f->key_dport = f->dport;
      f->tcp_flags = ((__u8 *)th)[13];
      return NF_PARSE_IP;
    }
    case IPPROTO_UDP: {
      struct udphdr *uh = l4;
      if ((void *)(uh + 1) > data_end || l4_len < sizeof(*uh)) return NF_DROP_L4_TRUNC;
      f->dport = bpf_ntohs(uh->dest);
      f->key_sport = bpf_ntohs(uh->source);
      f->key_dport = f->dport;
      return NF_PARSE_IP;
    }
    case NF_IPPROTO_SCTP: {
      struct nf_sctp_hdr *sh = l4;
      if ((void *)(sh + 1) > data_end || l4_len < sizeof(*sh)) return NF_DROP_L4_TRUNC;
      f->dport = bpf_ntohs(sh->dest);
      f->key_sport = bpf_ntohs(sh->source);
      f->key_dport = f->dport;
      return NF_PARSE_IP;
    }
    case IPPROTO_ICMP:
    case NF_IPPROTO_ICMPV6: {
      struct nf_icmp_hdr *ih = l4;
      if ((void *)(ih + 1) > data_end || l4_len < sizeof(*ih)) return NF_DROP_L4_TRUNC;
      nf_parse_icmp(ih, data_end, f);
      return NF_PARSE_IP;
    }
    default:
      return NF_PARSE_IP; /* classified by protocol alone */
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
  __builtin_memset(f->src, 0, 10);
  __builtin_memset(f->dst, 0, 10);
  f->src[10] = f->src[11] = 0xff;
  f->dst[10] = f->dst[11] = 0xff;
  __builtin_memcpy(&f->src[12], &ip->saddr, 4);
  __builtin_memcpy(&f->dst[12], &ip->daddr, 4);
  f->proto = ip->protocol;
  f->frag_id = bpf_ntohs(ip->id);
  if (ip->frag_off & bpf_htons(0x1FFF)) return NF_PARSE_FRAGMENT;
  f->first_fragment = (ip->frag_off & bpf_htons(0x2000)) != 0;
  return nf_parse_l4(nh + hlen, data_end, tot - hlen, f);
}

static __always_inline int nf_parse_ip6(void *nh, void *data_end, struct nf_flow *f) {
  struct ipv6hdr *ip6 = nh;
  if ((void *)(ip6 + 1) > data_end) return NF_DROP_IP6_TRUNC;
  if (ip6->version != 6) return NF_DROP_IP6_VERSION;
  __u32 plen = bpf_ntohs(ip6->payload_len); /* 0: a jumbogram; bounded by the frame only */
  if ((void *)(ip6 + 1) + plen > data_end) return NF_DROP_IP6_TRUNC;
  /* IPv4 lives in the tables as ::ffff:a.b.c.d: such an address in an IPv6 header would
   * take the identity of the IPv4 pod. It never appears on the wire (RFC 4038). */
  if (nf_is_v4mapped(&ip6->saddr) || nf_is_v4mapped(&ip6->daddr)) return NF_DROP_IP6_V4MAPPED;
  __builtin_memcpy(f->src, &ip6->saddr, 16);
  __builtin_memcpy(f->dst, &ip6->daddr, 16);
  __u32 nexthdr = ip6->nexthdr;
  void *cursor = ip6 + 1;
  __u32 ext_len = 0; /* extension header bytes walked */
#pragma unroll
  for (int i = 0; i < NF_MAX_IP6_EXT_HEADERS; i++) {
    if (!nf_is_ip6_ext(nexthdr)) break;
    if (nexthdr == NF_IP6_FRAGMENT) {
      struct nf_ip6_frag *fh = cursor;
      if ((void *)(fh + 1) > data_end) return NF_DROP_IP6_EXT_TRUNC;
      f->frag_id = bpf_ntohl(fh->id);
      if (fh->frag_off & bpf_htons(0xFFF8)) {
        f->proto = fh->nexthdr;
        return NF_PARSE_FRAGMENT;
      }
      f->first_fragment = (fh->frag_off & bpf_htons(1)) != 0;
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

/* An ARP message's sender address, when it is IPv4 over Ethernet and whole: f->proto becomes
 * NF_PROTO_ARP and f->src the v4-mapped sender address (a pod's port checks it like an IP
 * source). Anything else leaves f->proto 0. */
static __always_inline void nf_parse_arp(void *nh, void *data_end, struct nf_flow *f) {
  struct nf_arp_hdr *a = nh;
  if ((void *)(a + 1) > data_end) return;
  if (a->htype != bpf_htons(1) || a->ptype != bpf_htons(ETH_P_IP) || a->hlen != 6 || a->plen != 4) return;
  __builtin_memset(f->src, 0, 10);
  f->src[10] = f->src[11] = 0xff;
  __builtin_memcpy(&f->src[12], a->spa, 4);
  f->proto = NF_PROTO_ARP;
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
  if (proto == bpf_htons(ETH_P_ARP)) nf_parse_arp(cursor, data_end, f);
  return NF_PARSE_NOT_IP;
}

#endif /* NETFENCE_XDP_PARSING_H */
