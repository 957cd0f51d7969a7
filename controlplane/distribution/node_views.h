// Each node's part of the cluster's compiled units, and the updates that carry a node from one
// generation of its part to the next.
//
// A node's part (its view): the endpoints it enforces (endpoints whose node is it), the tables
// they use, the identities those tables and endpoints name, and the whole ipcache (every pod
// address: an address the fast path does not find is *world*, and flow logs name both ends
// from it). Every generation goes to every known node, as a delta that may carry nothing but
// the new generation number, so that "realised at generation G" means the same on all nodes.
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
  std::set<compiler::EndpointName> endpoints;
  std::set<uint64_t> tables;
  std::set<uint32_t> identities;
  std::vector<compiler::EndpointName> unknown;  // registered pods that are no endpoint
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
  void SetRegistrations(const std::string& node, uint64_t sequence, std::vector<compiler::EndpointName> unknown);

  // After the compiler applied a batch with `changes`: brings every node's view to
  // `generation` and returns each node's delta from its previous generation.
  std::map<std::string, v1::NodeUpdate> Advance(const compiler::IncrementalCompiler::Changes& changes,
                                                uint64_t generation, int64_t produced_unix_nanos);
  // The node's whole view at its current generation.
  v1::NodeUpdate Snapshot(const std::string& node, int64_t produced_unix_nanos) const;

  const NodeView* Find(const std::string& node) const;
  const std::map<std::string, NodeView>& views() const { return views_; }

 private:
  // Recomputes the tables and identities of `view` from its endpoints.
  void Recount(NodeView* view) const;
  void FillMeta(const std::string& node, const NodeView& view, int64_t produced, v1::NodeUpdate* u) const;

  const compiler::IncrementalCompiler& compiler_;
  std::map<std::string, NodeView> views_;
  std::map<compiler::EndpointName, std::string> endpoint_node_;  // where each endpoint is enforced
  std::map<uint64_t, std::set<std::string>> table_nodes_;        // nodes using each table
  std::map<uint32_t, std::set<std::string>> identity_nodes_;     // nodes naming each identity
  std::set<std::string> registration_changed_;
};

}  // namespace netfence::distribution
