// SPDX-License-Identifier: Apache-2.0
// Rule keys: each (kind, namespace, name, direction, rule) its own key, stable across builds
// (a pinned counter map outlives an agent upgrade: the hash is a contract), never 0; every rule
// bit of compiled tables keyed as its policy and rule index say, and named back by a catalog.
#include "common/tables/rule_keys.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/testing/policy_fixture.h"

namespace netfence::tables {
namespace {

// Computed once from the definition (FNV-1a 64, tests/common/tables/rule_keys_test.cc); a
// change here re-keys every pinned counter on upgrade.
constexpr uint64_t kGoldenKey = 0x8de7021e6a22927cull;

TEST(RuleKeys, EveryFieldCountsAndTheValueIsStable) {
  const uint64_t k = RuleKey("NetworkPolicy", "shop", "api-in", v1::INGRESS, 0);
  // FNV-1a 64 over "NetworkPolicy\0shop\0api-in\0ingress\0" and the rule's four bytes.
  EXPECT_EQ(k, kGoldenKey);
  std::set<uint64_t> keys = {k,
                             RuleKey("ClusterNetworkPolicy", "shop", "api-in", v1::INGRESS, 0),
                             RuleKey("NetworkPolicy", "shop2", "api-in", v1::INGRESS, 0),
                             RuleKey("NetworkPolicy", "shop", "api-in2", v1::INGRESS, 0),
                             RuleKey("NetworkPolicy", "shop", "api-in", v1::EGRESS, 0),
                             RuleKey("NetworkPolicy", "shop", "api-in", v1::INGRESS, 1),
                             RuleKey("NetworkPolicy", "shopa", "pi-in", v1::INGRESS, 0),  // fields do not run together
                             RuleKey("NetworkPolicy", "shop", "api-in", v1::INGRESS, 256)};
  EXPECT_EQ(keys.size(), 8u);
  v1::PolicyRef np;
  np.set_namespace_("shop");
  np.set_name("api-in");
  EXPECT_EQ(RuleKeyOf(np, v1::INGRESS, 0), k) << "a NetworkPolicy's empty kind is NetworkPolicy";
}

TEST(RuleKeys, TablesKeyEveryBitAndTheCatalogNamesThem) {
  const std::string yaml =
      testing::PodYaml("shop", "api", "app: api", "10.0.0.1") +
      testing::PodYaml("shop", "web", "app: web", "10.0.0.2") +
      testing::PolicyYaml("shop", "api-in",
                          "  podSelector: {matchLabels: {app: api}}\n"
                          "  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 80}]},\n"
                          "            {ports: [{port: 9090}]}]\n"
                          "  egress: [{to: [{podSelector: {}}]}]\n"
                          "  policyTypes: [Ingress, Egress]") +
      testing::PolicyYaml("shop", "web-out", "  podSelector: {matchLabels: {app: web}}\n  egress: [{}]");
  testing::Cluster c(yaml);
  const v1::RuleTables& rt = c.tables();
  RuleCatalog catalog;
  catalog.Add(rt);
  std::set<std::string> named;
  for (int t = 0; t < rt.tables_size(); ++t) {
    const auto keys = TableRuleKeys(rt, t);
    ASSERT_EQ(keys.size(), rt.tables(t).rule_count());
    for (size_t b = 0; b < keys.size(); ++b) {
      const v1::PolicyRef& p = rt.policies(static_cast<int>(rt.tables(t).rule_policy(static_cast<int>(b))));
      const uint32_t rule = rt.tables(t).rule_index(static_cast<int>(b));
      EXPECT_EQ(keys[b], RuleKey("NetworkPolicy", p.namespace_(), p.name(), rt.tables(t).direction(), rule));
      const RuleName* n = catalog.Find(keys[b]);
      ASSERT_NE(n, nullptr);
      named.insert(n->ns + "/" + n->name + (n->direction == v1::INGRESS ? " ingress " : " egress ") +
                   std::to_string(n->rule));
    }
  }
  EXPECT_EQ(named, (std::set<std::string>{"shop/api-in ingress 0", "shop/api-in ingress 1", "shop/api-in egress 0",
                                          "shop/web-out egress 0"}));
  EXPECT_EQ(catalog.size(), 4u);
  EXPECT_EQ(catalog.Find(RuleKey("NetworkPolicy", "shop", "api-in", v1::INGRESS, 2)), nullptr);
}

}  // namespace
}  // namespace netfence::tables
