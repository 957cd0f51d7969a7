// SPDX-License-Identifier: Apache-2.0
// Rule hit counters at the controller: agents' reports (real gRPC streams) summed per rule
// across nodes, a later report replacing a node's earlier one, the current policies' rules
// declared so that --unused finds the ones nothing matched, the --policy filter, the RuleHits
// service answering netfencectl's question, and /metrics' per-policy totals bounded.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>

#include "controlplane/controller/controller_core.h"
#include "controlplane/controller/distribution_service.h"
#include "controlplane/controller/metrics.h"
#include "tests/testing/sim_agent.h"

namespace netfence::controller {
namespace {

using source::Event;
using source::Op;

k8s::NetworkPolicy Allow(const std::string& ns, const std::string& name, int rules) {
  k8s::NetworkPolicy np;
  np.meta.ns = ns;
  np.meta.name = name;
  np.pod_selector.match_labels = {{"app", "api"}};
  for (int i = 0; i < rules; ++i) {
    k8s::NetworkPolicyRule rule;
    k8s::NetworkPolicyPort p;
    p.port = k8s::IntOrString{true, 8000 + i, ""};
    rule.ports.push_back(p);
    np.ingress.push_back(rule);
  }
  return np;
}

v1::RuleHitCount Count(const std::string& ns, const std::string& name, uint32_t rule, uint64_t allowed, int64_t last) {
  v1::RuleHitCount c;
  c.set_kind("NetworkPolicy");
  c.set_namespace_(ns);
  c.set_name(name);
  c.set_direction(v1::INGRESS);
  c.set_rule(rule);
  c.set_allowed(allowed);
  c.set_last_unix_nanos(last);
  return c;
}

const v1::RuleHitCount* Find(const v1::RuleHitsReply& r, const std::string& name, uint32_t rule) {
  for (const auto& c : r.rules()) {
    if (c.name() == name && c.rule() == rule) return &c;
  }
  return nullptr;
}

class HitsTest : public ::testing::Test {
 protected:
  HitsTest() : core_(io_, {}), service_(io_, core_), hits_(io_, core_) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&service_);
    b.RegisterService(&hits_);
    server_ = b.BuildAndStart();
    core_.OnEvents({{Op::kUpsert, Allow("shop", "api-in", 2)}, {Op::kUpsert, Allow("shop", "idle", 1)}});
    core_.OnSynced();
  }
  ~HitsTest() override { server_->Shutdown(std::chrono::system_clock::now()); }
  testing::SimAgent& Agent(const std::string& node) {
    agent::ControllerClientOptions o;
    o.target = "127.0.0.1:" + std::to_string(port_);
    o.node = node;
    agents_.push_back(std::make_unique<testing::SimAgent>(io_, o));
    agents_.back()->Start();
    EXPECT_TRUE(testing::RunUntil(io_, [&] { return agents_.back()->connected(); }));
    return *agents_.back();
  }
  void Report(testing::SimAgent& a, std::vector<v1::RuleHitCount> counts, int64_t since) {
    v1::RuleHitReport r;
    r.set_node("claims-to-be-another-node");  // the stream's Hello names the node
    r.set_since_unix_nanos(since);
    for (auto& c : counts) *r.add_rules() = std::move(c);
    a.client().ReportRuleHits(std::move(r));
  }
  v1::RuleHitsReply Ask(const v1::RuleHitsRequest& request) {
    // Through the service, as netfencectl stats --controller asks.
    auto stub = v1::RuleHits::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
    v1::RuleHitsReply reply;
    grpc::Status status;
    std::atomic<bool> done{false};
    std::thread t([&] {
      grpc::ClientContext ctx;
      status = stub->GetRuleHits(&ctx, request, &reply);
      done = true;
    });
    EXPECT_TRUE(testing::RunUntil(io_, [&] { return done.load(); }));  // the core answers on io_
    t.join();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return reply;
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  ControllerCore core_;
  DistributionService service_;
  RuleHitsService hits_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::vector<std::unique_ptr<testing::SimAgent>> agents_;
};

TEST_F(HitsTest, ReportsAreSummedAcrossNodesAndUnusedRulesFound) {
  auto& n1 = Agent("n1");
  auto& n2 = Agent("n2");
  Report(n1, {Count("shop", "api-in", 0, 3, 100), Count("shop", "gone", 0, 5, 50)}, 1000);
  Report(n2, {Count("shop", "api-in", 0, 4, 200)}, 900);
  ASSERT_TRUE(testing::RunUntil(io_, [&] { return core_.RuleHits({}).nodes_size() == 2; }));

  v1::RuleHitsReply all = Ask({});
  ASSERT_EQ(all.nodes_size(), 2);
  EXPECT_EQ(all.nodes(0), "n1");  // the Hello's name, not the report's claim
  EXPECT_EQ(all.since_unix_nanos(), 900);
  const v1::RuleHitCount* used = Find(all, "api-in", 0);
  ASSERT_NE(used, nullptr);
  EXPECT_EQ(used->allowed(), 7u);
  EXPECT_EQ(used->nodes(), 2u);
  EXPECT_EQ(used->last_unix_nanos(), 200);
  ASSERT_NE(Find(all, "api-in", 1), nullptr) << "a current rule without hits is listed";
  EXPECT_EQ(Find(all, "api-in", 1)->allowed(), 0u);
  ASSERT_NE(Find(all, "gone", 0), nullptr) << "hits of a deleted policy stay visible";
  EXPECT_EQ(all.rules_size(), 4);

  v1::RuleHitsRequest unused;
  unused.set_unused(true);
  v1::RuleHitsReply idle = Ask(unused);
  ASSERT_EQ(idle.rules_size(), 2);  // api-in rule 1, idle rule 0; not the deleted policy's
  EXPECT_EQ(idle.rules(0).name(), "api-in");
  EXPECT_EQ(idle.rules(0).rule(), 1u);
  EXPECT_EQ(idle.rules(1).name(), "idle");

  v1::RuleHitsRequest one;
  one.set_namespace_("shop");
  one.set_name("api-in");
  EXPECT_EQ(Ask(one).rules_size(), 2);

  // A later report replaces the node's: counts are absolute.
  Report(n1, {Count("shop", "api-in", 0, 5, 300)}, 1000);
  ASSERT_TRUE(testing::RunUntil(io_, [&] {
    const auto r = core_.RuleHits(one);
    return r.rules_size() > 0 && r.rules(0).allowed() == 9;
  }));
  EXPECT_EQ(Find(core_.RuleHits({}), "gone", 0), nullptr);
}

TEST(PolicyHitMetrics, BusiestPoliciesHaveSeriesAndTheRestIsSummed) {
  v1::RuleHitsReply hits;
  uint64_t rest = 0;
  for (int i = 0; i < 150; ++i) {
    auto c = Count("ns", "p" + std::to_string(i), 0, 1000 - static_cast<uint64_t>(i), 1);
    if (i >= static_cast<int>(kMaxPolicySeries)) rest += c.allowed();
    *hits.add_rules() = c;
  }
  hits.add_nodes("n1");
  prometheus::Text t;
  PolicyHitMetrics(hits, &t);
  const std::string& text = t.str();
  EXPECT_NE(text.find("netfence_policy_connections_total{kind=\"NetworkPolicy\",namespace=\"ns\",policy=\"p0\","
                      "verdict=\"allowed\"} 1000"),
            std::string::npos)
      << text.substr(0, 600);
  EXPECT_EQ(text.find("policy=\"p100\""), std::string::npos) << "past the bound";
  EXPECT_NE(text.find("policy=\"_other\",verdict=\"allowed\"} " + std::to_string(rest)), std::string::npos);
  size_t series = 0;
  for (size_t at = text.find("netfence_policy_connections_total{"); at != std::string::npos;
       at = text.find("netfence_policy_connections_total{", at + 1)) {
    ++series;
  }
  EXPECT_EQ(series, 2 * (kMaxPolicySeries + 1));
}

}  // namespace
}  // namespace netfence::controller
