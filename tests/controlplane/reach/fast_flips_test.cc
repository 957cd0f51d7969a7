// SPDX-License-Identifier: Apache-2.0
// Flips over classes of pods (controlplane/reach/fast_flips.cc) against FlipsBruteForce, which
// judges every pod pair: random clusters (tests/differential's generators: selectors of every
// operator, ipBlocks over pod addresses, named ports, dual stack, host-network pods, cluster
// policies of every tier) and random changes of one to three edits (a policy added, modified
// or deleted; a pod or namespace relabelled; two pods' addresses swapped; a pod deleted; a
// cluster policy added, modified or deleted). Every flip must be found, none added, with the
// same decisions on both sides.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "controlplane/reach/diff.h"
#include "tests/controlplane/reach/reach_fixture.h"
#include "tests/differential/cluster_dump.h"
#include "tests/differential/random_cluster.h"

namespace netfence::reach {
namespace {

constexpr int kChanges = 1000;
constexpr int kTieredChanges = 600;

template <typename T>
const T& PickOf(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[rng() % v.size()];
}

// One to three edits drawn from `pool` (another random cluster of the same vocabulary).
Change RandomChange(std::mt19937_64& rng, const k8s::ClusterState& s, const k8s::ClusterState& pool,
                    std::string* what) {
  Change c;
  std::set<std::string> deleted;
  auto del = [&](const std::string& spec) {
    if (deleted.insert(spec).second) c.deletes.push_back(spec);
  };
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 9) {
      case 0:  // a new policy
        if (!pool.policies.empty() && !s.pods.empty()) {
          k8s::NetworkPolicy p = PickOf(rng, pool.policies);
          p.meta.ns = PickOf(rng, s.pods).meta.ns;
          p.meta.name = "added-" + std::to_string(e);
          c.objects.policies.push_back(p);
          *what += " add " + p.meta.ns + "/" + p.meta.name + ";";
        }
        break;
      case 1:  // a policy's spec replaced
        if (!pool.policies.empty() && !s.policies.empty()) {
          k8s::NetworkPolicy p = PickOf(rng, pool.policies);
          p.meta = PickOf(rng, s.policies).meta;
          c.objects.policies.push_back(p);
          *what += " modify " + p.meta.ns + "/" + p.meta.name + ";";
        }
        break;
      case 2:
        if (!s.policies.empty()) {
          const auto& p = PickOf(rng, s.policies);
          del("NetworkPolicy/" + p.meta.ns + "/" + p.meta.name);
          *what += " delete " + p.meta.ns + "/" + p.meta.name + ";";
        }
        break;
      case 3:  // a pod relabelled
        if (!s.pods.empty() && !pool.pods.empty()) {
          k8s::Pod p = PickOf(rng, s.pods);
          p.meta.labels = PickOf(rng, pool.pods).meta.labels;
          c.objects.pods.push_back(p);
          *what += " relabel pod " + p.key() + ";";
        }
        break;
      case 4:  // a namespace relabelled
        if (!s.namespaces.empty() && !pool.namespaces.empty()) {
          k8s::Namespace n = PickOf(rng, s.namespaces);
          n.meta.labels = PickOf(rng, pool.namespaces).meta.labels;
          c.objects.namespaces.push_back(n);
          *what += " relabel namespace " + n.meta.name + ";";
        }
        break;
      case 5:  // two pods swap their addresses (addresses stay unique)
        if (s.pods.size() >= 2) {
          k8s::Pod x = PickOf(rng, s.pods), y = PickOf(rng, s.pods);
          if (x.key() == y.key()) break;
          std::swap(x.pod_ips, y.pod_ips);
          c.objects.pods.push_back(x);
          c.objects.pods.push_back(y);
          *what += " swap addresses " + x.key() + " " + y.key() + ";";
        }
        break;
      case 6:
        if (!s.pods.empty()) {
          const auto& p = PickOf(rng, s.pods);
          del("Pod/" + p.key());
          *what += " delete pod " + p.key() + ";";
        }
        break;
      case 7:  // a cluster policy added or replaced
        if (!pool.cluster_policies.empty()) {
          k8s::ClusterNetworkPolicy p = PickOf(rng, pool.cluster_policies);
          if (!s.cluster_policies.empty() && rng() % 2) {
            const k8s::ClusterNetworkPolicy& old = PickOf(rng, s.cluster_policies);
            p.meta = old.meta;
            p.kind = old.kind;
          }
          c.objects.cluster_policies.push_back(p);
          *what += " upsert " + p.key() + ";";
        }
        break;
      case 8:
        if (!s.cluster_policies.empty()) {
          const auto& p = PickOf(rng, s.cluster_policies);
          del(p.key());
          *what += " delete " + p.key() + ";";
        }
        break;
    }
  }
  return c;
}

// Replicas: copies of some pods (same namespace, labels and ports) at new addresses of the
// same families in the same order, or, for host-network pods, at the same node address; so
// classes have several pods, some split by ipBlocks over pod addresses.
void AddReplicas(std::mt19937_64& rng, k8s::ClusterState* s) {
  const size_t n = s->pods.size();
  int next = 1;
  for (size_t i = 0; i < n; ++i) {
    if (rng() % 5 >= 2) continue;
    const int copies = 1 + static_cast<int>(rng() % 2);
    for (int k = 0; k < copies && next < 250; ++k, ++next) {
      k8s::Pod p = s->pods[i];
      p.meta.name += "-r" + std::to_string(k);
      if (!p.host_network) {
        for (std::string& ip : p.pod_ips) {
          ip = ip.find(':') == std::string::npos ? "10.0." + std::to_string(rng() % 3) + "." + std::to_string(next)
                                                 : "fd00::" + std::to_string(rng() % 3) + ":" + std::to_string(next);
        }
      }
      s->pods.push_back(std::move(p));
    }
  }
}

std::string Describe(const Flip& f) {
  auto dir = [](const classifier::DirectionDecision& d) {
    return std::to_string(static_cast<int>(d.outcome)) + "/" + std::to_string(d.table) + "/" +
           std::to_string(d.rule_bit);
  };
  auto side = [&](const Judgement& j) {
    return std::string(j.allowed ? "allowed" : "denied") + " e" + dir(j.decision.egress) + " i" +
           dir(j.decision.ingress);
  };
  std::ostringstream o;
  o << f.from << " -> " << f.to << " " << k8s::ProtocolName(f.port.protocol) << "/" << f.port.port << ": "
    << side(f.before) << " => " << side(f.after);
  return o.str();
}

void CompareOnRandomChanges(bool tiers, int changes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int with_flips = 0, failing = 0, shared = 0, skipped = 0;
  uint64_t total = 0;
  for (int i = 0; i < changes && failing < 3; ++i) {
    k8s::ClusterState before = tiers ? reference::RandomTieredCluster(rng) : reference::RandomCluster(rng);
    if (rng() % 2) AddReplicas(rng, &before);
    const k8s::ClusterState pool = tiers ? reference::RandomTieredCluster(rng) : reference::RandomCluster(rng);
    std::string what;
    const Change change = RandomChange(rng, before, pool, &what);
    k8s::ClusterState after = before;
    if (Status s = ApplyChange(change, &after); !s.ok()) {
      ADD_FAILURE() << s.message();
      continue;
    }
    const testing::Compiled b = testing::CompileState(before), a = testing::CompileState(after);
    if (!b.classifier || !a.classifier) continue;
    const auto ports = PortsOfInterest(before, after);
    FlipsStats stats;
    const auto fast = Flips(before, *b.classifier, after, *a.classifier, ports, &stats);
    shared += stats.classes < stats.pods ? 1 : 0;
    skipped += stats.class_pairs_judged < stats.classes * stats.classes ? 1 : 0;
    const auto brute = FlipsBruteForce(before, *b.classifier, after, *a.classifier, ports);
    std::vector<std::string> f, o;
    for (const Flip& x : fast) f.push_back(Describe(x));
    for (const Flip& x : brute) o.push_back(Describe(x));
    if (f != o) {
      ++failing;
      std::vector<std::string> missing, extra;
      std::set_difference(o.begin(), o.end(), f.begin(), f.end(), std::back_inserter(missing));
      std::set_difference(f.begin(), f.end(), o.begin(), o.end(), std::back_inserter(extra));
      ADD_FAILURE() << "change " << i << ":" << what << "\nmissed by Flips: " << ::testing::PrintToString(missing)
                    << "\nextra in Flips: " << ::testing::PrintToString(extra)
                    << (missing.empty() && extra.empty() ? "\n(the same flips in another order)" : "")
                    << "\ncluster:\n" << reference::DescribeCluster(before);
    }
    with_flips += brute.empty() ? 0 : 1;
    total += brute.size();
  }
  // The changes must flip things often, or the comparison proves little.
  EXPECT_GT(with_flips, changes / 4) << total << " flips in all";
  // And both shortcuts must be taken often: pods sharing a class, pairs left unjudged.
  EXPECT_GT(shared, changes / 4);
  EXPECT_GT(skipped, changes / 4);
}

TEST(FastFlips, EqualBruteForceOnRandomClustersAndChanges) { CompareOnRandomChanges(false, kChanges, 0x5eed0001); }

TEST(FastFlips, EqualBruteForceWithClusterPoliciesAndNodes) { CompareOnRandomChanges(true, kTieredChanges, 0x5eed0002); }

// The classes must not be merely exact: on a cluster of replicas they must be few.
TEST(FastFlips, ReplicasShareOneJudgement) {
  using netfence::testing::PodYaml;
  std::string yaml = testing::Base();
  for (int i = 0; i < 50; ++i) yaml += PodYaml("b", "r" + std::to_string(i), "app: r", "10.9.2." + std::to_string(i + 1));
  const auto before = testing::Load(yaml);
  const Change change{testing::Load(testing::kWebIn), {}};
  const k8s::ClusterState after = testing::After(before, change);
  const testing::Compiled b = testing::CompileState(before), a = testing::CompileState(after);
  const auto ports = PortsOfInterest(before, after);
  const auto fast = Flips(before, *b.classifier, after, *a.classifier, ports);
  EXPECT_EQ(fast.size(), 51u);  // b/other and the 50 replicas are cut from a/web
  EXPECT_EQ(fast.size(), FlipsBruteForce(before, *b.classifier, after, *a.classifier, ports).size());
}

}  // namespace
}  // namespace netfence::reach
