/* SPDX-License-Identifier: Apache-2.0 */
/* The XDP program's parser in user space: parsing.h compiled by the host C compiler. It reads
 * only linux/ and libbpf headers (bpf_helpers.h, bpf_endian.h), which compile outside the BPF
 * target; the helper declarations they bring are never called. */
#include "dataplane/dpdk/xdp_parser.h"

#include <stddef.h>

/* A frame puts its headers at any offset (the IPv4 header 14 bytes in, an IPv6 fragment header
 * 54): reading them through structs of their natural alignment is undefined behaviour in C on
 * the host (the BPF target has no such rule; UBSan and the fuzz harness caught it here). Every
 * struct parsing.h reads packets through is declared here with alignment 1, so the compiler
 * makes no assumption about where they lie. struct nf_flow has no padding: packed, it keeps its
 * layout (checked below against struct nf_dp_flow). */
#pragma pack(push, 1)
#include "xdp/include/parsing.h"
#pragma pack(pop)

#define NF_DP_SAME(field)                                                                             \
  _Static_assert(offsetof(struct nf_flow, field) == offsetof(struct nf_dp_flow, field) &&             \
                     sizeof(((struct nf_flow *)0)->field) == sizeof(((struct nf_dp_flow *)0)->field), \
                 "struct nf_dp_flow." #field " differs from parsing.h")
_Static_assert(sizeof(struct nf_flow) == sizeof(struct nf_dp_flow), "struct nf_dp_flow differs from parsing.h");
NF_DP_SAME(src);
NF_DP_SAME(dst);
NF_DP_SAME(proto);
NF_DP_SAME(dport);
NF_DP_SAME(key_sport);
NF_DP_SAME(key_dport);
NF_DP_SAME(tcp_flags);
NF_DP_SAME(icmp_kind);
NF_DP_SAME(first_fragment);
NF_DP_SAME(inner_proto);
NF_DP_SAME(frag_id);
NF_DP_SAME(inner_sport);
NF_DP_SAME(inner_dport);
NF_DP_SAME(icmp_type);
NF_DP_SAME(icmp_code);
NF_DP_SAME(inner_src);
NF_DP_SAME(inner_dst);
_Static_assert(NF_PARSE_IP == NF_DP_PARSE_IP && NF_PARSE_NOT_IP == NF_DP_PARSE_NOT_IP &&
                   NF_PARSE_FRAGMENT == NF_DP_PARSE_FRAGMENT,
               "parse results differ from parsing.h");
_Static_assert(NF_PROTO_ARP == NF_DP_PROTO_ARP, "the ARP marker differs from parsing.h");
_Static_assert(NF_ICMP_ECHO == NF_DP_ICMP_ECHO && NF_ICMP_ERROR == NF_DP_ICMP_ERROR && NF_ICMP_NDP == NF_DP_ICMP_NDP,
               "ICMP kinds differ from parsing.h");

/* The layouts are the same and struct nf_flow is packed here (alignment 1): the parser writes
 * the caller's flow in place. */
int nf_dp_parse(const uint8_t *data, uint32_t len, struct nf_dp_flow *flow) {
  void *begin = (void *)data;
  return nf_parse_packet(begin, begin + len, (struct nf_flow *)flow);
}
