/* The maps of the XDP classifier. Keys and values are the plain structs of netfence_abi.h;
 * the loader (dataplane/xdp/) sizes every map from the tables before load. */
#ifndef NETFENCE_XDP_MAPS_H
#define NETFENCE_XDP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "netfence_abi.h"

/* IP -> identity (every known pod and host-network IP) and, for local endpoints, tables. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct nf_ip_key);
  __type(value, struct nf_ip_info);
  __uint(max_entries, 65536);
} ipcache SEC(".maps");

/* Table id -> shape and default rows. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_table);
  __uint(max_entries, 4096);
} tables SEC(".maps");

/* (table, pod identity) -> identity row. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct nf_id_key);
  __type(value, __u32);
  __uint(max_entries, 65536);
} id_rows SEC(".maps");

/* (table, address prefix) -> CIDR row; except-holes are entries with NF_EMPTY_ROW. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct nf_cidr_key);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 65536);
} cidr_rows SEC(".maps");

/* (table, protocol, port prefix) -> port row; each range split into aligned prefixes. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct nf_port_key);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 65536);
} port_rows SEC(".maps");

/* The bitmap arena: RuleTables.words. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 1);
} words SEC(".maps");

/* The last packet's decision on this CPU. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct nf_decision);
  __uint(max_entries, 1);
} last_decision SEC(".maps");

/* Dropped packets by enum nf_drop_reason. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, NF_DROP_REASONS);
} drop_reasons SEC(".maps");

#endif /* NETFENCE_XDP_MAPS_H */
