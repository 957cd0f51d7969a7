// SPDX-License-Identifier: Apache-2.0
// Sums of rule hit counters: counts of one rule from several nodes add up (nodes counts those
// with a connection, last is the latest), declared rules without counts are listed with 0 and
// are the --unused answer, counted rules of deleted policies are listed but never unused, the
// --policy filter, and its parsing.
#include "common/hits/hit_sums.h"

#include <gtest/gtest.h>

namespace netfence::hits {
namespace {

v1::RuleHitCount Count(const std::string& ns, const std::string& name, uint32_t rule, uint64_t allowed, uint64_t denied,
                       int64_t last) {
  v1::RuleHitCount c;
  c.set_kind(ns.empty() ? "ClusterNetworkPolicy" : "NetworkPolicy");
  c.set_namespace_(ns);
  c.set_name(name);
  c.set_direction(v1::EGRESS);
  c.set_rule(rule);
  c.set_allowed(allowed);
  c.set_denied(denied);
  c.set_last_unix_nanos(last);
  return c;
}

TEST(HitSums, AddsNodesDeclaresRulesAndFindsTheUnused) {
  HitSums s;
  s.Add(Count("shop", "out", 0, 2, 0, 10));
  s.Add(Count("shop", "out", 0, 3, 0, 30));
  s.Add(Count("shop", "out", 1, 0, 0, 0));  // a node that reported the rule without connections
  s.Add(Count("", "deny-all", 0, 0, 7, 20));
  s.Add(Count("old", "deleted", 0, 1, 0, 5));
  s.Declare("NetworkPolicy", "shop", "out", v1::EGRESS, 0, "");
  s.Declare("NetworkPolicy", "shop", "out", v1::EGRESS, 1, "");
  s.Declare("NetworkPolicy", "shop", "out", v1::EGRESS, 2, "");
  s.Declare("ClusterNetworkPolicy", "", "deny-all", v1::EGRESS, 0, "block");

  const v1::RuleHitsReply all = s.Reply({});
  ASSERT_EQ(all.rules_size(), 5);
  // Sorted by namespace, name: the cluster policy ("" namespace) first.
  EXPECT_EQ(all.rules(0).name(), "deny-all");
  EXPECT_EQ(all.rules(0).denied(), 7u);
  EXPECT_EQ(all.rules(0).rule_name(), "block");
  EXPECT_EQ(all.rules(1).name(), "deleted");
  EXPECT_EQ(all.rules(2).allowed(), 5u);
  EXPECT_EQ(all.rules(2).nodes(), 2u);
  EXPECT_EQ(all.rules(2).last_unix_nanos(), 30);
  EXPECT_EQ(all.rules(3).nodes(), 0u);

  v1::RuleHitsRequest unused;
  unused.set_unused(true);
  const v1::RuleHitsReply idle = s.Reply(unused);
  ASSERT_EQ(idle.rules_size(), 2);
  EXPECT_EQ(idle.rules(0).rule(), 1u);
  EXPECT_EQ(idle.rules(1).rule(), 2u);

  v1::RuleHitsRequest one;
  ASSERT_TRUE(ParsePolicyFilter("deny-all", &one));
  ASSERT_EQ(s.Reply(one).rules_size(), 1);
  one.set_unused(true);
  EXPECT_EQ(s.Reply(one).rules_size(), 0);
}

TEST(HitSums, PolicyFilterParsing) {
  v1::RuleHitsRequest r;
  ASSERT_TRUE(ParsePolicyFilter("shop/api-in", &r));
  EXPECT_EQ(r.namespace_(), "shop");
  EXPECT_EQ(r.name(), "api-in");
  for (const char* bad : {"", "/x", "x/", "a/b/c"}) {
    v1::RuleHitsRequest b;
    EXPECT_FALSE(ParsePolicyFilter(bad, &b)) << bad;
  }
}

}  // namespace
}  // namespace netfence::hits
