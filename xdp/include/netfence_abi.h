/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* netfence XDP ABI: the map keys and values, shared by the BPF program (C, clang -target
 * bpf) and the user-space loader (C++, dataplane/xdp/). Plain structs of fixed-size
 * integers, no implicit padding: both sides see the same bytes. */
#ifndef NETFENCE_XDP_ABI_H
#define NETFENCE_XDP_ABI_H

#include <linux/types.h>

/* The layout version of the pinned maps' keys and values (dataplane/xdp/pin_abi.h): bump it
 * with any change to a struct below that a pinned map holds. 1: before stamps; 2: nf_table
 * carries ClusterNetworkPolicy tiers; 3: nf_table and nf_verdict carry audit mode; 4: nf_table
 * carries rule keys, rule_hits counts per rule. */
#define NF_ABI_VERSION 4u

#define NF_EMPTY_ROW 0xFFFFFFFFu   /* the row with no rule, stored nowhere */
#define NF_FIRST_POD_IDENTITY 256u /* ids below are reserved (0 world, 1 host) */
#define NF_MAX_SUMMARY_WORDS 1024u /* 1024 * 64 * 64 = 4M rule bits per table */
#define NF_MAX_IP6_EXT_HEADERS 6   /* extension headers walked before giving up */
#define NF_MAX_VLAN_TAGS 2
#define NF_DROP_REASONS 32 /* entries of the drop_reasons counter array */
#define NF_SLOTS 2         /* table generations held: the live one and the next */

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
  __u32 ingress_table; /* valid when flags & NF_IP_LOCAL_ENDPOINT */
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
  /* ClusterNetworkPolicy tiers (RuleTables DirectionTable.rule_flags): rule bits are Admin
   * [0, np_first), NetworkPolicy [np_first, bl_first), Baseline [bl_first, ...). A tiered
   * table's bits carry actions: word w of the Deny and Pass bitmaps (one bit per rule bit,
   * row_words words) is at arena index deny_words + w and pass_words + w, NF_EMPTY_ROW when no
   * bit has that action. Every other bit accepts (an Admin/Baseline Accept, a NetworkPolicy
   * allow). Untiered tables: tiered = 0 and the rest unused. */
  __u32 tiered;
  __u32 np_first;
  __u32 bl_first;
  __u32 deny_words;
  __u32 pass_words;
  /* Audit mode (DirectionTable.audit_isolated, RULE_AUDIT): word w of the bitmap of the rule
   * bits of policies in audit is at arena index audit_words + w (NF_EMPTY_ROW when none; a
   * table with such bits is tiered). The enforced decision leaves those bits out and uses
   * `isolated`; the audited one uses every bit and audit_isolated. */
  __u32 audit_words;
  __u32 audit_isolated;
  /* Rule hit counters: rule bit b's key (common/tables/rule_keys.h) is the arena word
   * rule_keys + b (NF_EMPTY_ROW: a table without rules). */
  __u32 rule_keys;
  __u32 pad;
};

/* id_rows: (table, pod identity) -> row. */
struct nf_id_key {
  __u32 table;
  __u32 identity;
};

/* pod_cidrs: LPM trie of the node's pod CIDRs; prefixlen in the 128-bit space (IPv4 /24 = 120). */
struct nf_prefix_key {
  __u32 prefixlen;
  __u8 addr[16];
};

/* cidr_rows: LPM trie; prefixlen = 32 + prefix length in the 128-bit space. */
struct nf_cidr_key {
  __u32 prefixlen;
  __u32 table_be; /* table id, big-endian (part of the prefix) */
  __u8 addr[16];
};

/* port_rows: LPM trie; prefixlen = 32 + 8 + (16 - log2(block size)). */
struct nf_port_key {
  __u32 prefixlen;
  __u32 table_be;
  __u8 proto;
  __u8 port_be[2];
  __u8 pad; /* zero; beyond every prefix */
};

/* verdict_cache: the decision about a new flow (both directions) by the question asked:
 * (epoch of the live slot, pod CIDR guard version, source, destination, protocol, port, from
 * an uplink). Within an epoch a slot's tables never change, and the guard version changes with
 * every SetPodCidrs, so the decision cached is exactly what classification gives; older entries
 * age out of the LRU. */
struct nf_vc_key {
  __u32 epoch; /* nf_slot_info.epoch of the slot asked */
  __u32 guard; /* nf_active.guard: the pod CIDR guard's version */
  __u8 src[16];
  __u8 dst[16];
  __u16 dport; /* classification port (0 for protocols without ports) */
  __u8 proto;
  __u8 from_uplink; /* the sender is no local pod (its egress table is not asked) */
};

enum nf_outcome {
  NF_NOT_ISOLATED = 0,   /* no rule decided and no NetworkPolicy isolates: allowed */
  NF_ALLOWED = 1,        /* a rule allowed (rule valid) */
  NF_DENIED = 2,         /* isolated by NetworkPolicy, no rule decided: default deny */
  NF_DENIED_BY_RULE = 3, /* a ClusterNetworkPolicy Deny rule denied (rule valid) */
};

/* Why a packet was dropped (index into drop_reasons). */
enum nf_drop_reason {
  NF_DROP_POLICY = 0,       /* a direction denied it */
  NF_DROP_ETH_TRUNC = 1,    /* shorter than an Ethernet header */
  NF_DROP_VLAN_TRUNC = 2,   /* VLAN tag cut short */
  NF_DROP_VLAN_DEPTH = 3,   /* more than NF_MAX_VLAN_TAGS tags */
  NF_DROP_IP4_TRUNC = 4,    /* IPv4 header (with options) or total length past the end */
  NF_DROP_IP4_VERSION = 5,  /* ethertype IPv4 but version != 4 */
  NF_DROP_IP4_IHL = 6,      /* IHL < 5 */
  NF_DROP_IP4_LEN = 7,      /* total length shorter than the header */
  NF_DROP_IP4_FRAGMENT = 8, /* later fragment of a datagram whose first fragment was not allowed */
  NF_DROP_IP6_TRUNC = 9,    /* IPv6 header or payload length past the end */
  NF_DROP_IP6_VERSION = 10,
  NF_DROP_IP6_EXT_TRUNC = 11, /* extension header cut short */
  NF_DROP_IP6_EXT_DEPTH = 12, /* more than NF_MAX_IP6_EXT_HEADERS extension headers */
  NF_DROP_IP6_FRAGMENT = 13,  /* later fragment of a datagram whose first fragment was not allowed */
  NF_DROP_L4_TRUNC = 14,      /* TCP/UDP/SCTP/ICMP/ICMPv6 header cut short */
  NF_DROP_TCP_DOFF = 15,      /* TCP data offset < 5 */
  NF_DROP_INTERNAL = 16,      /* tables inconsistent with the maps (fail closed) */
  NF_DROP_IP6_V4MAPPED = 17,  /* IPv6 header with a ::ffff:a.b.c.d address: would pass for IPv4 */
  NF_DROP_NO_TABLES = 18,     /* no table generation programmed yet (fail closed) */
  NF_DROP_REVOKED = 19,       /* a packet of a connection the new generation no longer allows */
  NF_DROP_SPOOFED = 20,       /* from a pod's interface with a source address not the pod's */
  NF_DROP_UNREGISTERED = 21,  /* to or from an address of the node's pod CIDRs no local pod holds */
  NF_DROP_NOT_IP = 22,        /* from a pod's interface: neither IP nor an IPv4 ARP message */
  NF_DROP_CT_QUOTA = 23,      /* a new flow of a pod that holds its quota of connections */
  NF_DROP_REASON_COUNT = 24,
};

/* Packet counters (per CPU, index enum nf_counter). */
enum nf_counter {
  NF_CNT_PASS_NOT_IP = 0,    /* ARP, LLDP, ...: passed unparsed */
  NF_CNT_PASS_CT = 1,        /* established connection, current generation: one lookup */
  NF_CNT_PASS_NEW = 2,       /* new flow classified and allowed */
  NF_CNT_PASS_RECHECKED = 3, /* established connection re-classified after a generation swap */
  NF_CNT_PASS_FRAGMENT = 4,  /* later fragment of an allowed datagram */
  NF_CNT_PASS_RELATED = 5,   /* ICMP error about an allowed connection */
  NF_CNT_PASS_NDP = 6,       /* ICMPv6 neighbour discovery */
  NF_CNT_DROP = 7,           /* every drop (by reason in drop_reasons) */
  NF_CNT_CT_CREATED = 8,
  NF_CNT_EVENTS_LOST = 9,     /* ring buffer full: an event not written */
  NF_CNT_VERDICT_HIT = 10,    /* a direction answered by verdict_cache */
  NF_CNT_VERDICT_MISS = 11,   /* a direction classified over the tables (then cached) */
  NF_CNT_RULE_HITS_LOST = 12, /* rule_hits full: a rule's new connection not counted */
  NF_COUNTERS = 16,
};

/* Both directions' outcome of a classification (egress of the sender, ingress of the
 * receiver): enum nf_outcome, table id, rule bit (valid when allowed or denied by rule).
 * audit_*: the same directions' audited decision (policies in audit enforced too: the same
 * tables); equal to the enforced one when no policy in audit is in the table. Traffic follows
 * the enforced one. */
struct nf_verdict {
  __u32 egress_outcome;
  __u32 egress_table;
  __u32 egress_rule;
  __u32 ingress_outcome;
  __u32 ingress_table;
  __u32 ingress_rule;
  __u32 audit_egress_outcome;
  __u32 audit_egress_rule;
  __u32 audit_ingress_outcome;
  __u32 audit_ingress_rule;
};

/* verdict_cache value: nf_classify()'s result (0 allowed, else 1 + enum nf_drop_reason) and
 * both directions' verdict. */
struct nf_vc_value {
  __u32 result;
  __u32 pad;
  struct nf_verdict verdict;
};

/* ---- Interfaces ----------------------------------------------------------------------
 * What the agent knows about the interface a packet arrived on (ifindex of the program's
 * namespace). A pod's host-side veth carries only that pod's addresses: anything else is
 * spoofed. At an uplink the sender is never a local pod, so only ingress policy applies.
 * Interfaces not in the map are judged by addresses alone. */
#define NF_IFACE_NONE 0u /* an unbound slot of interfaces_low */
#define NF_IFACE_ENDPOINT 1u
#define NF_IFACE_UPLINK 2u
#define NF_IFACE_MAX_ADDRS 4
#define NF_IFACE_LOW 16384u /* ifindexes below: an array entry (interfaces_low); above: a hash entry */
struct nf_iface {
  __u32 kind;    /* NF_IFACE_* */
  __u32 n_addrs; /* for an endpoint: its addresses (v4-mapped IPv4, IPv6) */
  __u8 addrs[NF_IFACE_MAX_ADDRS][16];
};

/* ---- Generations ----------------------------------------------------------------------
 * The table maps exist once per slot (map-in-map, outer arrays of NF_SLOTS). The loader
 * fills fresh inner maps in the idle slot, writes nf_slot_info for it, then flips
 * nf_active.slot: one 4-byte write makes the new generation live. */
struct nf_active {
  __u32 slot;  /* 0 or 1; NF_SLOT_NONE before the first programming */
  __u32 guard; /* the pod CIDR guard's version: every change of pod_cidrs bumps it */
};
#define NF_SLOT_NONE 0xFFFFFFFFu
struct nf_slot_info {
  __u32 epoch; /* the loader's programming count: every Program() gets a new one */
  __u32 pad;
  __u64 generation; /* RuleTables.generation of the tables in the slot */
};

/* ---- Connection tracking --------------------------------------------------------------
 * Key: the 5-tuple normalised so both directions find the same entry: side a is the
 * (address, port) that compares lower. ICMP echo uses the echo id as both ports. */
struct nf_ct_key {
  __u8 addr_a[16];
  __u8 addr_b[16];
  __u16 port_a; /* host order */
  __u16 port_b;
  __u8 proto;
  __u8 pad[3];
};

/* IPv4 connections live in their own map (conntrack4) under a compact key: the last 4 bytes
 * of each v4-mapped address of the canonical key, same sides, same ports (a 16-byte key hashes
 * and compares in less than half the time of the 40-byte one). The loader reports them under
 * the canonical nf_ct_key. */
struct nf_ct4_key {
  __u32 addr_a; /* network order, as in the packet */
  __u32 addr_b;
  __u16 port_a; /* host order */
  __u16 port_b;
  __u8 proto;
  __u8 pad[3];
};

#define NF_CT_INITIATOR_B 0x1u /* the connection was opened by side b (else by a) */
#define NF_CT_SEEN_REPLY 0x2u  /* the responder has sent a packet */
#define NF_CT_FIN_A 0x4u       /* TCP FIN seen from side a */
#define NF_CT_FIN_B 0x8u
#define NF_CT_CLOSED 0x10u /* TCP RST, or FIN from both sides */
/* Which hook counts a direction's packets: the first that saw one. A packet between two
 * pods of the node crosses the sender's XDP hook, then the receiver's TC egress hook; a
 * packet the node sends to a pod crosses only TC egress. Counting at one hook per direction
 * counts every packet once. */
#define NF_CT_TC_COUNTS_0 0x20u /* initiator -> responder packets are counted at TC egress */
#define NF_CT_TC_COUNTS_1 0x40u /* reply packets are counted at TC egress */

struct nf_ct_entry {
  __u64 created_ns; /* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC_COARSE) */
  __u64 last_seen_ns;
  __u64 packets[2]; /* [0] initiator -> responder, [1] reply */
  __u64 bytes[2];
  __u32 epoch;       /* the programming (nf_slot_info.epoch) whose policy admitted it */
  __u32 flags;       /* NF_CT_* */
  __u32 egress_rule; /* NF_NO_RULE when that direction did not decide it */
  __u32 ingress_rule;
  __u32 egress_table;
  __u32 ingress_table;
  __u16 dport;       /* classification port of the initiator's packets */
  __u8 tcp_flags[2]; /* TCP flags seen [initiator, responder] */
  __u32 ifindex;     /* where the first packet was seen */
};
#define NF_NO_RULE 0xFFFFFFFFu

/* Timeouts (ns) after the last packet. */
#define NF_CT_TIMEOUT_TCP_SYN (60ull * 1000000000ull)
#define NF_CT_TIMEOUT_TCP_EST (21600ull * 1000000000ull)
#define NF_CT_TIMEOUT_TCP_CLOSE (10ull * 1000000000ull)
#define NF_CT_TIMEOUT_OTHER (60ull * 1000000000ull)

/* Fragments: (addresses, protocol, datagram id) of an allowed first fragment. */
struct nf_frag_key {
  __u8 src[16];
  __u8 dst[16];
  __u32 id;
  __u32 proto;
};

/* An allowed first fragment: its datagram's later fragments follow it while the programming
 * that allowed it (epoch) is live, for NF_FRAG_TIMEOUT_NS at most (the kernel's reassembly
 * timeout, net.ipv4.ipfrag_time, is 30 s as well). */
struct nf_frag_entry {
  __u64 first_ns; /* bpf_ktime_get_ns() of the first fragment */
  __u32 epoch;    /* nf_slot_info.epoch that allowed it */
  __u32 pad;
};
#define NF_FRAG_TIMEOUT_NS (30ull * 1000 * 1000 * 1000)

/* ---- Events (BPF ring buffer) ---------------------------------------------------------- */
enum nf_event_kind {
  NF_EV_NEW_FLOW = 1, /* a connection admitted (first packet) */
  NF_EV_DROP = 2,     /* a packet dropped: policy, revoked connection, or malformed */
  NF_EV_REVOKED = 3,  /* an established connection cut by a new generation */
};
/* Where a packet was decided (nf_event.hook). */
#define NF_HOOK_XDP 0u /* XDP RX of a pod's veth or an uplink */
#define NF_HOOK_TC 1u  /* TC egress of a pod's veth: what the node itself sends to the pod */
struct nf_event {
  __u64 ts_ns;      /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
  __u64 generation; /* RuleTables.generation that decided */
  __u8 src[16];
  __u8 dst[16];
  __u16 sport; /* conntrack ports (the echo id, twice, for ICMP echo) */
  __u16 dport;
  __u8 proto;
  __u8 kind;   /* enum nf_event_kind */
  __u8 reason; /* enum nf_drop_reason for drops */
  __u8 parsed; /* 0: malformed, addresses and ports not known */
  __u32 ifindex;
  struct nf_verdict verdict;
  __u32 bytes;    /* frame length */
  __u8 icmp_type; /* ICMP/ICMPv6 type and code of the packet (0 otherwise) */
  __u8 icmp_code;
  __u8 hook;      /* NF_HOOK_* */
  __u8 tcp_flags; /* of the packet */
  /* The connection: NF_EV_NEW_FLOW its entry as created (ct_created_ns is the entry's
   * created_ns, which joins the event to the entry; zero when the flow is not tracked, e.g.
   * ICMP errors); NF_EV_REVOKED the entry as it was cut (it is deleted), so its last
   * counters are not lost with it. Zero for drops. */
  __u8 ct_tcp_flags[2]; /* [initiator, responder] */
  __u16 ct_pad;
  __u32 ct_flags; /* NF_CT_* */
  __u32 ct_epoch;
  __u64 ct_created_ns;
  __u64 ct_packets[2]; /* [initiator -> responder, reply] */
  __u64 ct_bytes[2];
};

/* Traffic by verdict and direction (per CPU, index NF_TRAFFIC_*): every IP packet once per
 * node, at the first hook that decides or counts it. "egress": sent by a local pod (XDP RX
 * of its veth); "ingress": everything else (uplink, node -> pod at TC egress). */
enum nf_traffic_index {
  NF_TRAFFIC_ALLOWED_INGRESS = 0,
  NF_TRAFFIC_ALLOWED_EGRESS = 1,
  NF_TRAFFIC_DENIED_INGRESS = 2,
  NF_TRAFFIC_DENIED_EGRESS = 3,
  NF_TRAFFIC_SLOTS = 4,
};
struct nf_traffic {
  __u64 packets;
  __u64 bytes;
};

/* rule_hits (per CPU, key: the rule's key): the new connections a rule decided (allowed: it
 * allowed its direction; denied: a Deny rule denied it) and when the last one was (CLOCK_MONOTONIC,
 * coarse). Packets of tracked connections are not counted; untracked ones (ICMP errors) each are. */
struct nf_rule_hits {
  __u64 allowed;
  __u64 denied;
  __u64 last_ns;
};

/* What the program decided about the last packet on this CPU (tests and debugging). */
struct nf_decision {
  struct nf_verdict verdict;
  __u32 action;      /* XDP_PASS or XDP_DROP */
  __u32 drop_reason; /* enum nf_drop_reason, when action == XDP_DROP */
  __u32 parsed;      /* 1 if an IP packet was parsed */
  __u32 proto;       /* the parsed flow key */
  __u32 dport;
  __u32 path; /* enum nf_counter of the pass path, or NF_CNT_DROP */
  __u8 src[16];
  __u8 dst[16];
};

#endif /* NETFENCE_XDP_ABI_H */
