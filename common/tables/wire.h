// SPDX-License-Identifier: Apache-2.0
// Constants of the netfence.v1 table format (proto/netfence/v1/tables.proto) that every
// reader and writer of RuleTables agrees on: the compiler, the classifier, the XDP loader and
// the DPDK pipeline. The BPF program has its own copies in xdp/include/netfence_abi.h (C).
#pragma once

#include <cstdint>

namespace netfence::tables {

inline constexpr uint32_t kEmptyRow = 0xFFFFFFFFu;  // a row index meaning "no rule bit set"
inline constexpr uint32_t kWorldIdentity = 0;       // addresses the cluster does not know
inline constexpr uint32_t kHostIdentity = 1;        // the nodes' own addresses
inline constexpr uint32_t kFirstPodIdentity = 256;  // pod identities are >= this

// DirectionTable.rule_flags: the action of a rule bit in the low two bits, kRuleAudit when its
// policy is in audit (observe-only); the other bits are reserved (0). A NetworkPolicy rule
// allows; a ClusterNetworkPolicy rule accepts, denies or passes.
inline constexpr uint32_t kRuleActionMask = 0x3u;
inline constexpr uint32_t kRuleAllow = 0u;
inline constexpr uint32_t kRuleAccept = 1u;
inline constexpr uint32_t kRuleDeny = 2u;
inline constexpr uint32_t kRulePass = 3u;
inline constexpr uint32_t kRuleAudit = 0x4u;
inline constexpr uint32_t kRuleKnownFlags = kRuleActionMask | kRuleAudit;

}  // namespace netfence::tables
