// SPDX-License-Identifier: Apache-2.0
// Each node's part of the cluster's compiled units, and the updates that carry a node from one
// generation of its part to the next.
//
// A node's part (its view): the endpoints it enforces (endpoints whose node is it), the tables
// they use, the identities those tables and endpoints name, and the whole ipcache (every pod
// address, with its pod's name: the fast path loads the part its tables can tell apart from
// world, flow logs name both ends from all of it). Every generation goes to every known node,
// as a delta that may carry nothing but the new generation number, so that "realised at
// generation G" means the same on all nodes.
//
// Cost: an update costs what changed, not what a node holds. Tables and identities are
// reference-counted per node (a table by the node's endpoints using it, an identity by the
// endpoints having it and the node's tables listing it), so a change touches only the counts
// it moves, and a unit enters or leaves a node's view when its count crosses zero.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "controlplane/compiler/incremental.h"
#include "netfence/v1/distribution.pb.h"

namespace netfence::distribution {

struct NodeView {
  uint64_t generation = 0;
  struct Counted {  // an endpoint as it was counted
    uint32_t identity;
    uint64_t ingress, egress;
  };
  std::map<tables::EndpointName, Counted> endpoints;
  std::map<uint64_t, int> tables;             // table -> endpoints using it
  std::map<uint32_t, int> identities;         // identity -> endpoints having it + tables listing it
  std::vector<tables::EndpointName> unknown;  // registered pods that are no endpoint
  uint64_t endpoints_sequence = 0;
};

class NodeViews {
 public:
  explicit NodeViews(const compiler::IncrementalCompiler& compiler) : compiler_(compiler) {}

  // Makes `node` known (an agent connected): it gets updates even without endpoints. A node
  // new here starts with an empty view at `generation`.
  void AddNode(const std::string& node, uint64_t generation);
  // Forgets a node that has no endpoints left (its agent went away).
  void DropNodeIfEmpty(const std::string& node);
  // What the node's agent registered: reported in the node's next update.
  void SetRegistrations(const std::string& node, uint64_t sequence, std::vector<tables::EndpointName> unknown);

  // After the compiler applied a batch with `changes`: brings every node's view to
  // `generation` and returns each node's delta from its previous generation. A node seen for
  // the first time gets a snapshot: whole, or (full_snapshots = false, for a sender that
  // builds snapshots itself) with its metadata only.
  std::map<std::string, v1::NodeUpdate> Advance(const compiler::IncrementalCompiler::Changes& changes,
                                                uint64_t generation, int64_t produced_unix_nanos,
                                                bool full_snapshots = true);
  // The node's whole view at its current generation (without the ipcache if asked: a sender
  // that has it already in parts).
  v1::NodeUpdate Snapshot(const std::string& node, int64_t produced_unix_nanos, bool with_ipcache = true) const;

  const NodeView* Find(const std::string& node) const;
  const std::map<std::string, NodeView>& views() const { return views_; }

 private:
  // What one Advance did to one node's view: each unit's presence before the first change.
  struct Touched {
    std::set<tables::EndpointName> endpoints;
    std::map<uint64_t, bool> tables;      // table -> was in the view
    std::map<uint32_t, bool> identities;  // identity -> was in the view
  };
  void AddTable(const std::string& node, NodeView& v, uint64_t table, int by, Touched& t);
  void AddIdentity(const std::string& node, NodeView& v, uint32_t identity, int by, Touched& t);
  void FillMeta(const std::string& node, const NodeView& view, int64_t produced, v1::NodeUpdate* u) const;

  const compiler::IncrementalCompiler& compiler_;
  std::map<std::string, NodeView> views_;
  std::map<tables::EndpointName, std::string> endpoint_node_;   // where each endpoint is enforced
  std::map<uint64_t, std::set<std::string>> table_nodes_;       // nodes using each table
  std::map<uint32_t, std::set<std::string>> identity_nodes_;    // nodes naming each identity
  std::map<uint64_t, std::vector<uint32_t>> table_identities_;  // identity_ids of each table, as counted
  std::set<std::string> registration_changed_;
};

}  // namespace netfence::distribution
