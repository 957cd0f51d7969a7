// SPDX-License-Identifier: Apache-2.0
// What a change flips (controlplane/reach/diff.h): exactly the pairs and ports whose verdict
// changes, with what decided each side; deletes; identical objects change nothing.
#include "controlplane/reach/diff.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/controlplane/reach/reach_fixture.h"

namespace netfence::reach {
namespace {

using testing::After;
using testing::Base;
using testing::CompileState;
using testing::kWebIn;
using testing::Load;
using netfence::testing::PolicyYaml;

struct Compared {
  std::vector<Flip> flips;
  nlohmann::json json;
};

Compared Compare(const k8s::ClusterState& before, const Change& change) {
  const k8s::ClusterState after = After(before, change);
  const testing::Compiled b = CompileState(before), a = CompileState(after);
  Compared c;
  c.flips = Flips(before, *b.classifier, after, *a.classifier, PortsOfInterest(before, after));
  c.json = FlipsJson(c.flips, *b.tables, *a.tables);
  return c;
}

TEST(Diff, ANewPolicyCutsExactlyWhatItDoesNotAllow) {
  const auto before = Load(Base());
  Change change;
  change.objects = Load(kWebIn);
  const Compared c = Compare(before, change);
  // Ports of interest: TCP/80 (web's containerPort and the policy's port). a/client keeps
  // reaching a/web; b/other is cut; nothing else is isolated.
  ASSERT_EQ(c.flips.size(), 1u) << c.json.dump(2);
  const auto& f = c.json["flips"][0];
  EXPECT_EQ(f["from"], "b/other");
  EXPECT_EQ(f["to"], "a/web");
  EXPECT_EQ(f["protocol"], "TCP");
  EXPECT_EQ(f["port"], 80);
  EXPECT_EQ(f["before"], true);
  EXPECT_EQ(f["after"], false);
  EXPECT_EQ(f["decided_by"]["before"]["ingress"]["outcome"], "not-isolated");
  EXPECT_EQ(f["decided_by"]["after"]["ingress"]["outcome"], "denied");
  EXPECT_EQ(f["decided_by"]["after"]["ingress"]["isolated_by"], nlohmann::json::array({"a/web-in"}));
  EXPECT_EQ(f["decided_by"]["after"]["egress"]["outcome"], "not-isolated");
}

TEST(Diff, DeletingThePolicyFlipsBackAndNamesTheRuleThatAllowedBefore) {
  const auto before = Load(Base() + kWebIn);
  Change change;
  change.deletes = {"NetworkPolicy/a/web-in"};
  const Compared c = Compare(before, change);
  ASSERT_EQ(c.flips.size(), 1u) << c.json.dump(2);
  EXPECT_EQ(c.flips[0].from, "b/other");
  EXPECT_FALSE(c.flips[0].before.allowed);
  EXPECT_TRUE(c.flips[0].after.allowed);
  // A denied port stays denied elsewhere: an allowed pair that does not flip is not listed.
  const Change again{Load(kWebIn), {}};
  EXPECT_TRUE(Compare(before, again).flips.empty()) << "an identical object changed something";
}

TEST(Diff, AWiderPortChangeFlipsEveryPortItNames) {
  const auto before = Load(Base() + kWebIn);
  Change change;
  change.objects = Load(PolicyYaml("a", "web-in",
                                   "  podSelector: {matchLabels: {app: web}}\n  ingress:\n"
                                   "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                                   "    ports: [{protocol: TCP, port: 8080}]"));
  const Compared c = Compare(before, change);
  // TCP/80: a/client is cut. TCP/8080 (now named): a/client gains it; b/other was and stays denied.
  ASSERT_EQ(c.flips.size(), 2u) << c.json.dump(2);
  EXPECT_EQ(c.flips[0].port.port, 80);
  EXPECT_EQ(c.flips[0].from, "a/client");
  EXPECT_FALSE(c.flips[0].after.allowed);
  EXPECT_EQ(c.flips[1].port.port, 8080);
  EXPECT_TRUE(c.flips[1].after.allowed);
  EXPECT_EQ(c.json["flips"][1]["decided_by"]["after"]["ingress"]["policy"], "a/web-in");
  EXPECT_EQ(c.json["flips"][1]["decided_by"]["after"]["ingress"]["rule"], 0);
}

TEST(Diff, AClusterPolicyIsNamedByKind) {
  const auto before = Load(Base());
  Change change;
  change.objects = Load(
      "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: no-b-into-a}\n"
      "spec:\n  tier: Admin\n  priority: 10\n  subject: {namespaces: {matchLabels: {team: a}}}\n  ingress:\n"
      "  - name: from-b\n    action: Deny\n    from: [{namespaces: {matchLabels: {team: b}}}]\n");
  const Compared c = Compare(before, change);
  // b/other -> a/web and b/other -> a/client on TCP/80.
  ASSERT_EQ(c.flips.size(), 2u) << c.json.dump(2);
  for (const auto& f : c.json["flips"]) {
    EXPECT_EQ(f["from"], "b/other");
    EXPECT_EQ(f["decided_by"]["after"]["ingress"]["policy"], "ClusterNetworkPolicy/no-b-into-a");
    EXPECT_EQ(f["decided_by"]["after"]["ingress"]["rule_name"], "from-b");
  }
}

TEST(Diff, DeletesNameWhatIsWrong) {
  k8s::ClusterState s = Load(Base());
  const k8s::ClusterState kept = s;
  Status missing = ApplyChange({{}, {"NetworkPolicy/a/nope"}}, &s);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("NetworkPolicy/a/nope: no such object"), std::string::npos) << missing.message();
  Status kind = ApplyChange({{}, {"Deployment/a/web"}}, &s);
  EXPECT_FALSE(kind.ok());
  EXPECT_NE(kind.message().find("not a kind netfence reads"), std::string::npos) << kind.message();
  EXPECT_EQ(s.pods.size(), kept.pods.size());
  ASSERT_TRUE(ApplyChange({{}, {"Pod/b/other", "namespace/b"}}, &s).ok());
  EXPECT_EQ(s.pods.size(), 2u);
  EXPECT_EQ(s.namespaces.size(), 1u);
}

}  // namespace
}  // namespace netfence::reach
