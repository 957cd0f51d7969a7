// SPDX-License-Identifier: Apache-2.0
// The per-pod connection quota both fast paths enforce (XDP: dataplane/xdp/pod_quota.h, DPDK:
// the decider): a pod's interface may hold at most a quota of connections in the shared
// table; past it the pod's new flows are dropped (NF_DROP_CT_QUOTA). Counts are kept as
// entries are made and recounted from the table periodically (evictions and expiries).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "dataplane/fastpath/fast_path.h"

namespace netfence::fastpath {

// Connections per interface (nf_ct_entry.ifindex: where the connection's first packet came in).
std::map<uint32_t, uint64_t> ConnectionsByInterface(const std::vector<CtEntry>& entries);

}  // namespace netfence::fastpath
