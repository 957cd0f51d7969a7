// Reading the XDP program's state for the flow log: the whole conntrack table (batched
// lookups, falling back to key-by-key iteration where the kernel has no batch operations)
// and single per-CPU counters, without touching the packet path (the maps are read while
// the program runs; an entry changing meanwhile is read either way).
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/common/status.h"
#include "dataplane/flowlog/pipeline/flow_tracker.h"

namespace netfence::flowlog {

// Every entry of the conntrack map `fd` into *out (cleared first).
Status ReadConntrack(int fd, std::vector<CtEntry>* out);

// counters[index] summed over CPUs (a BPF_MAP_TYPE_PERCPU_ARRAY of __u64); 0 on error.
uint64_t ReadPerCpuCounter(int fd, uint32_t index);

// CLOCK_MONOTONIC in ns (the clock of bpf_ktime_get_ns and, coarser, of conntrack entries).
uint64_t MonoNowNs();

}  // namespace netfence::flowlog
