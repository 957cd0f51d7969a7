/* netfence XDP classifier: parses a packet, and for a new flow applies the egress policy of
 * the source (when it is a local endpoint) and the ingress policy of the destination (when
 * it is a local endpoint), with the compiled bitmap tables loaded by dataplane/xdp/.
 * Allowed -> XDP_PASS, denied or malformed -> XDP_DROP (counted by reason), non-IP ->
 * XDP_PASS. Not yet here: connection tracking, flow events, atomic table swap. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "classify.h"
#include "maps.h"
#include "netfence_abi.h"
#include "parsing.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int nf_drop(struct nf_decision *d, __u32 reason) {
  __u64 *count = bpf_map_lookup_elem(&drop_reasons, &reason);
  if (count) *count += 1;  /* per-CPU: no atomic needed */
  d->action = XDP_DROP;
  d->drop_reason = reason;
  return XDP_DROP;
}

/* One direction: match the table against the peer and record outcome, table and rule. */
static __always_inline void nf_decide(__u32 table, const __u8 *peer, __u32 peer_identity, const struct nf_flow *f,
                                      __u32 *outcome, __u32 *out_table, __u32 *rule, int *internal, int *denied) {
  struct nf_dir_result r;
  nf_match(table, peer, peer_identity, f->proto, f->dport, &r);
  *outcome = r.outcome;
  *out_table = r.table;
  *rule = r.rule;
  *internal |= r.internal;
  *denied |= r.outcome == NF_DENIED;
}

SEC("xdp")
int netfence_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u32 zero = 0;
  struct nf_decision *d = bpf_map_lookup_elem(&last_decision, &zero);
  if (!d) return XDP_ABORTED;
  __builtin_memset(d, 0, sizeof(*d));

  struct nf_flow f = {};
  int parsed = nf_parse_packet(data, data_end, &f);
  if (parsed == NF_PARSE_NOT_IP) {
    d->action = XDP_PASS;
    return XDP_PASS;
  }
  if (parsed != NF_PARSE_IP) return nf_drop(d, (__u32)parsed);
  d->parsed = 1;
  d->proto = f.proto;
  d->dport = f.dport;
  __builtin_memcpy(d->src, f.src, 16);
  __builtin_memcpy(d->dst, f.dst, 16);

  struct nf_ip_info *src = bpf_map_lookup_elem(&ipcache, f.src);
  struct nf_ip_info *dst = bpf_map_lookup_elem(&ipcache, f.dst);
  __u32 src_identity = src ? src->identity : 0;
  __u32 dst_identity = dst ? dst->identity : 0;
  int internal = 0, denied = 0;
  if (src && (src->flags & NF_IP_LOCAL_ENDPOINT)) {
    nf_decide(src->egress_table, f.dst, dst_identity, &f, &d->egress_outcome, &d->egress_table, &d->egress_rule,
              &internal, &denied);
  }
  if (dst && (dst->flags & NF_IP_LOCAL_ENDPOINT)) {
    nf_decide(dst->ingress_table, f.src, src_identity, &f, &d->ingress_outcome, &d->ingress_table,
              &d->ingress_rule, &internal, &denied);
  }
  if (internal) return nf_drop(d, NF_DROP_INTERNAL);
  if (denied) return nf_drop(d, NF_DROP_POLICY);
  d->action = XDP_PASS;
  return XDP_PASS;
}
