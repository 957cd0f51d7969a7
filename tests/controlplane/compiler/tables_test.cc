// SPDX-License-Identifier: Apache-2.0
// The shape of the compiled tables: identities, table sharing, row layout, determinism.
#include <gtest/gtest.h>

#include <set>

#include "tests/testing/policy_fixture.h"

namespace netfence::testing {
namespace {

TEST(Tables, PodsWithIdenticalLabelsShareOneIdentityAndOneTable) {
  std::string yaml;
  for (int i = 1; i <= 20; ++i)
    yaml += PodYaml("shop", "web-" + std::to_string(i), "app: web", "10.1.0." + std::to_string(i));
  yaml += PodYaml("shop", "db", "app: db", "10.1.1.1");
  yaml += PolicyYaml(
      "shop", "p",
      "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}]");
  Cluster c(yaml);
  const auto& t = c.tables();
  EXPECT_EQ(t.identities_size(), 2);
  EXPECT_EQ(t.endpoints_size(), 21);
  // Ingress: the db's, and the unpoliced web pods'; egress: one open table for everyone.
  EXPECT_EQ(t.tables_size(), 3);
  std::set<uint32_t> web_tables, web_ids;
  for (const auto& ep : t.endpoints()) {
    if (ep.name().starts_with("web-")) web_tables.insert(ep.ingress_table()), web_ids.insert(ep.identity());
    EXPECT_EQ(ep.egress_table(), t.endpoints(0).egress_table());
  }
  EXPECT_EQ(web_tables.size(), 1u);
  EXPECT_EQ(web_ids.size(), 1u);
  for (const auto& id : t.identities()) EXPECT_GE(id.id(), compiler::kFirstPodIdentity);
  // The db table lists the web identity once, not 20 pods.
  const auto& db_in = t.tables(t.endpoints(0).ingress_table());
  EXPECT_EQ(db_in.direction(), v1::INGRESS);
  EXPECT_EQ(db_in.identity_ids_size(), 1);
}

TEST(Tables, RowsSpanManyWordsAndTheLowestMatchingRuleIsReported) {
  // 5000 rules in one policy: rule i allows port 10000+i from everyone. Rows are 79 words
  // with a 2-word summary; the rule reported for port 10000+i is i.
  std::string spec = "  podSelector: {}\n  ingress:\n";
  for (int i = 0; i < 5000; ++i) spec += "  - ports: [{port: " + std::to_string(10000 + i) + "}]\n";
  spec += "  - ports: [{port: 14999}]\n";  // a second rule for the last port: the first still wins
  Cluster c(PodYaml("a", "p", "app: p", "10.2.0.1") + PodYaml("a", "q", "app: q", "10.2.0.2") +
            PolicyYaml("a", "many", spec));
  const auto& dt = c.tables().tables(c.tables().endpoints(0).ingress_table());
  EXPECT_EQ(dt.rule_count(), 5001u);
  EXPECT_EQ(dt.row_words(), 79u);
  EXPECT_EQ(dt.summary_words(), 2u);
  for (int i : {0, 63, 64, 4095, 4096, 4999}) {
    auto d = c.Decide("10.2.0.2", "10.2.0.1", 6, static_cast<uint16_t>(10000 + i));
    ASSERT_EQ(d.ingress.outcome, classifier::Outcome::kAllowed) << i;
    EXPECT_EQ(d.ingress.rule_bit, static_cast<uint32_t>(i));
  }
  EXPECT_FALSE(c.Allowed("10.2.0.2", "10.2.0.1", 15000));
  auto all =
      c.classifier().MatchingRules(c.tables().endpoints(0).ingress_table(), *IpAddr::Parse("10.2.0.2"), 6, 14999);
  EXPECT_EQ(all, (std::vector<uint32_t>{4999, 5000}));
}

TEST(Tables, CompileIsDeterministicAndCarriesTheGeneration) {
  std::string yaml =
      PodYaml("a", "p", "app: p", "10.2.0.1") + PodYaml("b", "q", "app: q", "10.2.0.2") +
      PolicyYaml("a", "x",
                 "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {}}]\n    ports: [{port: 80}]");
  k8s::LoadResult r;
  k8s::LoadManifestText(yaml, "t.yaml", &r);
  ASSERT_TRUE(r.errors.empty());
  auto t1 = compiler::Compile(r.state, {.generation = 7});
  auto t2 = compiler::Compile(r.state, {.generation = 7});
  EXPECT_EQ(t1.generation(), 7u);
  std::string s1, s2;
  ASSERT_TRUE(t1.SerializeToString(&s1));
  ASSERT_TRUE(t2.SerializeToString(&s2));
  EXPECT_EQ(s1, s2);
  EXPECT_EQ(t1.stats().endpoints(), 2u);
  EXPECT_EQ(t1.stats().policies(), 1u);
  EXPECT_GT(t1.stats().words(), 0u);
}

TEST(Tables, ClassifierRejectsInconsistentTables) {
  Cluster c(PodYaml("a", "p", "app: p", "10.2.0.1") + PolicyYaml("a", "x", "  podSelector: {}\n  ingress: [{}]"));
  auto broken = std::make_shared<v1::RuleTables>(c.tables());
  broken->mutable_tables(static_cast<int>(c.tables().endpoints(0).ingress_table()))->set_cidr_rows(0, 1u << 30);
  auto r = classifier::Classifier::Load(broken);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cidr_rows[0] malformed"), std::string::npos) << r.status().message();
  auto broken2 = std::make_shared<v1::RuleTables>(c.tables());
  broken2->mutable_endpoints(0)->set_egress_table(99);
  EXPECT_FALSE(classifier::Classifier::Load(broken2).ok());
}

}  // namespace
}  // namespace netfence::testing
