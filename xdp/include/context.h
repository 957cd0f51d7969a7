/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The packet being decided, as every stage of the program sees it: where it was seen, what
 * the parser made of it, the live generation and the verdict so far. One lives on the stack of
 * nf_decide(); the stages take a pointer to it instead of a list of arguments. */
#ifndef NETFENCE_XDP_CONTEXT_H
#define NETFENCE_XDP_CONTEXT_H

#include <linux/bpf.h>

#include "netfence_abi.h"
#include "parsing.h"

struct nf_ctx {
  __u32 ifindex;    /* XDP: the interface received on; TC: the interface sent on */
  __u32 bytes;      /* frame length */
  __u32 hook;       /* NF_HOOK_* */
  __u32 from_pod;   /* XDP RX of a pod's veth: the pod sent it (its traffic counts as egress) */
  __u32 parsed;     /* 1 once the flow key is known (addresses, protocol, ports) */
  __u32 epoch;      /* nf_slot_info.epoch of the live tables; 0 before they are read */
  __u64 generation; /* RuleTables.generation of the live tables; 0 before they are read */
  struct nf_flow f;
  struct nf_verdict v;
};

#endif /* NETFENCE_XDP_CONTEXT_H */
