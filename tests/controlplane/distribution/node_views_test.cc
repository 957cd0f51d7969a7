// SPDX-License-Identifier: Apache-2.0
// Node views against their definition: after every batch of random event sequences, an
// agent that applied each delta its node got holds exactly its part of the cluster (its
// endpoints, their tables, the identities they name, the whole ipcache), a fresh snapshot
// holds the same, and the node's assembled tables decide every packet from or to its
// endpoints as the cluster's full compile does.
#include "controlplane/distribution/node_views.h"

#include <gtest/gtest.h>

#include <random>

#include "common/classifier/classifier.h"
#include "common/tables/update_chunks.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/compiler/incremental.h"
#include "tests/differential/random_cluster.h"
#include "tests/differential/random_events.h"
#include "tests/testing/sim_agent.h"

namespace netfence::distribution {
namespace {

using tables::MergeUpdatePart;
using tables::SplitUpdate;
using tables::TableSet;

struct Agent {
  uint64_t generation = 0;
  TableSet set;
};

// (outcome, policy, rule) of a direction, comparable across tables of different numbering.
std::tuple<int, std::string, uint32_t> Said(const classifier::DirectionDecision& d, const v1::RuleTables& t) {
  if (d.outcome != classifier::Outcome::kAllowed) return {static_cast<int>(d.outcome), "", 0};
  const auto& table = t.tables(static_cast<int>(d.table));
  const auto& p = t.policies(static_cast<int>(table.rule_policy(static_cast<int>(d.rule_bit))));
  return {1, p.namespace_() + "/" + p.name(), table.rule_index(static_cast<int>(d.rule_bit))};
}

void CheckClassification(const k8s::ClusterState& state, const TableSet& node_set, uint64_t gen, std::mt19937_64& rng) {
  auto full = std::make_shared<v1::RuleTables>(compiler::Compile(state, {.generation = gen}));
  auto node = std::make_shared<v1::RuleTables>(tables::Assemble(node_set, gen, {}, /*fast_path_ipcache=*/true));
  auto cf = classifier::Classifier::Load(full);
  auto cn = classifier::Classifier::Load(node);
  ASSERT_TRUE(cf.ok()) << cf.status().message();
  ASSERT_TRUE(cn.ok()) << cn.status().message();
  EXPECT_LE(node->ipcache_identities_size(), full->ipcache_identities_size());
  for (int i = 0; i < 60; ++i) {
    reference::Packet p = reference::RandomPacket(rng, state);
    classifier::FlowKey key{p.src, p.dst, p.proto, p.dport};
    const classifier::Decision df = (*cf)->Classify(key);
    const classifier::Decision dn = (*cn)->Classify(key);
    if ((*cn)->EndpointOf(p.src)) {
      EXPECT_EQ(Said(df.egress, *full), Said(dn.egress, *node)) << p.str();
    }
    if ((*cn)->EndpointOf(p.dst)) {
      EXPECT_EQ(Said(df.ingress, *full), Said(dn.ingress, *node)) << p.str();
    }
  }
}

TEST(NodeViewsTest, DeltasSnapshotsAndVerdictsMatchTheDefinition) {
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    std::mt19937_64 rng(seed);
    const auto pool = reference::RandomObjectPool(rng, 10);
    source::ClusterStore store;
    compiler::IncrementalCompiler inc;
    NodeViews views(inc);
    std::map<std::string, Agent> agents;
    views.AddNode("node-idle", 0);  // connected, never has endpoints
    for (int step = 1; step <= 120; ++step) {
      std::vector<source::Event> applied;
      for (const auto& e : reference::RandomBatch(rng, pool, store)) {
        if (store.Apply(e)) applied.push_back(e);
      }
      const auto changes = inc.Apply(applied);
      const uint64_t gen = static_cast<uint64_t>(step) * 10;
      for (auto& [node, update] : views.Advance(changes, gen, 0)) {
        // Through the wire's parts, as an agent gets it.
        v1::NodeUpdate whole;
        bool complete = false;
        for (auto& part : SplitUpdate(std::move(update), 300)) complete = MergeUpdatePart(std::move(part), &whole);
        ASSERT_TRUE(complete);
        Agent& a = agents[node];
        ASSERT_EQ(whole.generation(), gen);
        Status s = tables::ApplyUpdate(whole, a.generation, &a.set);
        ASSERT_TRUE(s.ok()) << "seed " << seed << " step " << step << " node " << node << ": " << s.message();
        a.generation = whole.generation();
      }
      for (const auto& [node, a] : agents) {
        const TableSet want = testing::ExpectedNodeView(inc.set(), node);
        ASSERT_TRUE(a.set == want) << "seed " << seed << " step " << step << " node " << node << ": "
                                   << testing::Difference(a.set, want);
        if (step % 10 == 0) {
          TableSet fresh;
          ASSERT_TRUE(tables::ApplyUpdate(views.Snapshot(node, 0), 0, &fresh).ok());
          EXPECT_TRUE(fresh == want) << "snapshot of " << node;
          CheckClassification(store.State(), a.set, gen, rng);
        }
      }
      if (HasFailure()) return;
    }
  }
}

TEST(NodeViewsTest, AnUnaffectedNodeGetsOnlyTheNewGenerationAndAddresses) {
  compiler::IncrementalCompiler inc;
  NodeViews views(inc);
  auto pod = [](std::string name, std::string node, std::string ip) {
    k8s::Pod p;
    p.meta.ns = "shop";
    p.meta.name = std::move(name);
    p.meta.labels = {{"app", "web"}};
    p.node_name = std::move(node);
    p.pod_ips = {std::move(ip)};
    return p;
  };
  k8s::NetworkPolicy np;
  np.meta.ns = "shop";
  np.meta.name = "deny";
  std::vector<source::Event> first = {{source::Op::kUpsert, np},
                                      {source::Op::kUpsert, pod("a", "n1", "10.0.0.1")},
                                      {source::Op::kUpsert, pod("b", "n2", "10.0.0.2")}};
  auto u1 = views.Advance(inc.Apply(first), 1, 0);
  ASSERT_EQ(u1.size(), 2u);
  EXPECT_EQ(u1["n1"].endpoints_size(), 1);
  EXPECT_EQ(u1["n1"].tables_size(), 2);
  EXPECT_EQ(u1["n1"].ipcache_size(), 2);

  // A replica on n2: n1 learns the address, nothing else.
  auto u2 =
      views.Advance(inc.Apply(std::vector<source::Event>{{source::Op::kUpsert, pod("c", "n2", "10.0.0.3")}}), 2, 0);
  EXPECT_EQ(u2["n1"].base_generation(), 1u);
  EXPECT_EQ(u2["n1"].generation(), 2u);
  EXPECT_EQ(u2["n1"].ipcache_size(), 1);
  EXPECT_EQ(u2["n1"].endpoints_size() + u2["n1"].tables_size() + u2["n1"].identities_size(), 0);
  EXPECT_EQ(u2["n2"].endpoints_size(), 1);
  EXPECT_EQ(u2["n2"].tables_size(), 0);  // the replica shares its workload's tables
}

}  // namespace
}  // namespace netfence::distribution
