// SPDX-License-Identifier: Apache-2.0
// A set of compiled units, keyed: identities, ipcache entries, endpoints and standalone
// tables (distribution.proto). The incremental compiler keeps the whole cluster in this
// form, the controller sends each node its part of it, and an agent keeps the part it got
// between generations. Assemble() turns any table set into the RuleTables a fast path loads.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>

#include "common/base/ip.h"
#include "common/base/status.h"
#include "netfence/v1/distribution.pb.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::tables {

using EndpointName = std::pair<std::string, std::string>;  // (namespace, name)

// The order of RuleTables.policies: NetworkPolicies by (namespace, name), then cluster
// policies by (kind, name).
struct PolicyKey {
  bool cluster = false;
  std::string kind, ns, name;
  auto operator<=>(const PolicyKey&) const = default;
};
PolicyKey KeyOf(const v1::PolicyRef& p);

struct TableSet {
  std::map<uint32_t, v1::Identity> identities;
  std::map<IpAddr, v1::IpcacheEntry> ipcache;
  std::map<EndpointName, v1::NodeEndpoint> endpoints;
  std::map<uint64_t, v1::DirectionTable> tables;  // standalone form (own words and policies)

  bool operator==(const TableSet& o) const;
};

// Assembles the set into RuleTables: identities and ipcache sorted, endpoints sorted by
// (namespace, name), tables numbered in the order the endpoints' identities (ascending id)
// first use them, ingress before egress, their rows placed one after the other in
// RuleTables.words. `policies` is every policy to list; the tables' own policies are added
// to it, and the list is sorted by PolicyKey. Assembling what the incremental compiler holds gives
// byte for byte what compiler::Compile() gives for the same cluster.
//
// With `fast_path_ipcache` (a node's tables), the ipcache keeps only the addresses whose
// identity the tables can tell apart from *world*: identities some table lists, the
// endpoints' own, and every pod identity when some table has rules for all pods. The others
// would be judged exactly like world anyway, so a node's maps hold what its pods' policies
// name, not every address of the cluster (the node view keeps all of them for flow logs).
v1::RuleTables Assemble(const TableSet& set, uint64_t generation, std::span<const v1::PolicyRef> policies = {},
                        bool fast_path_ipcache = false);

// Applies one whole (reassembled) NodeUpdate. A snapshot replaces everything; a delta must
// apply on `held_generation`, else nothing changes and the error says so. Upserts of
// unknown keys add, removals of unknown keys are ignored.
Status ApplyUpdate(const v1::NodeUpdate& update, uint64_t held_generation, TableSet* set);
// The same, moving the update's units into the set (a snapshot of a large cluster is many
// thousand entries: no copies). `update` is left with its metadata only.
Status ApplyUpdate(v1::NodeUpdate&& update, uint64_t held_generation, TableSet* set);

// The whole set as a snapshot update of `generation` (what an agent persists).
v1::NodeUpdate SnapshotOf(const TableSet& set, uint64_t generation, uint64_t endpoints_sequence = 0);

// The 16 bytes of an address as a proto `bytes` value and back (nullopt unless 16 bytes).
std::string AddrBytes(const IpAddr& a);
std::optional<IpAddr> AddrFromBytes(const std::string& b);

}  // namespace netfence::tables
