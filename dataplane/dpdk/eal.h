// SPDX-License-Identifier: Apache-2.0
// The EAL of a netfence process (netfence-dpdk, the DPDK tests and benchmarks): initialised
// once per process (DPDK cannot initialise it twice), without PCI (--no-pci --no-shconf -m MB)
// and, unless asked for, without hugepages (--no-huge), no telemetry. Lcore 0 is the control thread on every
// CPU the process may use; lcores 1..N are the workers, each pinned to one CPU (the last ones
// by default). rte_eal_init pins the calling thread to lcore 0's CPUs, and every thread it
// starts afterwards (gRPC, housekeeping) inherits that set: all of them, not a worker's.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"

namespace netfence::dpdk {

struct EalOptions {
  std::string program = "netfence";
  unsigned workers = 1;
  std::vector<int> worker_cpus;  // empty: the last `workers` CPUs the process may use
  unsigned memory_mb = 512;
  // Empty: plain memory (--no-huge). Else a hugetlbfs mount the -m megabytes come from
  // (--huge-dir): fewer TLB misses on every packet, mbuf and connection.
  std::string hugepages_dir;
  std::string file_prefix;         // /var/run/dpdk/<prefix> (default netfence-<pid>), removed at cleanup
  std::vector<std::string> extra;  // more EAL arguments (--vdev=..., --log-level=...), last wins
};

// The arguments InitEal passes.
std::vector<std::string> EalArguments(const EalOptions& options);
Status InitEal(const EalOptions& options);
// rte_eal_cleanup and the runtime directory.
void CleanupEal();
// "0-3,6" -> {0,1,2,3,6}
StatusOr<std::vector<int>> ParseCpuList(const std::string& text);

}  // namespace netfence::dpdk
