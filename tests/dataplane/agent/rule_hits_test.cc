// SPDX-License-Identifier: Apache-2.0
// The agent's RuleHitBook over a fast path's counters (FakeFastPath: the counts are given):
// keys named through the tables made live, keys of no table it saw counted as unnamed, a
// rule a later generation dropped still named, CLOCK_MONOTONIC times turned into wall-clock
// ones, and --unused answered from the live tables' rules.
#include "dataplane/agent/rule_hits.h"

#include <gtest/gtest.h>
#include <time.h>

#include "tests/testing/fake_fast_path.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::agent {
namespace {

std::string Yaml(int api_ingress_rules) {
  std::string rules;
  for (int i = 0; i < api_ingress_rules; ++i)
    rules += std::string(i ? ", " : "") + "{ports: [{port: " + std::to_string(80 + i) + "}]}";
  return testing::PodYaml("shop", "api", "app: api", "10.0.0.1") +
         testing::PolicyYaml("shop", "api-in", "  podSelector: {matchLabels: {app: api}}\n  ingress: [" + rules + "]");
}

uint64_t Key(uint32_t rule) { return tables::RuleKey("NetworkPolicy", "shop", "api-in", v1::INGRESS, rule); }

TEST(RuleHitBook, NamesCountsThroughTheTablesItSawAndFindsUnusedRules) {
  testing::FakeFastPath fp;
  RuleHitBook book(fp, "node-a");
  testing::Cluster three(Yaml(3)), one(Yaml(1));
  book.OnLive(three.tables());
  book.OnLive(one.tables());  // rules 1 and 2 are gone; their counts keep their names
  timespec mono{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  const uint64_t mono_ns = static_cast<uint64_t>(mono.tv_sec) * 1000000000ull + static_cast<uint64_t>(mono.tv_nsec);
  fp.rule_hits = {{Key(0), 5, 0, mono_ns}, {Key(2), 1, 0, mono_ns}, {12345, 9, 9, mono_ns}};

  auto report = book.Report();
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->node(), "node-a");
  EXPECT_EQ(report->unnamed(), 1u);
  ASSERT_EQ(report->rules_size(), 2);
  for (const auto& r : report->rules()) {
    EXPECT_EQ(r.kind(), "NetworkPolicy");
    EXPECT_EQ(r.namespace_(), "shop");
    EXPECT_EQ(r.name(), "api-in");
    EXPECT_EQ(r.direction(), v1::INGRESS);
    EXPECT_EQ(r.allowed(), r.rule() == 0 ? 5u : 1u);
    // Wall-clock: within a minute of the report's own time.
    EXPECT_LT(std::abs(r.last_unix_nanos() - report->unix_nanos()), int64_t{60} * 1000000000);
  }

  v1::RuleHitsRequest unused;
  unused.set_unused(true);
  auto idle = book.Query(unused);
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle->rules_size(), 0) << "the live tables' only rule has hits; rule 2 is not live";

  fp.rule_hits = {{Key(2), 1, 0, mono_ns}};
  idle = book.Query(unused);
  ASSERT_TRUE(idle.ok());
  ASSERT_EQ(idle->rules_size(), 1);
  EXPECT_EQ(idle->rules(0).rule(), 0u);
  ASSERT_EQ(idle->nodes_size(), 1);
  EXPECT_EQ(idle->nodes(0), "node-a");
}

}  // namespace
}  // namespace netfence::agent
