// SPDX-License-Identifier: Apache-2.0
// netfencectl on the live cluster: the same objects served by a (fake) Kubernetes API server
// over HTTPS and written as a manifest directory give byte-identical `matrix` output for
// every protocol, and the same `explain`; an API server that cannot be reached, or refuses
// the credentials, makes the command fail with the reason named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "controlplane/k8s/manifests.h"
#include "tests/e2e/process.h"
#include "tests/testing/fake_apiserver.h"
#include "tests/testing/test_certs.h"

namespace netfence {
namespace {

namespace fs = std::filesystem;
const fs::path kConformance = fs::path(NETFENCE_SOURCE_DIR) / "tests/conformance";

e2e::ProcessResult Ctl(std::vector<std::string> args, const std::string& home = "/nonexistent") {
  args.insert(args.begin(), NETFENCECTL);
  auto r = e2e::RunProcess(args, {{"HOME", home}}, "");
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : e2e::ProcessResult{};
}

// Scenarios: NetworkPolicies only; and Nodes, a host-network pod, ClusterNetworkPolicies.
class LiveClusterTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    const fs::path scenario = kConformance / GetParam();
    auto server = testing::StartTokenApiServer(dir_.path(), "admin-token", "admin", dir_.file("kubeconfig"));
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_api_ = std::move(server).value();
    api_ = server_api_.api.get();
    // Every object of the scenario's files, as the API server would hold them.
    for (const auto& entry : fs::directory_iterator(scenario)) {
      if (entry.path().filename() == "expected.yaml") continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      std::vector<nlohmann::json> docs;
      std::string error;
      ASSERT_TRUE(k8s::ParseYamlDocuments(text.str(), &docs, &error)) << error;
      for (const auto& d : docs) Apply(d);
    }
    manifests_ = dir_.file("manifests");
    fs::create_directories(manifests_);
    for (const auto& entry : fs::directory_iterator(scenario)) {
      if (entry.path().filename() != "expected.yaml")
        fs::copy_file(entry.path(), manifests_ + "/" + entry.path().filename().string());
    }
  }

  // One object, or every item of a List.
  void Apply(const nlohmann::json& d) {
    if (!d.is_object() || !d.contains("kind")) return;
    if (d["kind"] == "List") {
      for (const auto& item : d["items"]) Apply(item);
      return;
    }
    ASSERT_NE(api_->Apply(d), "") << d.dump();
    ++objects_;
  }

  testing::TempDir dir_;
  testing::TokenApiServer server_api_;
  testing::FakeApiServer* api_ = nullptr;
  std::string manifests_;
  int objects_ = 0;
};

TEST_P(LiveClusterTest, MatrixAndExplainAreTheSameAsForTheManifests) {
  ASSERT_GT(objects_, 10);
  for (const char* proto : {"TCP", "UDP", "SCTP"}) {
    auto live = Ctl({"matrix", "--kubeconfig", dir_.file("kubeconfig"), "--protocol", proto, "--port", "80"});
    auto files = Ctl({"matrix", "--manifests", manifests_, "--protocol", proto, "--port", "80"});
    ASSERT_EQ(live.exit_code, 0) << live.err;
    ASSERT_EQ(files.exit_code, 0) << files.err;
    EXPECT_EQ(live.out, files.out) << proto;
    EXPECT_NE(live.out.find("\"pods\""), std::string::npos);
  }
  for (const char* from : {"y/a", "z/b", "kube-system/agent"}) {
    auto live =
        Ctl({"explain", "--kubeconfig", dir_.file("kubeconfig"), "--from", from, "--to", "x/a", "--port", "80"});
    auto files = Ctl({"explain", "--manifests", manifests_, "--from", from, "--to", "x/a", "--port", "80"});
    EXPECT_EQ(live.exit_code, files.exit_code) << live.err;
    EXPECT_EQ(live.out, files.out);
  }
  // $KUBECONFIG is honoured the same way.
  auto r = e2e::RunProcess({NETFENCECTL, "matrix", "--protocol", "TCP", "--port", "80"},
                           {{"HOME", "/nonexistent"}, {"KUBECONFIG", dir_.file("kubeconfig")}}, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
}

TEST_P(LiveClusterTest, UnreachableOrRefusingApiServersAreNamed) {
  testing::KubeconfigCredentials bad;
  bad.token = "wrong-token";
  ASSERT_TRUE(api_->WriteKubeconfig(dir_.file("bad-kubeconfig"), bad).ok());
  auto refused = Ctl({"matrix", "--kubeconfig", dir_.file("bad-kubeconfig"), "--protocol", "TCP", "--port", "80"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("401"), std::string::npos) << refused.err;
  auto none = Ctl({"matrix", "--protocol", "TCP", "--port", "80"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("kubeconfig"), std::string::npos) << none.err;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, LiveClusterTest,
                         ::testing::Values("scenarios/06-peer-namespace-and-pod",
                                           "tiers/11-nodes-peers-and-host-network-pods"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return std::string(p.param).starts_with("tiers") ? "ClusterPolicies" : "NetworkPolicies";
                         });

// explain and matrix on ClusterNetworkPolicies: each tier's decision, host-network pods.
TEST(CtlTiers, ExplainShowsEachTiersDecision) {
  const std::string dir = (kConformance / "tiers/02-admin-pass-into-networkpolicy").string();
  auto passed = Ctl({"explain", "--manifests", dir, "--from", "y/a", "--to", "x/b", "--port", "80", "-o", "json"});
  ASSERT_EQ(passed.exit_code, 0) << passed.err;
  const auto j = nlohmann::json::parse(passed.out);
  EXPECT_EQ(j["verdict"], "denied");
  const auto& tiers = j["ingress"]["tiers"];
  ASSERT_EQ(tiers.size(), 3u) << passed.out;
  EXPECT_EQ(tiers[0]["tier"], "Admin");
  EXPECT_EQ(tiers[0]["decision"], "Pass");
  EXPECT_EQ(tiers[0]["rule"]["name"], "pass-y");
  EXPECT_EQ(tiers[0]["rule"]["rule_name"], "y-to-networkpolicy");
  EXPECT_EQ(tiers[1]["decision"], "default-deny");
  EXPECT_EQ(tiers[2]["decision"], "not-reached");
  auto accepted = Ctl({"explain", "--manifests", dir, "--from", "z/a", "--to", "x/b", "--port", "80"});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_NE(accepted.out.find("Admin tier:             Accept by ClusterNetworkPolicy/accept-all ingress rule #0 "
                              "\"everyone\" (priority 2)"),
            std::string::npos)
      << accepted.out;
  EXPECT_NE(accepted.out.find("verdict: ALLOWED"), std::string::npos) << accepted.out;
}

TEST(CtlTiers, MatrixHasHostNetworkPodsAtTheirNodesAddress) {
  const std::string dir = (kConformance / "tiers/11-nodes-peers-and-host-network-pods").string();
  auto m = Ctl({"matrix", "--manifests", dir, "--protocol", "TCP", "--port", "80"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const auto j = nlohmann::json::parse(m.out);
  EXPECT_EQ(j["pods"][0], "kube-system/agent");
  EXPECT_EQ(j["allowed"]["x/a"]["kube-system/agent"], false);
  EXPECT_EQ(j["allowed"]["z/a"]["kube-system/agent"], true);
  EXPECT_EQ(j["allowed"]["kube-system/agent"]["x/a"], true);
  // A cluster policy with an invalid field fails the command, naming it.
  testing::TempDir bad;
  std::ofstream(bad.file("cnp.yaml")) << "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
                                         "metadata: {name: typo}\nspec: {tier: Admin, priority: 1001, subject: "
                                         "{namespaces: {}}}\n";
  auto invalid = Ctl({"matrix", "--manifests", bad.path(), "--protocol", "TCP", "--port", "80"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_NE(invalid.err.find("ClusterNetworkPolicy \"typo\" is invalid: spec.priority: Invalid value: 1001"),
            std::string::npos)
      << invalid.err;
}

}  // namespace
}  // namespace netfence
