// SPDX-License-Identifier: Apache-2.0
// GenerationHistory: each generation's rule names and enrichment stay as they were, whatever
// later generations change, until nothing can refer to them.
#include "dataplane/flowlog/pipeline/generation_history.h"

#include <gtest/gtest.h>

#include "tests/dataplane/flowlog/pipeline/generation_fixture.h"

namespace netfence::flowlog {
namespace {

using testing::MakeGeneration;
using testing::PodYaml;
using testing::PolicyYaml;

std::string Pods(const std::string& db_name, const std::string& db_ip) {
  return PodYaml("shop", "api", "app: api", "10.0.0.2") + PodYaml("shop", db_name, "app: db", db_ip);
}
std::string AllowDb(const std::string& policy_name, int port) {
  return PolicyYaml("shop", policy_name,
                    "  podSelector: {matchLabels: {app: db}}\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{port: " +
                        std::to_string(port) + "}]\n");
}

TEST(GenerationHistoryTest, KeepsEachGenerationsRuleNamesWhateverLaterOnesSay) {
  GenerationHistory h;
  auto g1 = MakeGeneration(Pods("db", "10.0.0.9") + AllowDb("allow-db", 5432), 1);
  auto g2 = MakeGeneration(Pods("db", "10.0.0.9") + AllowDb("allow-db-v2", 6432), 2);
  testing::AddGeneration(&h, g1, 11, 100);
  testing::AddGeneration(&h, g2, 12, 200);

  const GenerationMeta* m1 = h.Find(1);
  ASSERT_NE(m1, nullptr);
  EXPECT_EQ(m1->epoch, 11u);
  EXPECT_EQ(m1->superseded_ns, 200);
  ASSERT_EQ(m1->policies.size(), 1u);
  EXPECT_EQ(m1->policies[0], std::make_pair(std::string("shop"), std::string("allow-db")));
  const uint32_t t1 = g1.TableOf("10.0.0.9", false);
  ASSERT_NE(m1->table(t1), nullptr);
  EXPECT_EQ(m1->table(t1)->direction, Direction::kIngress);
  EXPECT_EQ(m1->table(t1)->rule_policy, std::vector<uint32_t>{0});
  EXPECT_EQ(m1->table(t1)->rule_index, std::vector<uint32_t>{0});
  EXPECT_EQ(m1->table(t1)->isolating_policies, std::vector<uint32_t>{0});
  EXPECT_TRUE(m1->local.contains(*IpAddr::Parse("10.0.0.9")));

  const GenerationMeta* m2 = h.FindEpoch(12);
  ASSERT_NE(m2, nullptr);
  EXPECT_EQ(m2->generation, 2u);
  EXPECT_EQ(m2->superseded_ns, 0);
  EXPECT_EQ(m2->policies[0].second, "allow-db-v2");
  EXPECT_EQ(h.Live(), m2);
  EXPECT_EQ(h.Find(3), nullptr);
  EXPECT_EQ(h.FindEpoch(13), nullptr);
}

TEST(GenerationHistoryTest, EnrichesAnAddressAsOfTheGenerationAsked) {
  GenerationHistory h;
  auto g1 = MakeGeneration(Pods("db", "10.0.0.9"), 1);
  auto g2 = MakeGeneration(Pods("db-new", "10.0.0.9"), 2);  // another pod got the address
  auto g3 = MakeGeneration(Pods("db-new", "10.0.0.8"), 3);  // and left it
  testing::AddGeneration(&h, g1, 1, 100);
  testing::AddGeneration(&h, g2, 2, 200);
  testing::AddGeneration(&h, g3, 3, 300);
  const IpAddr addr = *IpAddr::Parse("10.0.0.9");

  Endpoint e;
  ASSERT_TRUE(h.Enrich(1, addr, &e));
  EXPECT_EQ(e.ns, "shop");
  EXPECT_EQ(e.pod, "db");
  EXPECT_EQ(e.identity, g1.IdentityOf("10.0.0.9"));
  EXPECT_EQ(e.labels, (std::vector<std::pair<std::string, std::string>>{{"app", "db"}}));
  ASSERT_TRUE(h.Enrich(2, addr, &e));
  EXPECT_EQ(e.pod, "db-new");
  ASSERT_TRUE(h.Enrich(3, addr, &e));
  EXPECT_EQ(e.pod, "");  // world now
  EXPECT_EQ(e.ns, "");
  EXPECT_FALSE(e.identity.has_value());
  EXPECT_TRUE(e.labels.empty());
  ASSERT_TRUE(h.Enrich(3, *IpAddr::Parse("10.0.0.8"), &e));
  EXPECT_EQ(e.pod, "db-new");
  EXPECT_FALSE(h.Enrich(4, addr, &e));  // unknown generation: nothing said
}

TEST(GenerationHistoryTest, AnUnchangedAddressCostsOneVersion) {
  GenerationHistory h;
  auto g = MakeGeneration(Pods("db", "10.0.0.9"), 1);
  for (uint64_t gen = 1; gen <= 50; ++gen) {
    g.tables.set_generation(gen);
    testing::AddGeneration(&h, g, static_cast<uint32_t>(gen), static_cast<int64_t>(gen));
  }
  EXPECT_EQ(h.address_versions(), 2u);  // api and db, once each
  EXPECT_EQ(h.size(), 50u);
}

TEST(GenerationHistoryTest, RetiresSupersededGenerationsNothingRefersTo) {
  GenerationHistory h;
  auto g1 = MakeGeneration(Pods("db", "10.0.0.9"), 1);
  auto g2 = MakeGeneration(Pods("db-new", "10.0.0.9"), 2);
  auto g3 = MakeGeneration(Pods("db-new", "10.0.0.9"), 3);
  testing::AddGeneration(&h, g1, 1, 100);
  testing::AddGeneration(&h, g2, 2, 200);
  testing::AddGeneration(&h, g3, 3, 300);
  // Superseded at 200 and 300: only generation 1 was superseded before 250.
  EXPECT_EQ(h.Retire(250, nullptr), 1u);
  EXPECT_EQ(h.Find(1), nullptr);
  EXPECT_NE(h.Find(2), nullptr);
  // Referenced: kept.
  EXPECT_EQ(h.Retire(1000, [](uint64_t g) { return g == 2; }), 0u);
  EXPECT_NE(h.Find(2), nullptr);
  // The live generation is never retired.
  EXPECT_EQ(h.Retire(1000, nullptr), 1u);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.Live(), h.Find(3));
  // The versions only generation 1 could see are gone; what 3 sees is intact.
  EXPECT_EQ(h.address_versions(), 2u);
  Endpoint e;
  ASSERT_TRUE(h.Enrich(3, *IpAddr::Parse("10.0.0.9"), &e));
  EXPECT_EQ(e.pod, "db-new");
}

TEST(GenerationHistoryTest, TheSameGenerationAddedAgainIsItsLatestProgramming) {
  GenerationHistory h;
  auto g = MakeGeneration(Pods("db", "10.0.0.9"), 5);
  testing::AddGeneration(&h, g, 1, 100);
  testing::AddGeneration(&h, g, 2, 200);  // programmed again (a restart): a new epoch
  EXPECT_EQ(h.Find(5)->epoch, 2u);
  EXPECT_EQ(h.FindEpoch(1)->generation, 5u);  // entries of the first epoch still resolve
}

TEST(GenerationHistoryTest, GenerationsRealisedWithoutProgrammingShareTheProgrammedStamp) {
  GenerationHistory h;
  auto g1 = MakeGeneration(Pods("db", "10.0.0.9") + AllowDb("allow-db", 5432), 1);
  // Generations 2 and 3: the same tables (epoch 1: not programmed), another pod elsewhere.
  auto g2 =
      MakeGeneration(Pods("db", "10.0.0.9") + AllowDb("allow-db", 5432) + PodYaml("x", "new", "a: b", "10.0.5.5"), 2);
  auto g3 =
      MakeGeneration(Pods("db", "10.0.0.9") + AllowDb("allow-db", 5432) + PodYaml("x", "new", "a: b", "10.0.5.5"), 3);
  testing::AddGeneration(&h, g1, 1, 100);
  testing::AddGeneration(&h, g2, 1, 200);
  testing::AddGeneration(&h, g3, 1, 300);
  EXPECT_EQ(h.Find(2)->stamp, 1u);
  EXPECT_EQ(h.Find(3)->stamp, 1u);
  EXPECT_EQ(h.FindEpoch(1)->generation, 3u);
  // The datapath's generation 1, at the time of each.
  EXPECT_EQ(h.Resolve(1, 150)->generation, 1u);
  EXPECT_EQ(h.Resolve(1, 250)->generation, 2u);
  EXPECT_EQ(h.Resolve(1, 1000)->generation, 3u);
  Endpoint e;
  h.Enrich(*h.Resolve(1, 150), *IpAddr::Parse("10.0.5.5"), &e);
  EXPECT_EQ(e.pod, "");  // not yet a pod
  h.Enrich(*h.Resolve(1, 250), *IpAddr::Parse("10.0.5.5"), &e);
  EXPECT_EQ(e.pod, "new");
  // Long after: generation 1 itself is gone, 2 too, but events stamped 1 resolve (to 3): the
  // programming is live.
  EXPECT_EQ(h.Retire(10'000, nullptr), 2u);
  EXPECT_TRUE(h.Knows(1));
  EXPECT_EQ(h.Find(1), nullptr);
  ASSERT_NE(h.Resolve(1, 150), nullptr);
  EXPECT_EQ(h.Resolve(1, 150)->generation, 3u);
  EXPECT_EQ(h.Resolve(1, 150)->policies[0].second, "allow-db");
  // A new programming: the old one goes once superseded before the cutoff and unreferenced.
  auto g4 = MakeGeneration(Pods("db", "10.0.0.9") + AllowDb("allow-db-v2", 5432), 4);
  testing::AddGeneration(&h, g4, 2, 20'000);
  EXPECT_EQ(h.Resolve(4, 20'000)->stamp, 4u);
  EXPECT_EQ(h.Retire(30'000, [](uint64_t stamp) { return stamp == 1; }), 0u);
  EXPECT_TRUE(h.Knows(1));
  EXPECT_EQ(h.Retire(30'000, nullptr), 1u);
  EXPECT_FALSE(h.Knows(1));
  EXPECT_EQ(h.Resolve(1, 150), nullptr);
  EXPECT_EQ(h.size(), 1u);
}

}  // namespace
}  // namespace netfence::flowlog
