/* netfence XDP ABI: the map keys and values, shared by the BPF program (C, clang -target
 * bpf) and the user-space loader (C++, dataplane/xdp/). Plain structs of fixed-size
 * integers, no implicit padding: both sides see the same bytes. */
#ifndef NETFENCE_XDP_ABI_H
#define NETFENCE_XDP_ABI_H

#include <linux/types.h>

#define NF_EMPTY_ROW 0xFFFFFFFFu       /* the row with no rule, stored nowhere */
#define NF_FIRST_POD_IDENTITY 256u     /* ids below are reserved (0 world, 1 host) */
#define NF_MAX_SUMMARY_WORDS 1024u     /* 1024 * 64 * 64 = 4M rule bits per table */
#define NF_MAX_IP6_EXT_HEADERS 6       /* extension headers walked before giving up */
#define NF_MAX_VLAN_TAGS 2
#define NF_DROP_REASONS 32             /* entries of the drop_reasons counter array */

/* ipcache value flags */
#define NF_IP_LOCAL_ENDPOINT 0x1u

/* LPM prefix lengths: the table id (32 bits) is the first part of every prefix. */
#define NF_CIDR_TABLE_BITS 32u
#define NF_PORT_FULL_PREFIX (32u + 8u + 16u)

/* ipcache: 16-byte address (IPv4 v4-mapped ::ffff:a.b.c.d) -> identity and tables. */
struct nf_ip_key {
  __u8 addr[16];
};
struct nf_ip_info {
  __u32 identity;
  __u32 ingress_table;  /* valid when flags & NF_IP_LOCAL_ENDPOINT */
  __u32 egress_table;
  __u32 flags;
};

/* tables: ARRAY indexed by table id (RuleTables.tables index). */
struct nf_table {
  __u32 isolated;
  __u32 summary_words;
  __u32 row_words;
  __u32 all_pods_row;
  __u32 other_row;
};

/* id_rows: (table, pod identity) -> row. */
struct nf_id_key {
  __u32 table;
  __u32 identity;
};

/* cidr_rows: LPM trie; prefixlen = 32 + prefix length in the 128-bit space. */
struct nf_cidr_key {
  __u32 prefixlen;
  __u32 table_be;  /* table id, big-endian (part of the prefix) */
  __u8 addr[16];
};

/* port_rows: LPM trie; prefixlen = 32 + 8 + (16 - log2(block size)). */
struct nf_port_key {
  __u32 prefixlen;
  __u32 table_be;
  __u8 proto;
  __u8 port_be[2];
  __u8 pad;  /* zero; beyond every prefix */
};

enum nf_outcome {
  NF_NOT_ISOLATED = 0,
  NF_ALLOWED = 1,
  NF_DENIED = 2,
};

/* Why a packet was dropped (index into drop_reasons). */
enum nf_drop_reason {
  NF_DROP_POLICY = 0,         /* a direction denied it */
  NF_DROP_ETH_TRUNC = 1,      /* shorter than an Ethernet header */
  NF_DROP_VLAN_TRUNC = 2,     /* VLAN tag cut short */
  NF_DROP_VLAN_DEPTH = 3,     /* more than NF_MAX_VLAN_TAGS tags */
  NF_DROP_IP4_TRUNC = 4,      /* IPv4 header (with options) or total length past the end */
  NF_DROP_IP4_VERSION = 5,    /* ethertype IPv4 but version != 4 */
  NF_DROP_IP4_IHL = 6,        /* IHL < 5 */
  NF_DROP_IP4_LEN = 7,        /* total length shorter than the header */
  NF_DROP_IP4_FRAGMENT = 8,   /* non-first fragment: no L4 header to classify */
  NF_DROP_IP6_TRUNC = 9,      /* IPv6 header or payload length past the end */
  NF_DROP_IP6_VERSION = 10,
  NF_DROP_IP6_EXT_TRUNC = 11, /* extension header cut short */
  NF_DROP_IP6_EXT_DEPTH = 12, /* more than NF_MAX_IP6_EXT_HEADERS extension headers */
  NF_DROP_IP6_FRAGMENT = 13,  /* non-first fragment */
  NF_DROP_L4_TRUNC = 14,      /* TCP/UDP/SCTP/ICMP/ICMPv6 header cut short */
  NF_DROP_TCP_DOFF = 15,      /* TCP data offset < 5 */
  NF_DROP_INTERNAL = 16,      /* tables inconsistent with the maps (fail closed) */
  NF_DROP_IP6_V4MAPPED = 17,  /* IPv6 header with a ::ffff:a.b.c.d address: would pass for IPv4 */
  NF_DROP_REASON_COUNT = 18,
};

/* What the program decided about the last packet on this CPU (tests and debugging). */
struct nf_decision {
  __u32 egress_outcome;  /* enum nf_outcome */
  __u32 egress_table;
  __u32 egress_rule;
  __u32 ingress_outcome;
  __u32 ingress_table;
  __u32 ingress_rule;
  __u32 action;          /* XDP_PASS or XDP_DROP */
  __u32 drop_reason;     /* enum nf_drop_reason, when action == XDP_DROP */
  __u32 parsed;          /* 1 if an IP packet was parsed and classified */
  __u32 proto;           /* the parsed flow key */
  __u32 dport;
  __u32 pad;
  __u8 src[16];
  __u8 dst[16];
};

#endif /* NETFENCE_XDP_ABI_H */
