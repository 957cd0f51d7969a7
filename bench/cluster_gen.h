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

}  // namespace netfence::bench
