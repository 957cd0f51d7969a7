/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The maps of the XDP program. Keys and values are the plain structs of netfence_abi.h.
 *
 * Table maps come in slots (map-in-map): each outer array holds NF_SLOTS inner maps, one
 * per generation; `active` says which slot is live. The loader (dataplane/xdp/slot_writer.h)
 * writes only the idle slot, one grace period after it stopped being live, so a map a packet
 * may read is never written.
 * State that outlives generations (conntrack, fragments, counters, events) is global. */
#ifndef NETFENCE_XDP_MAPS_H
#define NETFENCE_XDP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "netfence_abi.h"

/* ---- Inner map templates (the loader creates maps of the same type, key, value, flags) --
 * Sizes rather than BTF types: the templates are never instantiated, so their key and value
 * structs would only be forward-declared in BTF. */

/* IP -> identity (every known pod and host-network IP) and, for local endpoints, tables. */
struct nf_ipcache_map {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(key_size, sizeof(struct nf_ip_key));
  __uint(value_size, sizeof(struct nf_ip_info));
  __uint(max_entries, 1);
};
/* Table id -> shape and default rows. BPF_F_INNER_MAP: generations differ in size. */
struct nf_tables_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(struct nf_table));
  __uint(max_entries, 1);
  __uint(map_flags, BPF_F_INNER_MAP);
};
/* (table, pod identity) -> identity row. */
struct nf_id_rows_map {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(key_size, sizeof(struct nf_id_key));
  __uint(value_size, sizeof(__u32));
  __uint(max_entries, 1);
};
/* (table, address prefix) -> CIDR row; except-holes are entries with NF_EMPTY_ROW. */
struct nf_cidr_rows_map {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(key_size, sizeof(struct nf_cidr_key));
  __uint(value_size, sizeof(__u32));
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 1);
};
/* (table, protocol, port prefix) -> port row; each range split into aligned prefixes. */
struct nf_port_rows_map {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(key_size, sizeof(struct nf_port_key));
  __uint(value_size, sizeof(__u32));
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 1);
};
/* The bitmap arena: RuleTables.words. */
struct nf_words_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u64));
  __uint(max_entries, 1);
  __uint(map_flags, BPF_F_INNER_MAP);
};

#define NF_SLOTTED(name, inner)               \
  struct {                                    \
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); \
    __uint(max_entries, NF_SLOTS);            \
    __type(key, __u32);                       \
    __array(values, struct inner);            \
  } name SEC(".maps")

NF_SLOTTED(ipcache_slots, nf_ipcache_map);
NF_SLOTTED(tables_slots, nf_tables_map);
NF_SLOTTED(id_rows_slots, nf_id_rows_map);
NF_SLOTTED(cidr_rows_slots, nf_cidr_rows_map);
NF_SLOTTED(port_rows_slots, nf_port_rows_map);
NF_SLOTTED(words_slots, nf_words_map);

/* The live slot (one entry). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_active);
  __uint(max_entries, 1);
} active SEC(".maps");

/* Per slot: the generation it holds. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_slot_info);
  __uint(max_entries, NF_SLOTS);
} slot_info SEC(".maps");

/* ---- State across generations ---------------------------------------------------------- */

/* The node's pod CIDRs (written by the agent, --pod-cidr; value 1), and the node's own
 * addresses inside them (value 0: the bridge's gateway address). Any other address inside
 * that no local endpoint holds belongs to a pod being created (its interface plugin ran,
 * netfence-cni not yet) or deleted: packets to or from it are dropped (NF_DROP_UNREGISTERED). */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct nf_prefix_key);
  __type(value, __u8);
  __uint(max_entries, 64);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} pod_cidrs SEC(".maps");

/* ifindex -> the pod or uplink behind it (written by the agent; see netfence_abi.h): an array
 * for ifindexes below NF_IFACE_LOW (an inlined lookup, no hashing: every packet asks), a hash
 * for the rest (a node that created many interfaces over its life). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_iface);
  __uint(max_entries, NF_IFACE_LOW);
} interfaces_low SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u32);
  __type(value, struct nf_iface);
  __uint(max_entries, 4096);
} interfaces SEC(".maps");

/* Connections each pod's interface holds in the connection tables (ifindex -> count), for the
 * per-pod quota (nf_cfg_ct_pod_quota): one pod's flood of new flows cannot evict the others'
 * connections from the shared LRU. The program adds one per entry it creates for a packet
 * from a pod's interface; the loader recounts from the tables every second (LRU evictions
 * and expiries are invisible to the program). Not pinned: recounted after a restart. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, NF_IFACE_LOW + 4096);
} ct_pod_counts SEC(".maps");

/* The interface's entry, NULL when unbound. */
static __always_inline struct nf_iface *nf_iface_of(__u32 ifindex) {
  if (ifindex < NF_IFACE_LOW) {
    struct nf_iface *i = bpf_map_lookup_elem(&interfaces_low, &ifindex);
    return i && i->kind != NF_IFACE_NONE ? i : 0;
  }
  return bpf_map_lookup_elem(&interfaces, &ifindex);
}

/* Connections (max_entries set by the loader): IPv6 under the canonical key, IPv4 under the
 * compact one (see conntrack.h, nf_ct_lookup). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct nf_ct_key);
  __type(value, struct nf_ct_entry);
  __uint(max_entries, 65536);
} conntrack SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct nf_ct4_key);
  __type(value, struct nf_ct_entry);
  __uint(max_entries, 65536);
} conntrack4 SEC(".maps");

/* Decisions of nf_classify() by the question asked (struct nf_vc_key): a repeated question
 * (every SYN of a flood, every new connection of a busy client to the same server) costs one
 * lookup instead of the ipcache, pod CIDR, table lookups and the ANDs. The tables stay the
 * truth; an entry is exact for its epoch and guard version only. Per-CPU LRU lists
 * (BPF_F_NO_COMMON_LRU): an insert takes no lock shared between CPUs. Size set by the loader
 * (LoadOptions::verdict_cache_entries). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct nf_vc_key);
  __type(value, struct nf_vc_value);
  __uint(max_entries, 16384);
  __uint(map_flags, BPF_F_NO_COMMON_LRU);
} verdict_cache SEC(".maps");

/* ---- Scratch space (per CPU, one entry each): what does not fit on the program's stack -- */

/* nf_classify()'s question: src -> dst (proto, dport) under the tables of `slot`, and room for
 * what nf_match() needs besides (the stacks of the program, nf_classify(), nf_decide_rows(),
 * nf_search() and its bpf_loop callback together must fit in 512 bytes, each rounded up to 16). */
struct nf_query {
  struct nf_vc_key q; /* the question: also the verdict cache's key */
  __u32 slot;
  __u32 pad;
  /* nf_classify()'s cache value, keys and results, off the stack */
  struct nf_vc_value answer;
  struct nf_cidr_key cidr_key;
  /* nf_match()'s decisions of a direction: r the enforced one (traffic follows it), ar the
   * audited one (policies in audit enforced too; a copy of r when the table has none) */
  struct nf_dir_result {
    __u32 outcome; /* enum nf_outcome */
    __u32 table;
    __u32 rule;
    __u32 internal; /* the maps disagree with themselves: fail closed */
  } r;
  struct nf_dir_result ar;
  struct nf_port_key port_key;
  struct nf_id_key id_key;
  /* nf_match()'s rows of the three dimensions, and nf_search()'s state: the bpf_loop
   * callback's context on the stack is only a pointer to it */
  struct nf_rows {
    __u32 id_row;
    __u32 cidr_row;
    __u32 port_row;
    __u32 summary_words;
    __u32 skip_row;     /* bits the search leaves out (row_words words; NF_EMPTY_ROW: none) */
    __u32 start;        /* the search ignores bits below this one */
    __u32 next_summary; /* index of the next summary word to load */
    __u32 found;
    __u32 rule;  /* the answer, when found */
    __u32 idx;   /* the word being ANDed (nf_and_word) */
    __u32 key;   /* a words map key */
    __u32 table; /* a tables map key */
    /* The first search without skip_row over these rows (nf_search): from memo_start, found or
     * not, the bit. A search with skip_row from at or after memo_start starts there: nothing
     * unmasked means nothing masked, and the unmasked bit, when not skipped, is the answer. */
    __u32 memo_valid;
    __u32 memo_start;
    __u32 memo_found;
    __u32 memo_rule;
    __u64 acc;     /* the AND of word idx */
    __u64 summary; /* candidate words of summary word next_summary - 1 not yet tested */
  } rows;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_query);
  __uint(max_entries, 1);
} query_scratch SEC(".maps");

/* A fragment key and its value (fragments are rare). */
struct nf_frag_scratch {
  struct nf_frag_key key;
  struct nf_frag_entry entry;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_frag_scratch);
  __uint(max_entries, 1);
} frag_scratch SEC(".maps");

/* Where a new conntrack entry is built (the stack is too small to hold it). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_ct_entry);
  __uint(max_entries, 1);
} ct_scratch SEC(".maps");

/* First fragments allowed: later fragments of the same datagram follow them. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct nf_frag_key);
  __type(value, struct nf_frag_entry);
  __uint(max_entries, 8192);
} fragments SEC(".maps");

/* New-flow, drop and revocation events for the flow log (size set by the loader). */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Packets by enum nf_counter. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, NF_COUNTERS);
} counters SEC(".maps");

/* IP packets and bytes by verdict and direction (enum nf_traffic_index). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_traffic);
  __uint(max_entries, NF_TRAFFIC_SLOTS);
} traffic SEC(".maps");

/* Connections decided per rule (struct nf_rule_hits), by rule key. Full: later rules' hits are
 * counted in NF_CNT_RULE_HITS_LOST. Pinned: counts survive an agent restart. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __type(key, __u64);
  __type(value, struct nf_rule_hits);
  __uint(max_entries, 65536);
} rule_hits SEC(".maps");

/* Dropped packets by enum nf_drop_reason. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, NF_DROP_REASONS);
} drop_reasons SEC(".maps");

/* The last packet's decision on this CPU (written only when nf_cfg_record_decisions). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_decision);
  __uint(max_entries, 1);
} last_decision SEC(".maps");

/* The live slot, read once per packet (its RuleTables.generation goes to the packet's
 * context: every byte of the program's stack counts, see nf_query). */
struct nf_live {
  __u32 epoch; /* what conntrack entries compare with */
  __u32 slot;
  __u32 guard; /* nf_active.guard */
  __u32 pad;
};

/* The live slot and its generation; 0 when nothing is programmed yet. The slot's table maps
 * are looked up where a packet needs them (an inlined array access each). */
static __always_inline int nf_live_slot(struct nf_live *m, __u64 *generation) {
  __u32 zero = 0;
  struct nf_active *a = bpf_map_lookup_elem(&active, &zero);
  if (!a) return 0;
  __u32 slot = a->slot;
  if (slot >= NF_SLOTS) return 0;
  struct nf_slot_info *info = bpf_map_lookup_elem(&slot_info, &slot);
  if (!info) return 0;
  *generation = info->generation;
  m->epoch = info->epoch;
  m->slot = slot;
  m->guard = a->guard;
  return 1;
}

#endif /* NETFENCE_XDP_MAPS_H */
