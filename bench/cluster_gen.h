// SPDX-License-Identifier: Apache-2.0
// Generated clusters for benchmarks: shaped like real ones (namespaces of a few
// deployments, default-deny plus allow rules per namespace, shared monitoring and DNS).
#pragma once

#include <cstdint>
#include <vector>

#include "controlplane/k8s/model.h"

namespace netfence::bench {

struct ClusterShape {
  int namespaces = 10000;
  int deployments_per_namespace = 5;  // web, api, db, cache, worker
  int replicas = 3;
  // 10 rules per namespace: ingress web<-any:80/443, api<-web:http, db<-api:5432,
  // cache<-api|worker:6379, all<-monitoring:metrics; egress web->api, api->db|cache,
  // worker->db|cache, all->kube-system DNS (UDP+TCP 53), all->internet:443 except 10/8.
};

// ~ namespaces * deployments * replicas pods and namespaces * 10 rules.
k8s::ClusterState GenerateCluster(const ClusterShape& shape);

// One server pod whose single policy has `rules` ingress rules; rule i admits clients
// labelled group=g<i % groups> on TCP port 1000 + i % 4000. `groups` client pods, one
// per label value, are the peers.
struct WideTable {
  k8s::ClusterState state;
  IpAddr server;
  std::vector<IpAddr> clients;  // client g has label group=g<g>
  int groups = 0;
};
WideTable GenerateWideTable(int rules, int groups);

// A lookup against the wide table: a client group and a TCP destination port.
struct WideProbe {
  int group = 0;
  uint16_t port = 0;
};
// `n` lookups against GenerateWideTable(rules, groups), always the same (seed 42): the even
// ones hit a random rule's (group, port), the odd ones are a random (group, port), mostly
// misses (a full scan for a linear peer).
std::vector<WideProbe> WideTrace(int rules, int groups, size_t n);

// The wide table of `np_rules` NetworkPolicy rules behind `cnps` Admin-tier
// ClusterNetworkPolicies of `rules_per_cnp` ingress rules each, at distinct priorities, all
// selecting the server: cluster rule j (over all of them, in evaluation order) admits group
// j % groups on TCP port 1000 + j % 4000, with the action Pass, Deny or Accept (j % 3). One
// table of cnps * rules_per_cnp + np_rules rule bits.
WideTable GenerateTieredWideTable(int cnps, int rules_per_cnp, int np_rules, int groups);

// Adds `nodes` Nodes (labels role, zone; one InternalIP each) and `cnps` ClusterNetworkPolicies
// of `rules_per_cnp` rules each to a GenerateCluster() state: policy k, at priority k (Baseline
// tier for every fourth, Admin otherwise), selects the namespaces of team-(k % 50); its rules
// (two thirds ingress, the rest egress) admit pods of another team's namespaces by app, and
// on egress also networks and nodes, with the actions Accept, Deny and Pass in turn.
void AddClusterPolicies(k8s::ClusterState* state, int cnps, int rules_per_cnp, int nodes);

}  // namespace netfence::bench
