// SPDX-License-Identifier: Apache-2.0
// A NetworkPolicy decoded for compiling: for each direction it covers, each rule's peers
// (which identities, whether every pod, which ipBlocks) and ports (numbers, ranges, whole
// protocols, names still to resolve). Decoded once per policy and reused by every table the
// policy is compiled into. Peers are resolved through a PeerSelector, so the batch compiler
// and the incremental compiler decode with the same code over their own indexes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/compiler/cidr_flatten.h"
#include "controlplane/compiler/port_flatten.h"
#include "controlplane/k8s/model.h"

namespace netfence::compiler {

// Resolves a policy peer's selectors (never an ipBlock) to identity ids.
class PeerSelector {
 public:
  virtual ~PeerSelector() = default;
  // Appends the ids of the identities the peer selects, for a policy of namespace `ns`, or
  // sets *all_pods when the peer matches every pod of the cluster (then appends nothing).
  virtual void SelectPeer(const k8s::NetworkPolicyPeer& peer, const std::string& ns, bool* all_pods,
                          std::vector<uint32_t>* ids) const = 0;
};

// What one rule's peers match, independent of the table it is compiled into.
struct PeerSet {
  bool everyone = false;             // no peers listed: every address
  bool all_pods = false;             // some peer selects every pod of the cluster
  std::vector<uint32_t> identities;  // identity ids, sorted, unique (empty when all_pods)
  std::vector<CidrBlock> blocks;     // ipBlocks (rule_bit filled in per table)

  bool operator==(const PeerSet& o) const;
};

struct RuleSpec {
  PeerSet peers;
  bool every_port = false;                             // no ports listed
  std::vector<PortSpan> numeric;                       // numbers, ranges, whole protocols
  std::vector<std::pair<std::string, uint8_t>> named;  // (name, protocol)

  bool operator==(const RuleSpec& o) const;
};

struct PolicySpec {
  bool covers[2] = {false, false};  // by k8s::Direction
  bool named_ingress = false;       // ingress rules use named ports
  std::vector<RuleSpec> rules[2];   // by k8s::Direction

  bool operator==(const PolicySpec& o) const;
};

PolicySpec DecodePolicy(const k8s::NetworkPolicy& np, const PeerSelector& selector);

}  // namespace netfence::compiler
