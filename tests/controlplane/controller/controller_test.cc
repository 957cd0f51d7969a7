// SPDX-License-Identifier: Apache-2.0
// The controller and its agents over real gRPC on loopback: snapshots, deltas and acks; no
// update before the cluster state is complete; an agent that holds the current generation
// gets nothing on reconnect; a lost update (a gap) brings a snapshot; agents keep their
// tables through a controller restart and resync with the new one; registrations come back as
// local endpoints with their addresses, or as unknown pods. Every agent's view is checked
// against its definition after each step.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

#include "controlplane/controller/controller_core.h"
#include "controlplane/controller/distribution_service.h"
#include "tests/testing/sim_agent.h"

namespace netfence::controller {
namespace {

using source::Event;
using source::Op;

k8s::Pod Pod(const std::string& ns, const std::string& name, const std::string& app, const std::string& node,
             const std::string& ip) {
  k8s::Pod p;
  p.meta.ns = ns;
  p.meta.name = name;
  p.meta.labels = {{"app", app}};
  p.node_name = node;
  if (!ip.empty()) p.pod_ips = {ip};
  return p;
}

k8s::NetworkPolicy AllowFrom(const std::string& ns, const std::string& name, const std::string& app,
                             const std::string& from_app, int64_t port) {
  k8s::NetworkPolicy np;
  np.meta.ns = ns;
  np.meta.name = name;
  np.pod_selector.match_labels = {{"app", app}};
  k8s::NetworkPolicyRule rule;
  k8s::NetworkPolicyPeer peer;
  peer.pod_selector = k8s::LabelSelector{{{"app", from_app}}, {}};
  rule.peers.push_back(peer);
  k8s::NetworkPolicyPort p;
  p.port = k8s::IntOrString{true, port, ""};
  rule.ports.push_back(p);
  np.ingress.push_back(rule);
  return np;
}

std::vector<Event> Cluster() {
  std::vector<Event> e;
  e.push_back({Op::kUpsert, Pod("shop", "web-1", "web", "n1", "10.1.0.1")});
  e.push_back({Op::kUpsert, Pod("shop", "web-2", "web", "n2", "10.1.0.2")});
  e.push_back({Op::kUpsert, Pod("shop", "api-1", "api", "n2", "10.1.0.3")});
  e.push_back({Op::kUpsert, Pod("shop", "db-1", "db", "n3", "10.1.0.4")});
  e.push_back({Op::kUpsert, AllowFrom("shop", "api-from-web", "api", "web", 8080)});
  e.push_back({Op::kUpsert, AllowFrom("shop", "db-from-api", "db", "api", 5432)});
  return e;
}

class Controller {
 public:
  explicit Controller(boost::asio::io_context& io, int port = 0, CoreOptions options = {})
      : core_(io, std::move(options)), service_(io, core_) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
  }
  ~Controller() { server_->Shutdown(std::chrono::system_clock::now()); }
  ControllerCore& core() { return core_; }
  int port() const { return port_; }

 private:
  ControllerCore core_;
  DistributionService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

class ControllerTest : public ::testing::Test {
 protected:
  bool RunUntil(const std::function<bool()>& done) { return testing::RunUntil(io_, done); }
  testing::SimAgent& AddAgent(const std::string& node, int port, size_t max_update_bytes = size_t{512} << 20) {
    agent::ControllerClientOptions o;
    o.max_update_bytes = max_update_bytes;
    o.target = "127.0.0.1:" + std::to_string(port);
    o.node = node;
    o.backoff_min = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(200);
    agents_.push_back(std::make_unique<testing::SimAgent>(io_, o));
    return *agents_.back();
  }
  bool AllAt(uint64_t generation) {
    for (const auto& a : agents_) {
      if (a->generation() != generation) return false;
    }
    return true;
  }
  void ExpectViews(ControllerCore& core, const std::set<std::string>& only = {}) {
    for (const auto& a : agents_) {
      if (!only.empty() && !only.contains(a->node())) continue;
      const tables::TableSet want = testing::ExpectedNodeView(core.compiler().set(), a->node());
      EXPECT_TRUE(a->set() == want) << "node " << a->node() << ": " << testing::Difference(a->set(), want);
    }
  }

  boost::asio::io_context io_;
  // gRPC threads post into the loop at any time: it must not stop for lack of work.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::vector<std::unique_ptr<testing::SimAgent>> agents_;
};

TEST_F(ControllerTest, SnapshotsDeltasAndAcksRealiseEveryNode) {
  Controller c(io_);
  c.core().OnEvents(Cluster());
  c.core().OnSynced();
  for (const char* n : {"n1", "n2", "n3"}) AddAgent(n, c.port()).Start();
  ASSERT_TRUE(RunUntil([&] { return AllAt(c.core().generation()); }));
  ExpectViews(c.core());
  for (const auto& a : agents_) EXPECT_EQ(a->snapshots(), 1u) << a->node();
  EXPECT_EQ(agents_[1]->set().endpoints.size(), 2u);  // web-2 and api-1 on n2
  EXPECT_EQ(agents_[0]->set().ipcache.size(), 4u);    // every pod address everywhere

  // A policy change: one delta per node, no snapshot.
  c.core().OnEvents({{Op::kUpsert, AllowFrom("shop", "db-from-api", "db", "web", 5432)}});
  const uint64_t g = c.core().generation() + 1;
  ASSERT_TRUE(RunUntil([&] { return AllAt(g); }));
  ExpectViews(c.core());
  for (const auto& a : agents_) {
    EXPECT_EQ(a->snapshots(), 1u);
    EXPECT_FALSE(a->last_update().snapshot());
  }
  // n3 (db) got the rebuilt table; n1 (web only, not isolated) got nothing but the generation.
  EXPECT_EQ(agents_[2]->last_update_tables(), 1);
  EXPECT_EQ(agents_[0]->last_update_tables(), 0);

  // Status: every node acked it; the policy is realised where it is needed (n3 only).
  ASSERT_TRUE(RunUntil([&] {
    const auto st = c.core().Status();
    for (const auto& n : st.nodes()) {
      if (n.acked_generation() != g) return false;
    }
    return true;
  }));
  const v1::ControllerStatus st = c.core().Status();
  ASSERT_EQ(st.nodes_size(), 3);
  for (const auto& n : st.nodes()) {
    EXPECT_TRUE(n.connected());
    EXPECT_EQ(n.lag_nanos(), 0) << n.node();
  }
  for (const auto& p : st.policies()) {
    EXPECT_EQ(p.nodes_needed(), 1u) << p.name();  // api-from-web: n2 (api), db-from-api: n3 (db)
    EXPECT_EQ(p.nodes_realised(), p.nodes_needed()) << p.name();
  }
}

TEST_F(ControllerTest, AnUpdateLargerThanTheAgentTakesIsRefusedAndItsPartsSkipped) {
  CoreOptions small_parts;
  small_parts.max_part_bytes = 64;  // the snapshot travels in many parts
  Controller c(io_, 0, small_parts);
  c.core().OnEvents(Cluster());
  c.core().OnSynced();
  auto& bounded = AddAgent("n1", c.port(), /*max_update_bytes=*/256);
  auto& fine = AddAgent("n2", c.port());
  bounded.Start();
  fine.Start();
  ASSERT_TRUE(RunUntil([&] { return fine.updates() > 0 && fine.generation() == c.core().generation(); }))
      << "n2 at " << fine.generation() << " after " << fine.updates() << " updates";
  ASSERT_TRUE(RunUntil([&] {
    const v1::ControllerStatus st = c.core().Status();
    for (const auto& n : st.nodes()) {
      if (n.node() == "n1" && !n.last_error().empty()) return true;
    }
    return false;
  }));
  EXPECT_EQ(bounded.generation(), 0u) << "nothing of the refused update was applied";
  EXPECT_EQ(bounded.updates(), 0u);
  const v1::ControllerStatus st = c.core().Status();
  for (const auto& n : st.nodes()) {
    if (n.node() != "n1") continue;
    EXPECT_NE(n.last_error().find("exceeds 256 bytes"), std::string::npos) << n.last_error();
    EXPECT_EQ(n.acked_generation(), 0u);
  }
  ExpectViews(c.core(), {"n2"});
}

TEST_F(ControllerTest, NothingLeavesBeforeTheClusterStateIsComplete) {
  Controller c(io_);
  c.core().OnEvents(Cluster());
  auto& a = AddAgent("n1", c.port());
  a.Start();
  ASSERT_TRUE(RunUntil([&] { return a.connected(); }));
  io_.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(a.updates(), 0u) << "an update before sync would enforce a partial cluster";
  c.core().OnSynced();
  ASSERT_TRUE(RunUntil([&] { return a.updates() == 1; }));
  EXPECT_TRUE(a.last_update().snapshot());
  ExpectViews(c.core());
}

TEST_F(ControllerTest, ACurrentAgentGetsNothingOnReconnectAndAGapBringsASnapshot) {
  Controller c(io_);
  c.core().OnEvents(Cluster());
  c.core().OnSynced();
  auto& a = AddAgent("n2", c.port());
  a.Start();
  ASSERT_TRUE(RunUntil([&] { return AllAt(c.core().generation()); }));

  // The stream breaks (the agent holds the current generation): nothing new is sent.
  a.client().Stop();
  ASSERT_TRUE(RunUntil([&] { return c.core().sessions() == 0; }));
  auto& again = AddAgent("n2", c.port());
  again.Start();  // a fresh client that holds nothing: a snapshot
  ASSERT_TRUE(RunUntil([&] { return again.generation() == c.core().generation(); }));
  EXPECT_EQ(again.snapshots(), 1u);
  // And the first one back, holding the current generation: nothing at all.
  const uint64_t sent_before = c.core().metrics().updates_sent;
  auto& back = AddAgent("n2", c.port());
  back.client().Start(a.generation(), {});
  ASSERT_TRUE(RunUntil([&] { return c.core().sessions() == 2; }));
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(back.updates(), 0u);
  EXPECT_EQ(c.core().metrics().updates_sent, sent_before);
  back.Stop();

  // An update lost on the way: the next delta's base is not what the agent holds.
  again.DropNextUpdate();
  c.core().OnEvents({{Op::kUpsert, Pod("shop", "web-3", "web", "n2", "10.1.0.5")}});
  ASSERT_TRUE(RunUntil([&] { return c.core().generation() > again.last_update().generation(); }));
  io_.run_for(std::chrono::milliseconds(100));
  c.core().OnEvents({{Op::kUpsert, Pod("shop", "web-4", "web", "n2", "10.1.0.6")}});
  ASSERT_TRUE(RunUntil([&] { return again.generation() == c.core().generation(); }));
  EXPECT_EQ(again.resyncs(), 1u);
  EXPECT_EQ(again.snapshots(), 2u);
  EXPECT_EQ(again.set().endpoints.size(), 4u);
  EXPECT_TRUE(again.set() == testing::ExpectedNodeView(c.core().compiler().set(), "n2"));
}

TEST_F(ControllerTest, AgentsKeepTheirTablesThroughAControllerRestartAndResync) {
  auto first = std::make_unique<Controller>(io_);
  const int port = first->port();
  first->core().OnEvents(Cluster());
  first->core().OnSynced();
  for (const char* n : {"n1", "n2", "n3"}) AddAgent(n, port).Start();
  ASSERT_TRUE(RunUntil([&] { return AllAt(first->core().generation()); }));
  const uint64_t before = first->core().generation();
  const tables::TableSet n3_before = agents_[2]->set();

  first.reset();  // the controller goes away
  ASSERT_TRUE(RunUntil([&] {
    for (const auto& a : agents_) {
      if (a->connected()) return false;
    }
    return true;
  }));
  io_.run_for(std::chrono::milliseconds(100));
  for (const auto& a : agents_) EXPECT_EQ(a->generation(), before) << "agents keep enforcing";
  EXPECT_TRUE(agents_[2]->set() == n3_before);

  // A new controller on the same port, with a changed cluster.
  Controller second(io_, port);
  ASSERT_EQ(second.port(), port);
  auto events = Cluster();
  events.push_back({Op::kUpsert, Pod("shop", "db-2", "db", "n3", "10.1.0.9")});
  second.core().OnEvents(events);
  second.core().OnSynced();
  ASSERT_TRUE(RunUntil([&] { return AllAt(second.core().generation()); }));
  EXPECT_GT(second.core().generation(), before);
  for (const auto& a : agents_) EXPECT_EQ(a->snapshots(), 2u) << a->node();
  ExpectViews(second.core());
  EXPECT_EQ(agents_[2]->set().endpoints.size(), 2u);
}

TEST_F(ControllerTest, RegistrationsBecomeLocalEndpointsOrUnknownPods) {
  Controller c(io_);
  auto events = Cluster();
  events.push_back({Op::kUpsert, Pod("shop", "web-9", "web", "n1", "")});  // scheduled, no address yet
  c.core().OnEvents(events);
  c.core().OnSynced();
  auto& a = AddAgent("n1", c.port());
  a.Start();
  ASSERT_TRUE(RunUntil([&] { return a.generation() == c.core().generation() && a.generation() != 0; }));
  EXPECT_EQ(a.set().endpoints.size(), 1u);

  v1::EndpointReport report;
  report.set_sequence(7);
  auto* e = report.add_endpoints();
  e->set_namespace_("shop");
  e->set_name("web-9");
  e->add_ips(tables::AddrBytes(*IpAddr::Parse("10.1.0.99")));
  auto* ghost = report.add_endpoints();
  ghost->set_namespace_("shop");
  ghost->set_name("ghost");
  a.ReportEndpoints(report);
  ASSERT_TRUE(RunUntil([&] { return a.last_update().endpoints_sequence() == 7; }));
  ASSERT_EQ(a.set().endpoints.size(), 2u);
  const v1::NodeEndpoint& web9 = a.set().endpoints.at({"shop", "web-9"});
  ASSERT_EQ(web9.ips_size(), 1);
  EXPECT_EQ(web9.ips(0), tables::AddrBytes(*IpAddr::Parse("10.1.0.99")));
  ASSERT_EQ(a.last_update().unknown_registered_size(), 1);
  EXPECT_EQ(a.last_update().unknown_registered(0).name(), "ghost");
  EXPECT_TRUE(a.set().ipcache.contains(*IpAddr::Parse("10.1.0.99")));
}

// An agent reconnecting with pods registered (the API has them without a node yet): the
// first view it gets already has them as its endpoints; a view that does not reflect its
// registrations would leave those pods without tables.
TEST_F(ControllerTest, AHelloWithRegistrationsGetsAViewThatReflectsThem) {
  Controller c(io_);
  auto events = Cluster();
  events.push_back({Op::kUpsert, Pod("shop", "web-9", "web", "", "10.1.0.99")});
  c.core().OnEvents(events);
  c.core().OnSynced();
  ASSERT_TRUE(RunUntil([&] { return c.core().generation() != 0 && c.core().synced(); }));
  io_.run_for(std::chrono::milliseconds(50));
  v1::EndpointReport report;
  report.set_sequence(3);
  auto* e = report.add_endpoints();
  e->set_namespace_("shop");
  e->set_name("web-9");
  e->add_ips(tables::AddrBytes(*IpAddr::Parse("10.1.0.99")));
  auto& a = AddAgent("n1", c.port());
  a.Start(report);
  ASSERT_TRUE(RunUntil([&] { return a.generation() != 0 && a.generation() == c.core().generation(); }));
  EXPECT_EQ(a.updates(), 1u) << "a stale view was sent first";
  EXPECT_TRUE(a.set().endpoints.contains({"shop", "web-9"}));
  EXPECT_EQ(a.last_update().endpoints_sequence(), 3u);
}

}  // namespace
}  // namespace netfence::controller
