// SPDX-License-Identifier: Apache-2.0
// FlowGraph: who talked to whom, from flow-log records, as a Graphviz graph (DOT) that
// `netfencectl flows --graph out.svg` renders with Graphviz's `dot` (and `-o dot` prints).
//
//   FlowGraph g({.by = FlowGraph::By::kPod});
//   for (const FlowRecord& r : records) g.Add(r);   // any order, any number of nodes' logs
//   std::string dot = g.ToDot();
//
// Vertices are pods (or workloads, or namespaces), in one cluster per namespace; addresses
// that are no pod (the world, nodes) are vertices of their own, outside the clusters. An edge
// goes from the initiator to the responder, one per verdict:
//   allowed  connections that got through: distinct flows (Community IDs), their packets and
//            bytes, the ports, and the rules that allowed them
//   audit    connections an observe-only policy would have denied (they got through), and
//            the policies that would deny them (the records' audit_policies)
//   denied   denied packets (drop records: default-deny, revoked, ...), their ports and the
//            policies that isolated the denying side; drops an observe-only policy would have
//            allowed (drop records with verdict audit) are here too: they were dropped
// Each edge's label says the ports and the counts; its tooltip (SVG hover) the deciding
// policies. `lost` records make the title say how many events the picture may miss. Edges carry `verdict`, `flows`,
// `packets` attributes, so that a program reading the DOT (or `dot -Tjson`) finds them by name.
//
// One connection between two nodes is in both nodes' logs: the sender's node judges its
// egress, the receiver's node its ingress. A flow counts as allowed from the records of the
// node that judged the receiver's side (the destination's node); the sender's record alone
// counts when no node dropped the flow and the receiver's node's log is not among those read.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/flowlog/flow_record.h"

namespace netfence::flowlog {

class FlowGraph {
 public:
  enum class By { kPod, kWorkload, kNamespace };
  struct Options {
    By by = By::kPod;
    std::string title{};  // the graph's label ("" = none)
  };
  struct Edge {
    std::string from, to;  // vertex ids
    Verdict verdict = Verdict::kAllowed;
    uint64_t flows = 0;    // allowed/audit: distinct Community IDs; denied: drop records' flows
    uint64_t packets = 0;  // allowed/audit: of the connections (last counters); denied: drops
    uint64_t bytes = 0;
    std::set<std::string> ports;     // "TCP/80", "ICMPv6"
    std::set<std::string> policies;  // "ns/name"
  };
  struct Vertex {
    std::string id;     // "ns/pod", "ns/workload", "ns", or the address
    std::string ns;     // "" outside the cluster
    std::string label;  // what it shows
  };

  explicit FlowGraph(Options options) : options_(std::move(options)) {}

  void Add(const FlowRecord& r);
  // The edges and vertices once every record was added.
  std::vector<Edge> Edges() const;
  std::vector<Vertex> Vertices() const;
  std::string ToDot() const;

  // The workload of a pod: its app.kubernetes.io/name or app label, else its name without
  // the generated suffixes of Deployments (-<hash>-<5>), DaemonSets/Jobs (-<5>) and
  // StatefulSets (-<ordinal>).
  static std::string Workload(const Endpoint& e);

 private:
  struct FlowSeen {
    std::string from, to;
    Verdict verdict = Verdict::kAllowed;
    std::string port;
    std::set<std::string> policies;
    bool from_receiver = false;  // some record of it came from the destination's node
    bool from_sender = false;
    // Last (packets, bytes) per (node, flow_id): each connection's totals once, as the
    // receiver's node counted them (else the sender's).
    std::map<std::pair<std::string, uint64_t>, std::pair<uint64_t, uint64_t>> receiver_counters, sender_counters;
  };
  std::string VertexOf(const Endpoint& e);
  static std::string PortOf(const FlowRecord& r);
  void AddDrop(const FlowRecord& r, const std::string& from, const std::string& to);

  Options options_;
  std::map<std::string, Vertex> vertices_;
  std::map<std::string, FlowSeen> flows_;  // allowed/audit records by Community ID
  std::set<std::string> dropped_flows_;    // Community IDs some node dropped
  uint64_t lost_events_ = 0;
  std::map<std::tuple<std::string, std::string>, Edge> denied_;
  std::map<std::tuple<std::string, std::string>, std::set<std::string>> denied_flows_;  // exact ones' Community IDs
};

}  // namespace netfence::flowlog
