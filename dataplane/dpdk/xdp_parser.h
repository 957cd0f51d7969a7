// SPDX-License-Identifier: Apache-2.0
// The XDP program's packet parser (xdp/include/parsing.h), compiled for user space: the DPDK
// pipeline parses with the very code the kernel runs, so both see the same flow key and drop
// the same malformed packets for the same reasons. xdp_parser.c is the thin C shim; this
// header is what C++ sees.
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// What the parser returns besides a drop reason (enum nf_drop_reason): parsing.h's NF_PARSE_*.
#define NF_DP_PARSE_IP 100
#define NF_DP_PARSE_NOT_IP 101
#define NF_DP_PARSE_FRAGMENT 102
#define NF_DP_PROTO_ARP 0x0806 /* nf_dp_flow.proto of an IPv4 ARP message (src: its sender) */

// struct nf_flow of parsing.h, field for field (xdp_parser.c checks the layout at compile
// time: a field added there fails the build here until it is added too).
#define NF_DP_ICMP_OTHER 0
#define NF_DP_ICMP_ECHO 1
#define NF_DP_ICMP_ERROR 2
#define NF_DP_ICMP_NDP 3
struct nf_dp_flow {
  uint8_t src[16];
  uint8_t dst[16];
  uint32_t proto;
  uint32_t dport;
  uint16_t key_sport;
  uint16_t key_dport;
  uint8_t tcp_flags;
  uint8_t icmp_kind;
  uint8_t first_fragment;
  uint8_t inner_proto;
  uint32_t frag_id;
  uint16_t inner_sport;
  uint16_t inner_dport;
  uint8_t icmp_type;
  uint8_t icmp_code;
  uint16_t pad;
  uint8_t inner_src[16];
  uint8_t inner_dst[16];
};

// nf_parse_packet() over [data, data + len): NF_DP_PARSE_IP (flow filled), NF_DP_PARSE_NOT_IP,
// NF_DP_PARSE_FRAGMENT (addresses, proto and frag_id filled), or an enum nf_drop_reason.
// `flow` must be zeroed by the caller, as the program's context is.
int nf_dp_parse(const uint8_t* data, uint32_t len, struct nf_dp_flow* flow);

#ifdef __cplusplus
}
#endif
