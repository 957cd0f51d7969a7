// SPDX-License-Identifier: Apache-2.0
// KubeSource and ListCluster with the cluster-scoped kinds: Nodes, ClusterNetworkPolicies
// (v1alpha2), AdminNetworkPolicies and BaselineAdminNetworkPolicies (v1alpha1), listed and
// watched like the rest; a CRD that is not installed (404) counts as none of its objects
// and is looked for again.
#include <gtest/gtest.h>

#include "controlplane/kube/kube_source.h"
#include "controlplane/kube/list_cluster.h"
#include "tests/controlplane/kube/kube_test_util.h"

namespace netfence::kube {
namespace {

using nlohmann::json;
using testing_util::KubeFixture;
using testing_util::Namespace;
using testing_util::RunUntil;

json Node(const std::string& name, const std::string& ip, const json& labels = json::object()) {
  return {{"kind", "Node"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", ip}}}}}}};
}

json Cnp(const std::string& name, int priority, const std::string& action = "Deny") {
  json j = json::parse(R"({"kind": "ClusterNetworkPolicy", "apiVersion": "policy.networking.k8s.io/v1alpha2",
    "spec": {"tier": "Admin", "subject": {"namespaces": {}},
             "egress": [{"action": "Deny", "to": [{"networks": ["169.254.169.254/32"]}]}]}})");
  j["metadata"]["name"] = name;
  j["spec"]["priority"] = priority;
  j["spec"]["egress"][0]["action"] = action;
  return j;
}

json Anp(const std::string& name) {
  json j = json::parse(R"({"kind": "AdminNetworkPolicy", "apiVersion": "policy.networking.k8s.io/v1alpha1",
    "spec": {"priority": 1, "subject": {"namespaces": {}},
             "ingress": [{"action": "Allow", "from": [{"namespaces": {}}]}]}})");
  j["metadata"]["name"] = name;
  return j;
}

json Banp() {
  json b = Anp("default");
  b["kind"] = "BaselineAdminNetworkPolicy";
  b["spec"].erase("priority");
  return b;
}

class ClusterPolicySourceTest : public KubeFixture {};

TEST_F(ClusterPolicySourceTest, ListsAndWatchesTheClusterScopedKinds) {
  server_->Apply(Namespace("shop"));
  server_->Apply(Node("n1", "10.1.0.1", {{"zone", "a"}}));
  server_->Apply(Cnp("imds", 5));
  server_->Apply(Anp("imds"));  // the same name as the CNP: another object
  server_->Apply(Banp());
  StartSource();
  ASSERT_TRUE(Converge());
  EXPECT_EQ(observer_.store.nodes().at("n1").internal_ips, std::vector<std::string>{"10.1.0.1"});
  EXPECT_EQ(observer_.store.cluster_policies().size(), 3u);
  EXPECT_EQ(observer_.store.cluster_policies().at("ClusterNetworkPolicy/imds").priority, 5);
  EXPECT_EQ(observer_.store.cluster_policies().at("AdminNetworkPolicy/imds").tier, k8s::Tier::kAdmin);
  EXPECT_EQ(observer_.store.cluster_policies().at("BaselineAdminNetworkPolicy/default").tier, k8s::Tier::kBaseline);

  // Changes arrive through the watches.
  server_->Apply(Cnp("imds", 7, "Pass"));
  server_->Apply(Node("n1", "10.1.0.9", {{"zone", "b"}}));
  server_->Delete("AdminNetworkPolicy", "", "imds");
  ASSERT_TRUE(Converge());
  EXPECT_EQ(observer_.store.cluster_policies().at("ClusterNetworkPolicy/imds").priority, 7);
  EXPECT_EQ(observer_.store.cluster_policies().at("ClusterNetworkPolicy/imds").egress[0].action,
            k8s::RuleAction::kPass);
  EXPECT_EQ(observer_.store.nodes().at("n1").internal_ips, std::vector<std::string>{"10.1.0.9"});
  EXPECT_FALSE(observer_.store.cluster_policies().contains("AdminNetworkPolicy/imds"));
}

TEST_F(ClusterPolicySourceTest, AnInvalidClusterPolicyIsRejectedAndItsLastGoodVersionStays) {
  server_->Apply(Cnp("imds", 5));
  StartSource();
  ASSERT_TRUE(Converge());
  json bad = Cnp("imds", 5000);
  server_->Apply(bad);
  ASSERT_TRUE(RunUntil(io_, [&] { return !observer_.rejects.empty(); }));
  EXPECT_EQ(
      observer_.rejects[0].str(),
      "watch clusternetworkpolicies: ClusterNetworkPolicy \"imds\" is invalid: spec.priority: Invalid value: 5000: "
      "spec.priority in body should be less than or equal to 1000");
  EXPECT_EQ(observer_.store.cluster_policies().at("ClusterNetworkPolicy/imds").priority, 5);
}

// A cluster without the CRDs syncs (none of those objects); a CRD installed later is found.
TEST_F(ClusterPolicySourceTest, CrdsNotInstalledCountAsEmptyAndAreLookedForAgain) {
  server_->SetUnserved({"clusternetworkpolicies", "adminnetworkpolicies", "baselineadminnetworkpolicies"});
  server_->Apply(Namespace("shop"));
  KubeSourceOptions options = testing_util::FastOptions();
  options.reflector.absent_recheck = std::chrono::milliseconds(100);
  StartSource(options);
  EXPECT_EQ(observer_.synced, 1);
  EXPECT_EQ(observer_.store.namespaces().size(), 1u);
  EXPECT_TRUE(observer_.store.cluster_policies().empty());

  server_->Apply(Cnp("imds", 5));  // the CRD is installed and an object made
  server_->SetUnserved({});
  ASSERT_TRUE(RunUntil(io_, [&] { return observer_.store.cluster_policies().size() == 1; }));

  // And removed again: its objects go away.
  server_->SetUnserved({"clusternetworkpolicies"});
  server_->DropConnections();
  ASSERT_TRUE(RunUntil(io_, [&] { return observer_.store.cluster_policies().empty(); }));
}

TEST_F(ClusterPolicySourceTest, ListClusterReadsTheNewKindsAndToleratesMissingCrds) {
  server_->Apply(Namespace("shop"));
  server_->Apply(Node("n1", "10.1.0.1"));
  server_->Apply(Cnp("imds", 5));
  auto listed = ListCluster(config_, std::chrono::seconds(10));
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(listed->state.nodes.size(), 1u);
  EXPECT_EQ(listed->state.cluster_policies.size(), 1u);
  server_->SetUnserved({"clusternetworkpolicies", "adminnetworkpolicies", "baselineadminnetworkpolicies"});
  auto without = ListCluster(config_, std::chrono::seconds(10));
  ASSERT_TRUE(without.ok()) << without.status().message();
  EXPECT_TRUE(without->state.cluster_policies.empty());
  EXPECT_EQ(without->state.nodes.size(), 1u);
}

}  // namespace
}  // namespace netfence::kube
