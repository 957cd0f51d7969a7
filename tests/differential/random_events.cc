// SPDX-License-Identifier: Apache-2.0
#include "tests/differential/random_events.h"

#include <iterator>

#include "tests/differential/random_cluster.h"

namespace netfence::reference {
namespace {

using source::Event;
using source::Op;
using Rng = std::mt19937_64;

int Uniform(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
bool Chance(Rng& rng, double p) { return std::bernoulli_distribution(p)(rng); }

// A variation of a pod the store has: labels, addresses, phase or ports changed.
k8s::Pod Mutate(Rng& rng, k8s::Pod pod) {
  switch (Uniform(rng, 0, 5)) {
    case 0:
      pod.meta.labels["app"] = Chance(rng, 0.5) ? "web" : "db";
      break;
    case 1:
      pod.meta.labels.erase(pod.meta.labels.empty() ? "" : pod.meta.labels.begin()->first);
      break;
    case 2:
      if (!pod.pod_ips.empty() && !pod.host_network) pod.pod_ips[0] = "10.0.7." + std::to_string(Uniform(rng, 1, 6));
      break;
    case 3:
      pod.phase = Chance(rng, 0.5) ? "Running" : "Succeeded";
      break;
    case 4:
      if (!pod.ports.empty()) std::swap(pod.ports.front(), pod.ports.back());
      if (!pod.ports.empty() && Chance(rng, 0.5)) pod.ports.front().container_port = Uniform(rng, 80, 81);
      break;
    default:
      pod.node_name = Chance(rng, 0.5) ? "node-1" : "node-3";
      break;
  }
  return pod;
}

}  // namespace

// Objects of `clusters` random clusters: the pool upserts are drawn from.
std::vector<k8s::Object> RandomObjectPool(Rng& rng, int clusters, bool tiers, bool audit) {
  std::vector<k8s::Object> pool;
  for (int c = 0; c < clusters; ++c) {
    k8s::ClusterState s = tiers ? reference::RandomTieredCluster(rng) : reference::RandomCluster(rng);
    if (audit) {
      auto annotated = [&](auto o) {
        o.meta.enforcement = Chance(rng, 0.5) ? "audit" : "enforce";
        pool.emplace_back(std::move(o));
      };
      for (const auto& o : s.namespaces) annotated(o);
      for (const auto& o : s.policies) annotated(o);
      for (const auto& o : s.cluster_policies) annotated(o);
    }
    for (auto& o : s.namespaces) pool.emplace_back(std::move(o));
    for (auto& o : s.pods) pool.emplace_back(std::move(o));
    for (auto& o : s.policies) pool.emplace_back(std::move(o));
    for (auto& o : s.nodes) pool.emplace_back(std::move(o));
    for (auto& o : s.cluster_policies) pool.emplace_back(std::move(o));
  }
  return pool;
}

std::vector<Event> RandomBatch(Rng& rng, const std::vector<k8s::Object>& pool, const source::ClusterStore& store) {
  std::vector<Event> batch;
  for (int n = Uniform(rng, 1, Chance(rng, 0.1) ? 25 : 4); n > 0; --n) {
    const int what = Uniform(rng, 0, 9);
    if (what < 5) {
      batch.push_back({Op::kUpsert, pool[static_cast<size_t>(Uniform(rng, 0, static_cast<int>(pool.size()) - 1))]});
    } else if (what < 7 && store.size() > 0) {
      k8s::ClusterState s = store.State();
      std::vector<k8s::Object> have;
      for (auto& o : s.namespaces) have.emplace_back(o);
      for (auto& o : s.pods) have.emplace_back(o);
      for (auto& o : s.policies) have.emplace_back(o);
      for (auto& o : s.nodes) have.emplace_back(o);
      for (auto& o : s.cluster_policies) have.emplace_back(o);
      batch.push_back({Op::kDelete, have[static_cast<size_t>(Uniform(rng, 0, static_cast<int>(have.size()) - 1))]});
    } else if (what == 7 && !store.cluster_policies().empty()) {
      // A cluster policy moved in the evaluation order (or to the other tier).
      auto it = store.cluster_policies().begin();
      std::advance(it, Uniform(rng, 0, static_cast<int>(store.cluster_policies().size()) - 1));
      k8s::ClusterNetworkPolicy cnp = it->second;
      if (cnp.kind == "ClusterNetworkPolicy" && Chance(rng, 0.3)) {
        cnp.tier = cnp.tier == k8s::Tier::kAdmin ? k8s::Tier::kBaseline : k8s::Tier::kAdmin;
      } else if (cnp.kind != "BaselineAdminNetworkPolicy") {
        cnp.priority = Uniform(rng, 0, 12);
      }
      batch.push_back({Op::kUpsert, std::move(cnp)});
    } else if (!store.pods().empty()) {
      auto it = store.pods().begin();
      std::advance(it, Uniform(rng, 0, static_cast<int>(store.pods().size()) - 1));
      batch.push_back({Op::kUpsert, Mutate(rng, it->second)});
    }
  }
  return batch;
}

}  // namespace netfence::reference
