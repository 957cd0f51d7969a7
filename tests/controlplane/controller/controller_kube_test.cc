// SPDX-License-Identifier: Apache-2.0
// The controller fed by the Kubernetes API: a fake API server (HTTPS, the real list/watch
// protocol) -> KubeSource -> ControllerCore -> gRPC -> simulated agents. Changes made through
// the API reach the agents as deltas; a 410 relist or a dropped watch changes nothing the
// agents hold; while the API server is unreachable the agents keep their tables.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/classifier/classifier.h"
#include "controlplane/controller/controller_core.h"
#include "controlplane/controller/distribution_service.h"
#include "controlplane/kube/kube_config.h"
#include "controlplane/kube/kube_source.h"
#include "tests/testing/fake_apiserver.h"
#include "tests/testing/sim_agent.h"
#include "tests/testing/test_certs.h"

namespace netfence::controller {
namespace {

using nlohmann::json;

json PodJson(const std::string& name, const std::string& app, const std::string& node, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "shop"}, {"labels", {{"app", app}}}}},
          {"spec", {{"nodeName", node}, {"containers", json::array({{{"name", "c"}}})}}},
          {"status", {{"phase", "Running"}, {"podIP", ip}}}};
}

json DenyJson() {
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", {{"name", "deny"}, {"namespace", "shop"}}},
          {"spec", {{"podSelector", json::object()}}}};
}

class ControllerKubeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server =
        testing::StartTokenApiServer(dir_.path(), "controller-token",
                                     "system:serviceaccount:kube-system:netfence-controller", dir_.file("kubeconfig"));
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_api_ = std::move(server).value();
    api_ = server_api_.api.get();
    api_->Apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "shop"}}}});
    api_->Apply(PodJson("web-1", "web", "n1", "10.2.0.1"));
    api_->Apply(PodJson("api-1", "api", "n2", "10.2.0.2"));
    api_->Apply(DenyJson());

    core_ = std::make_unique<ControllerCore>(io_, CoreOptions{});
    service_ = std::make_unique<DistributionService>(io_, *core_);
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();

    auto config = kube::ResolveKubeConfig(dir_.file("kubeconfig"));
    ASSERT_TRUE(config.ok()) << config.status().message();
    kube::KubeSourceOptions ko;
    ko.reflector.backoff.initial = std::chrono::milliseconds(20);
    ko.reflector.backoff.cap = std::chrono::milliseconds(200);
    source_ = std::make_unique<kube::KubeSource>(io_, *config, ko);
    ASSERT_TRUE(source_->Start(core_.get()).ok());
    for (const char* n : {"n1", "n2"}) {
      agent::ControllerClientOptions co;
      co.target = "127.0.0.1:" + std::to_string(port_);
      co.node = n;
      co.backoff_min = std::chrono::milliseconds(20);
      agents_.push_back(std::make_unique<testing::SimAgent>(io_, co));
      agents_.back()->Start();
    }
  }
  void TearDown() override {
    agents_.clear();
    if (source_) source_->Stop();
    source_.reset();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    io_.run_for(std::chrono::milliseconds(20));
  }
  bool RunUntil(const std::function<bool()>& done) { return testing::RunUntil(io_, done); }
  bool Converged() {
    for (const auto& a : agents_) {
      if (a->generation() != core_->generation() || !core_->synced()) return false;
      if (!(a->set() == testing::ExpectedNodeView(core_->compiler().set(), a->node()))) return false;
    }
    return true;
  }

  testing::TempDir dir_;
  testing::TokenApiServer server_api_;
  testing::FakeApiServer* api_ = nullptr;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<ControllerCore> core_;
  std::unique_ptr<DistributionService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<kube::KubeSource> source_;
  std::vector<std::unique_ptr<testing::SimAgent>> agents_;
};

TEST_F(ControllerKubeTest, ApiChangesReachTheAgentsAndRelistsChangeNothing) {
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  EXPECT_EQ(agents_[0]->set().endpoints.size(), 1u);
  EXPECT_TRUE(agents_[0]->set().ipcache.contains(*IpAddr::Parse("10.2.0.2")));

  // A new replica on n1, through the API: n1 gets the endpoint, n2 the address.
  api_->Apply(PodJson("web-2", "web", "n1", "10.2.0.3"));
  ASSERT_TRUE(RunUntil([&] { return Converged() && agents_[0]->set().endpoints.size() == 2; }));
  EXPECT_TRUE(agents_[1]->set().ipcache.contains(*IpAddr::Parse("10.2.0.3")));
  EXPECT_FALSE(agents_[1]->last_update().snapshot());

  // History expires and the watch is told so: the relist brings the same objects, so no
  // generation is made and the agents hold what they held.
  const uint64_t before = core_->generation();
  const uint64_t updates = agents_[0]->updates();
  api_->ExpireHistory(/*notify_open_watches=*/true);
  api_->DropConnections();
  ASSERT_TRUE(RunUntil([&] {
    return source_->Metrics().resources.size() == kube::kResourceCount && [&] {
      for (const auto& r : source_->Metrics().resources) {
        if (!r.connected) return false;
      }
      return true;
    }();
  }));
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(core_->generation(), before);
  EXPECT_EQ(agents_[0]->updates(), updates);

  // A deletion made while the watches were broken still arrives (as a relist's delete).
  api_->DropConnections();
  api_->Delete("Pod", "shop", "web-1");
  ASSERT_TRUE(RunUntil([&] { return Converged() && agents_[0]->set().endpoints.size() == 1; }));
  EXPECT_FALSE(agents_[1]->set().ipcache.contains(*IpAddr::Parse("10.2.0.1")));
}

// A ClusterNetworkPolicy made through the API (cluster-scoped, v1alpha2): an Admin Deny over
// the namespace's NetworkPolicy reaches the agents, whose tables then deny web-1 -> api-1 by
// that rule although a NetworkPolicy allows it; deleting it through the API allows again.
TEST_F(ControllerKubeTest, AClusterNetworkPolicyFromTheApiReachesTheAgents) {
  api_->Apply({{"apiVersion", "networking.k8s.io/v1"},
               {"kind", "NetworkPolicy"},
               {"metadata", {{"name", "allow-web"}, {"namespace", "shop"}}},
               {"spec",
                {{"podSelector", {{"matchLabels", {{"app", "api"}}}}},
                 {"ingress",
                  json::array({{{"from", json::array({{{"podSelector", {{"matchLabels", {{"app", "web"}}}}}}})}}})}}}});
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  auto verdict = [&](const testing::SimAgent& a) {
    auto tables = std::make_shared<const v1::RuleTables>(tables::Assemble(a.set(), a.generation()));
    auto c = classifier::Classifier::Load(tables);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? (*c)->Classify({*IpAddr::Parse("10.2.0.1"), *IpAddr::Parse("10.2.0.2"), 6, 8080}).ingress
                  : classifier::DirectionDecision{};
  };
  EXPECT_EQ(verdict(*agents_[1]).outcome, classifier::Outcome::kAllowed);  // api-1 is on n2

  api_->Apply(
      {{"apiVersion", "policy.networking.k8s.io/v1alpha2"},
       {"kind", "ClusterNetworkPolicy"},
       {"metadata", {{"name", "guard-api"}}},
       {"spec",
        {{"tier", "Admin"},
         {"priority", 5},
         {"subject",
          {{"pods", {{"namespaceSelector", json::object()}, {"podSelector", {{"matchLabels", {{"app", "api"}}}}}}}}},
         {"ingress",
          json::array({{{"name", "no-web"},
                        {"action", "Deny"},
                        {"from", json::array({{{"pods",
                                                {{"namespaceSelector", json::object()},
                                                 {"podSelector", {{"matchLabels", {{"app", "web"}}}}}}}}})}}})}}}});
  ASSERT_TRUE(
      RunUntil([&] { return Converged() && verdict(*agents_[1]).outcome == classifier::Outcome::kDeniedByRule; }));
  const classifier::DirectionDecision denied = verdict(*agents_[1]);
  const v1::RuleTables held = tables::Assemble(agents_[1]->set(), agents_[1]->generation());
  bool named = false;
  for (const v1::PolicyRef& p : held.policies()) {
    named |= p.kind() == "ClusterNetworkPolicy" && p.name() == "guard-api" && p.tier() == v1::TIER_ADMIN;
  }
  EXPECT_TRUE(named) << "the agent's tables do not name ClusterNetworkPolicy guard-api";
  EXPECT_EQ(denied.outcome, classifier::Outcome::kDeniedByRule);

  api_->Delete("ClusterNetworkPolicy", "", "guard-api");
  ASSERT_TRUE(RunUntil([&] { return Converged() && verdict(*agents_[1]).outcome == classifier::Outcome::kAllowed; }));
}

TEST_F(ControllerKubeTest, AgentsKeepTheirTablesWhileTheApiServerIsAway) {
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  const tables::TableSet held = agents_[1]->set();
  api_->FailRequests("/api/v1/pods", 1000, 503);
  api_->DropConnections();
  io_.run_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(agents_[1]->set() == held);
  EXPECT_TRUE(core_->synced()) << "a broken watch does not make the state incomplete";
}

}  // namespace
}  // namespace netfence::controller
