// SPDX-License-Identifier: Apache-2.0
// The incremental compiler against the batch compiler: after every batch of events of long
// random sequences, the incremental compiler's tables are byte for byte those that
// compiler::Compile() makes from scratch for the same objects. Sequences mix objects of many
// random clusters drawn from one vocabulary (so upserts are often modifications: relabelled
// pods and namespaces, moved addresses, changed rules), deletes, and pod mutations that hit
// identity sharing, id collisions, duplicated addresses and named ports.
#include "controlplane/compiler/incremental.h"

#include <gtest/gtest.h>

#include <random>

#include "google/protobuf/util/message_differencer.h"

#include "controlplane/compiler/compiler.h"
#include "controlplane/compiler/identity_key.h"
#include "controlplane/source/cluster_store.h"
#include "tests/differential/cluster_dump.h"
#include "tests/differential/random_cluster.h"
#include "tests/differential/random_events.h"

namespace netfence::compiler {
namespace {

using source::Event;
using source::Op;
using Rng = std::mt19937_64;

std::string Serialized(const v1::RuleTables& t) {
  std::string s;
  t.SerializeToString(&s);
  return s;
}

// Runs `steps` batches from seed; fails at the first batch after which the two disagree.
// `tiers`: the objects include nodes and cluster policies. `audit`: namespaces and policies
// move in and out of audit (annotation netfence.io/enforcement), `audit_by_default` the
// compilers' default.
void RunSequence(uint64_t seed, int steps, bool tiers = false, bool audit = false, bool audit_by_default = false) {
  Rng rng(seed);
  const std::vector<k8s::Object> pool = reference::RandomObjectPool(rng, 12, tiers, audit);
  source::ClusterStore store;
  IncrementalCompiler inc(audit_by_default);
  for (int step = 0; step < steps; ++step) {
    std::vector<Event> batch = reference::RandomBatch(rng, pool, store);
    // The store drops no-op events, as every source does.
    std::vector<Event> applied;
    for (const Event& e : batch) {
      if (store.Apply(e)) applied.push_back(e);
    }
    inc.Apply(applied);
    const uint64_t gen = static_cast<uint64_t>(step) + 1;
    const v1::RuleTables full = Compile(store.State(), {.generation = gen, .audit_by_default = audit_by_default});
    const v1::RuleTables incremental = inc.Materialize(gen);
    if (Serialized(full) != Serialized(incremental)) {
      std::string diff;
      google::protobuf::util::MessageDifferencer d;
      d.ReportDifferencesToString(&diff);
      d.Compare(full, incremental);
      ADD_FAILURE() << "seed " << seed << " step " << step << ": incremental tables differ from a full compile\n"
                    << "differences (full, then incremental):\n"
                    << diff.substr(0, 4000) << "\ncluster: " << reference::DescribeCluster(store.State());
      return;
    }
  }
}

TEST(IncrementalCompilerTest, EqualsAFullCompileAfterEveryBatchOfRandomSequences) {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    RunSequence(seed, 150);
    if (HasFailure()) return;
  }
}

// The same with a tiny id space: identities collide on their preferred ids all the time, so
// adding or removing one moves the ids of others (and the tables naming them).
TEST(IncrementalCompilerTest, EqualsAFullCompileWhenIdentityIdsCollide) {
  SetIdentitySpaceForTesting(4, kMaxIdentity);
  for (uint64_t seed = 100; seed <= 130; ++seed) {
    RunSequence(seed, 150);
    if (HasFailure()) break;
  }
  SetIdentitySpaceForTesting(kMaxIdentity - kFirstPodIdentity, kMaxIdentity);
}

// And with ids that wrap around the top of the space (the sequences hold at most ~20
// identities at once, well below the 30 ids there are).
TEST(IncrementalCompilerTest, EqualsAFullCompileWhenIdentityIdsWrap) {
  SetIdentitySpaceForTesting(24, kFirstPodIdentity + 30);
  for (uint64_t seed = 200; seed <= 215; ++seed) {
    RunSequence(seed, 150);
    if (HasFailure()) break;
  }
  SetIdentitySpaceForTesting(kMaxIdentity - kFirstPodIdentity, kMaxIdentity);
}

// With cluster policies and nodes: subjects by namespace and pod labels, peers of every kind,
// priorities and tiers changing under the identities, nodes relabelled and readdressed.
TEST(IncrementalCompilerTest, EqualsAFullCompileWithClusterPolicies) {
  for (uint64_t seed = 300; seed <= 345; ++seed) {
    RunSequence(seed, 150, /*tiers=*/true);
    if (HasFailure()) return;
  }
}

TEST(IncrementalCompilerTest, EqualsAFullCompileWithClusterPoliciesWhenIdentityIdsCollide) {
  SetIdentitySpaceForTesting(4, kMaxIdentity);
  for (uint64_t seed = 400; seed <= 415; ++seed) {
    RunSequence(seed, 150, /*tiers=*/true);
    if (HasFailure()) break;
  }
  SetIdentitySpaceForTesting(kMaxIdentity - kFirstPodIdentity, kMaxIdentity);
}

// Namespaces and policies moving in and out of audit: a namespace's annotation re-decodes its
// policies and rebuilds their tables, a policy's its own.
TEST(IncrementalCompilerTest, EqualsAFullCompileWithPoliciesInAudit) {
  for (uint64_t seed = 500; seed <= 530; ++seed) {
    RunSequence(seed, 120, /*tiers=*/seed % 2 == 0, /*audit=*/true, /*audit_by_default=*/seed % 3 == 0);
    if (HasFailure()) return;
  }
}

class ReportsChanges : public testing::TestWithParam<bool> {};

TEST_P(ReportsChanges, ExactlyTheUnitsThatChanged) {
  Rng rng(7);
  const std::vector<k8s::Object> pool = reference::RandomObjectPool(rng, 8, GetParam());
  source::ClusterStore store;
  IncrementalCompiler inc;
  TableSet before;
  for (int step = 0; step < 400; ++step) {
    std::vector<Event> applied;
    for (const Event& e : reference::RandomBatch(rng, pool, store)) {
      if (store.Apply(e)) applied.push_back(e);
    }
    IncrementalCompiler::Changes ch = inc.Apply(applied);
    const TableSet& after = inc.set();
    // Every key whose value differs is reported, and nothing else.
    auto check = [&](const auto& old_map, const auto& new_map, const auto& reported, const char* what) {
      std::set<typename std::decay_t<decltype(old_map)>::key_type> differ;
      for (const auto& [k, v] : old_map) {
        auto it = new_map.find(k);
        if (it == new_map.end() || it->second.SerializeAsString() != v.SerializeAsString()) differ.insert(k);
      }
      for (const auto& [k, v] : new_map) {
        if (!old_map.contains(k)) differ.insert(k);
      }
      EXPECT_EQ(differ.size(), reported.size()) << what << " at step " << step;
      for (const auto& k : differ) EXPECT_TRUE(reported.contains(k)) << what << " at step " << step;
    };
    check(before.identities, after.identities, ch.identities, "identities");
    check(before.ipcache, after.ipcache, ch.ipcache, "ipcache");
    check(before.endpoints, after.endpoints, ch.endpoints, "endpoints");
    check(before.tables, after.tables, ch.tables, "tables");
    if (HasFailure()) return;
    before = after;
  }
}

INSTANTIATE_TEST_SUITE_P(IncrementalCompilerTest, ReportsChanges, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& p) { return p.param ? "WithTiers" : "NetworkPolicy"; });

TEST(IncrementalCompilerTest, AnUnrelatedPodRebuildsNoTable) {
  k8s::ClusterState s;
  k8s::NetworkPolicy np;
  np.meta = {"deny", "shop", {}, "", "", ""};
  s.policies.push_back(np);
  for (int i = 0; i < 20; ++i) {
    k8s::Pod p;
    p.meta = {"web-" + std::to_string(i), "shop", {{"app", "web"}}, "", "", ""};
    p.pod_ips = {"10.1.0." + std::to_string(i + 1)};
    p.node_name = "n1";
    s.pods.push_back(p);
  }
  IncrementalCompiler inc;
  std::vector<Event> all;
  for (const auto& p : s.policies) all.push_back({Op::kUpsert, p});
  for (const auto& p : s.pods) all.push_back({Op::kUpsert, p});
  IncrementalCompiler::Changes first = inc.Apply(all);
  EXPECT_EQ(first.tables.size(), 2u);  // the shop pods' ingress (deny) and egress (open) tables

  // One more replica of an existing workload: a new endpoint and address, no table work.
  k8s::Pod extra = s.pods[0];
  extra.meta.name = "web-99";
  extra.pod_ips = {"10.1.0.99"};
  IncrementalCompiler::Changes ch = inc.Apply(std::vector<Event>{{Op::kUpsert, extra}});
  EXPECT_EQ(ch.tables_built, 0u);
  EXPECT_TRUE(ch.tables.empty());
  EXPECT_TRUE(ch.identities.empty());
  EXPECT_EQ(ch.endpoints.size(), 1u);
  EXPECT_EQ(ch.ipcache.size(), 1u);
  s.pods.push_back(extra);
  EXPECT_EQ(Serialized(inc.Materialize(3)), Serialized(Compile(s, {.generation = 3})));
}

}  // namespace
}  // namespace netfence::compiler
