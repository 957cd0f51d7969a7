// SPDX-License-Identifier: Apache-2.0
// The agent's core against a FakeFastPath, fake devices and a scripted table source: what it
// programs, acks, asks for and answers, without root, BPF or a controller.
#include "dataplane/agent/agent.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "common/tables/table_set.h"
#include "controlplane/compiler/incremental.h"
#include "controlplane/k8s/manifests.h"
#include "tests/testing/fake_fast_path.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/sim_agent.h"

namespace netfence::agent {
namespace {

namespace fs = std::filesystem;
using testing::FakeDevices;
using testing::FakeFastPath;

constexpr char kNode[] = "n1";

// The table source as the agent sees it: the test delivers updates and reads what the agent said.
class ScriptedSource : public TableSource {
 public:
  struct AckRecord {
    uint64_t generation;
    bool ok;
    std::string error;
  };
  Status Start(uint64_t held, v1::EndpointReport endpoints, OnUpdate on_update) override {
    started_with = held;
    reports.push_back(std::move(endpoints));
    on_update_ = std::move(on_update);
    return Status::Ok();
  }
  void ReportEndpoints(v1::EndpointReport endpoints) override { reports.push_back(std::move(endpoints)); }
  void Ack(uint64_t generation, bool ok, const std::string& error) override { acks.push_back({generation, ok, error}); }
  void Resync(const std::string& reason) override { resyncs.push_back(reason); }
  bool connected() const override { return true; }
  std::string Describe() const override { return "the test"; }

  void Deliver(v1::NodeUpdate u) { on_update_(std::move(u)); }
  uint64_t last_sequence() const { return reports.back().sequence(); }

  std::optional<uint64_t> started_with;
  std::vector<v1::EndpointReport> reports;
  std::vector<AckRecord> acks;
  std::vector<std::string> resyncs;

 private:
  OnUpdate on_update_;
};

// Node n1's view of a cluster written as YAML (every pod scheduled on n1).
tables::TableSet ViewOf(const std::string& yaml) {
  k8s::LoadResult load;
  k8s::LoadManifestText(yaml, "test.yaml", &load);
  EXPECT_TRUE(load.errors.empty());
  std::vector<source::Event> events;
  for (const auto& n : load.state.namespaces) events.push_back({source::Op::kUpsert, n});
  for (auto p : load.state.pods) {
    p.node_name = kNode;
    events.push_back({source::Op::kUpsert, p});
  }
  for (const auto& p : load.state.policies) events.push_back({source::Op::kUpsert, p});
  compiler::IncrementalCompiler inc;
  inc.Apply(events);
  return testing::ExpectedNodeView(inc.set(), kNode);
}

const std::string kCluster = testing::NamespaceYaml("x", "ns: x") + testing::PodYaml("x", "a", "app: a", "10.0.0.1") +
                             testing::PodYaml("x", "b", "app: b", "10.0.0.2");
const std::string kDenyAll =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\n"
    "spec: {podSelector: {}, policyTypes: [Ingress]}\n---\n";

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/netfence-agent-test-XXXXXX";
    state_dir_ = ::mkdtemp(tmpl);
    devices_.devices["veth-a"] = {.ifindex = 11, .master = 3};
    devices_.devices["veth-b"] = {.ifindex = 12, .master = 3};
    devices_.devices["br0"] = {.ifindex = 3, .driver = "bridge"};
  }
  void TearDown() override {
    agent_.reset();
    fs::remove_all(state_dir_);
  }

  // A new agent over the state directory (as after a restart), started.
  void StartAgent(std::chrono::milliseconds add_timeout = std::chrono::milliseconds(2000)) {
    AgentOptions o;
    o.node = kNode;
    o.state_dir = state_dir_;
    o.add_timeout = add_timeout;
    o.devices = &devices_;
    o.deleted_journal = agent::DeletedJournalDir(state_dir_ + "/agent.sock");
    o.uplinks = uplinks_;
    auto fast_path = std::make_unique<FakeFastPath>();
    fast_path_ = fast_path.get();
    auto source = std::make_unique<ScriptedSource>();
    source_ = source.get();
    agent_ = std::make_unique<Agent>(
        io_, o, std::move(fast_path), std::move(source), [](const std::string&) {},
        [this](const std::string& m) { warnings_.push_back(m); });
    ASSERT_TRUE(agent_->Start().ok());
  }

  static v1::NodeUpdate Snapshot(const tables::TableSet& view, uint64_t generation, uint64_t sequence = 0) {
    return tables::SnapshotOf(view, generation, sequence);
  }
  // The delta from `before` to `after` (whole units replaced; removals listed).
  static v1::NodeUpdate Delta(const tables::TableSet& before, const tables::TableSet& after, uint64_t base,
                              uint64_t generation, uint64_t sequence = 0) {
    v1::NodeUpdate u = Snapshot(after, generation, sequence);
    u.set_snapshot(false);
    u.set_base_generation(base);
    for (const auto& [id, i] : before.identities) {
      if (!after.identities.contains(id)) u.add_removed_identities(id);
    }
    for (const auto& [ip, e] : before.ipcache) {
      if (!after.ipcache.contains(ip)) u.add_removed_ipcache(tables::AddrBytes(ip));
    }
    for (const auto& [id, t] : before.tables) {
      if (!after.tables.contains(id)) u.add_removed_tables(id);
    }
    for (const auto& [name, e] : before.endpoints) {
      if (after.endpoints.contains(name)) continue;
      auto* k = u.add_removed_endpoints();
      k->set_namespace_(name.first);
      k->set_name(name.second);
    }
    return u;
  }

  static Request AddRequest(const std::string& container, const std::string& pod, const std::string& veth,
                            const std::string& ip) {
    Request r;
    r.op = "add";
    r.container_id = container;
    r.ifname = "eth0";
    r.netns = "/run/netns/" + container;
    r.pod_namespace = "x";
    r.pod_name = pod;
    r.host_interfaces = {"br0", veth};
    r.ips = {ip + "/24"};
    return r;
  }

  // Handles a request; the reply, once it came (running the loop until then or `limit`).
  std::optional<Response> Ask(const Request& r, std::chrono::milliseconds limit = std::chrono::milliseconds(0)) {
    std::optional<Response> got;
    agent_->Handle(r, [&](Response resp) { got = std::move(resp); });
    RunFor(limit, [&] { return got.has_value(); });
    return got;
  }

  template <typename Done>
  void RunFor(std::chrono::milliseconds limit, Done done) {
    const auto until = std::chrono::steady_clock::now() + limit;
    io_.restart();
    while (!done() && std::chrono::steady_clock::now() < until) io_.run_for(std::chrono::milliseconds(5));
    io_.poll();
  }

  boost::asio::io_context io_;
  std::string state_dir_;
  FakeDevices devices_;
  std::unique_ptr<Agent> agent_;
  FakeFastPath* fast_path_ = nullptr;
  ScriptedSource* source_ = nullptr;
  std::vector<std::string> warnings_;
  std::vector<std::string> uplinks_;
};

TEST_F(AgentTest, ProgramsAcksAndPersistsASnapshot) {
  StartAgent();
  EXPECT_EQ(source_->started_with, 0u);
  EXPECT_FALSE(agent_->ready());
  source_->Deliver(Snapshot(ViewOf(kCluster), 5));
  ASSERT_EQ(fast_path_->programmed, std::vector<uint64_t>{5});
  ASSERT_EQ(source_->acks.size(), 1u);
  EXPECT_EQ(source_->acks[0].generation, 5u);
  EXPECT_TRUE(source_->acks[0].ok);
  EXPECT_TRUE(agent_->ready());
  EXPECT_EQ(agent_->view_generation(), 5u);
  EXPECT_TRUE(fs::exists(state_dir_ + "/view.pb"));
  ASSERT_NE(fast_path_->live(), nullptr);
  EXPECT_EQ(fast_path_->live()->endpoints_size(), 2);
}

TEST_F(AgentTest, DeltaOnTheWrongBaseAsksForASnapshot) {
  StartAgent();
  const tables::TableSet v1 = ViewOf(kCluster), v2 = ViewOf(kCluster + kDenyAll);
  source_->Deliver(Snapshot(v1, 5));
  source_->Deliver(Delta(v1, v2, /*base=*/4, /*generation=*/6));
  EXPECT_EQ(source_->resyncs.size(), 1u) << "a delta for generation 4 while holding 5";
  EXPECT_EQ(fast_path_->programmed, std::vector<uint64_t>{5}) << "nothing programmed from it";
  EXPECT_EQ(agent_->view_generation(), 5u);

  source_->Deliver(Delta(v1, v2, /*base=*/5, /*generation=*/6));
  EXPECT_EQ(source_->resyncs.size(), 1u);
  EXPECT_EQ(fast_path_->programmed, (std::vector<uint64_t>{5, 6}));
  EXPECT_EQ(agent_->view(), v2);
}

TEST_F(AgentTest, UnchangedTablesAreNotReprogrammed) {
  StartAgent();
  const tables::TableSet v = ViewOf(kCluster);
  source_->Deliver(Snapshot(v, 5));
  source_->Deliver(Delta(v, v, 5, 6));  // e.g. an address elsewhere changed: same tables
  EXPECT_EQ(fast_path_->programmed, std::vector<uint64_t>{5});
  EXPECT_EQ(agent_->programmed(), 1u);
  ASSERT_EQ(source_->acks.size(), 2u);
  EXPECT_EQ(source_->acks[1].generation, 6u);
  EXPECT_TRUE(source_->acks[1].ok) << "generation 6 is realised as is";
  EXPECT_EQ(agent_->view_generation(), 6u);
}

TEST_F(AgentTest, AFailedProgramKeepsTheLiveTables) {
  StartAgent();
  const tables::TableSet v1 = ViewOf(kCluster), v2 = ViewOf(kCluster + kDenyAll);
  source_->Deliver(Snapshot(v1, 5));
  fast_path_->fail_next_program = "no room in the maps";
  source_->Deliver(Delta(v1, v2, 5, 6));
  ASSERT_EQ(source_->acks.size(), 2u);
  EXPECT_FALSE(source_->acks[1].ok);
  EXPECT_NE(source_->acks[1].error.find("no room in the maps"), std::string::npos) << source_->acks[1].error;
  EXPECT_EQ(fast_path_->programmed, std::vector<uint64_t>{5});
  EXPECT_EQ(agent_->live_generation(), 5u) << "generation 5 stays live";
  EXPECT_EQ(agent_->view_generation(), 6u) << "the view is what the source said";
  // The next update that programs cleanly takes over.
  source_->Deliver(Delta(v2, v2, 6, 7));
  EXPECT_EQ(fast_path_->programmed, (std::vector<uint64_t>{5, 7}));
  EXPECT_TRUE(source_->acks.back().ok);
  EXPECT_EQ(agent_->live_generation(), 7u);
}

TEST_F(AgentTest, AddWaitsForTheGenerationThatIncludesThePod) {
  StartAgent();
  const tables::TableSet without_b =
      ViewOf(testing::NamespaceYaml("x", "ns: x") + testing::PodYaml("x", "a", "app: a", "10.0.0.1"));
  source_->Deliver(Snapshot(without_b, 5));
  const size_t reports = source_->reports.size();

  std::optional<Response> reply;
  agent_->Handle(AddRequest("c-b", "b", "veth-b", "10.0.0.2"), [&](Response r) { reply = std::move(r); });
  io_.poll();
  EXPECT_FALSE(reply) << "no answer before a generation reflects the registration";
  ASSERT_EQ(source_->reports.size(), reports + 1) << "the registration is reported";
  ASSERT_EQ(source_->reports.back().endpoints_size(), 1);
  EXPECT_EQ(source_->reports.back().endpoints(0).name(), "b");
  EXPECT_FALSE(fast_path_->endpoints.contains(12)) << "not plugged before its tables are live";

  // A generation produced before the registration does not answer it.
  source_->Deliver(Delta(without_b, without_b, 5, 6, source_->last_sequence() - 1));
  io_.poll();
  EXPECT_FALSE(reply);

  source_->Deliver(Delta(without_b, ViewOf(kCluster), 6, 7, source_->last_sequence()));
  RunFor(std::chrono::milliseconds(1000), [&] { return reply.has_value(); });
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->ok) << reply->message;
  EXPECT_EQ(reply->generation, 7u);
  EXPECT_EQ(reply->host_interface, "veth-b");
  ASSERT_TRUE(fast_path_->endpoints.contains(12));
  EXPECT_EQ(fast_path_->endpoints[12], std::vector<IpAddr>{*IpAddr::Parse("10.0.0.2")});

  // CHECK agrees.
  Request check = AddRequest("c-b", "b", "veth-b", "10.0.0.2");
  check.op = "check";
  auto checked = Ask(check);
  ASSERT_TRUE(checked);
  EXPECT_TRUE(checked->ok) << checked->message;
}

TEST_F(AgentTest, AddTimesOutCleanlyWhenNoGenerationIncludesThePod) {
  StartAgent(std::chrono::milliseconds(100));
  source_->Deliver(Snapshot(ViewOf(kCluster), 5));
  auto reply = Ask(AddRequest("c-b", "b", "veth-b", "10.0.0.2"), std::chrono::milliseconds(3000));
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply->ok);
  EXPECT_EQ(reply->code, kCniTryAgainLater);
  EXPECT_NE(reply->message.find("pod x/b"), std::string::npos) << reply->message;
  EXPECT_NE(reply->message.find("within 100 ms"), std::string::npos) << reply->message;
  // Nothing is left behind: the registration is withdrawn and reported, the port unplugged.
  EXPECT_FALSE(fast_path_->endpoints.contains(12));
  EXPECT_EQ(source_->reports.back().endpoints_size(), 0);
  Request check = AddRequest("c-b", "b", "veth-b", "10.0.0.2");
  check.op = "check";
  auto checked = Ask(check);
  ASSERT_TRUE(checked);
  EXPECT_FALSE(checked->ok);
}

TEST_F(AgentTest, AddBeforeAnyTablesIsRefusedForARetry) {
  StartAgent();
  auto reply = Ask(AddRequest("c-a", "a", "veth-a", "10.0.0.1"));
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply->ok);
  EXPECT_EQ(reply->code, kCniTryAgainLater);
}

TEST_F(AgentTest, AddWithoutAVethIsRefused) {
  StartAgent();
  source_->Deliver(Snapshot(ViewOf(kCluster), 5));
  Request r = AddRequest("c-a", "a", "veth-a", "10.0.0.1");
  r.host_interfaces = {"br0"};
  auto reply = Ask(r);
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply->ok);
  EXPECT_EQ(reply->code, kNoHostInterface);
}

TEST_F(AgentTest, DelOfAnUnknownPodSucceeds) {
  StartAgent();
  source_->Deliver(Snapshot(ViewOf(kCluster), 5));
  Request del;
  del.op = "del";
  del.container_id = "never-added";
  del.ifname = "eth0";
  auto reply = Ask(del);
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->ok) << reply->message;
  EXPECT_TRUE(fast_path_->unplugged.empty());
}

TEST_F(AgentTest, DelUnplugsAndReports) {
  StartAgent();
  source_->Deliver(Snapshot(ViewOf(kCluster), 5));
  std::optional<Response> added;
  agent_->Handle(AddRequest("c-a", "a", "veth-a", "10.0.0.1"), [&](Response r) { added = std::move(r); });
  source_->Deliver(Delta(agent_->view(), agent_->view(), 5, 6, source_->last_sequence()));
  RunFor(std::chrono::milliseconds(1000), [&] { return added.has_value(); });
  ASSERT_TRUE(added && added->ok);
  ASSERT_TRUE(fast_path_->endpoints.contains(11));

  Request del = AddRequest("c-a", "a", "veth-a", "10.0.0.1");
  del.op = "del";
  auto reply = Ask(del);
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->ok);
  EXPECT_FALSE(fast_path_->endpoints.contains(11));
  EXPECT_EQ(fast_path_->unplugged, std::vector<int>{11});
  EXPECT_EQ(source_->reports.back().endpoints_size(), 0);
}

TEST_F(AgentTest, ThePersistedViewIsEnforcedAtStartBeforeTheSourceAnswers) {
  StartAgent();
  source_->Deliver(Snapshot(ViewOf(kCluster + kDenyAll), 9));
  ASSERT_TRUE(source_->acks.back().ok);
  // Add a pod so that the registry has something to re-plug.
  std::optional<Response> added;
  agent_->Handle(AddRequest("c-a", "a", "veth-a", "10.0.0.1"), [&](Response r) { added = std::move(r); });
  source_->Deliver(Delta(agent_->view(), agent_->view(), 9, 10, source_->last_sequence()));
  RunFor(std::chrono::milliseconds(1000), [&] { return added.has_value(); });
  ASSERT_TRUE(added && added->ok);

  // A new agent (a restart) with a new, empty fast path: it programs the persisted view in
  // Start(), before the source has said anything, and says it holds it.
  StartAgent();
  EXPECT_EQ(fast_path_->programmed, std::vector<uint64_t>{10});
  EXPECT_EQ(source_->started_with, 10u);
  EXPECT_TRUE(agent_->ready());
  ASSERT_NE(fast_path_->live(), nullptr);
  EXPECT_EQ(fast_path_->live()->policies_size(), 1) << "the deny policy is enforced";
  EXPECT_TRUE(fast_path_->endpoints.contains(11)) << "the registered pod is plugged again";
  ASSERT_EQ(source_->reports.size(), 1u);
  EXPECT_EQ(source_->reports[0].endpoints_size(), 1) << "and reported in the Hello";
}

TEST_F(AgentTest, ADelJournaledWhileTheAgentWasAwayIsAppliedAtStart) {
  StartAgent();
  source_->Deliver(Snapshot(ViewOf(kCluster), 5));
  std::optional<Response> added;
  agent_->Handle(AddRequest("c-a", "a", "veth-a", "10.0.0.1"), [&](Response r) { added = std::move(r); });
  source_->Deliver(Delta(agent_->view(), agent_->view(), 5, 6, source_->last_sequence()));
  RunFor(std::chrono::milliseconds(1000), [&] { return added.has_value(); });
  ASSERT_TRUE(added && added->ok);

  // The agent goes; the runtime deletes the pod meanwhile (netfence-cni journals the DEL);
  // the veth is still there (its namespace not yet torn down).
  agent_.reset();
  Request del = AddRequest("c-a", "a", "veth-a", "10.0.0.1");
  del.op = "del";
  ASSERT_TRUE(agent::JournalDelete(state_dir_ + "/agent.sock", del).ok());

  StartAgent();
  EXPECT_EQ(agent_->reconciled().deletes_applied, 1u);
  EXPECT_FALSE(fast_path_->endpoints.contains(11)) << "not plugged again";
  EXPECT_EQ(fast_path_->unplugged, std::vector<int>{11}) << "and taken out of the fast path";
  EXPECT_EQ(source_->reports.back().endpoints_size(), 0) << "the Hello reports no registration";
  std::vector<std::string> errors;
  EXPECT_TRUE(agent::ReadJournaledDeletes(agent::DeletedJournalDir(state_dir_ + "/agent.sock"), &errors).empty())
      << "the journal is emptied";
}

TEST_F(AgentTest, ARegisteredPodWhoseVethIsGoneLeavesTheFastPathAtStart) {
  StartAgent();
  source_->Deliver(Snapshot(ViewOf(kCluster), 5));
  std::optional<Response> added;
  agent_->Handle(AddRequest("c-a", "a", "veth-a", "10.0.0.1"), [&](Response r) { added = std::move(r); });
  source_->Deliver(Delta(agent_->view(), agent_->view(), 5, 6, source_->last_sequence()));
  RunFor(std::chrono::milliseconds(1000), [&] { return added.has_value(); });
  ASSERT_TRUE(added && added->ok);
  agent_.reset();
  devices_.devices.erase("veth-a");  // the pod went while the agent was away
  StartAgent();
  EXPECT_EQ(agent_->reconciled().interfaces_forgotten, 1u);
  EXPECT_EQ(fast_path_->unplugged, std::vector<int>{11}) << "its ifindex leaves the interfaces table";
}

TEST_F(AgentTest, AnUnregisteredPodVethIsSetDownAfterARestartNotAtFirstInstall) {
  devices_.devices["veth-x"] = {.ifindex = 21, .master = 3};  // a pod netfence-cni never saw
  devices_.devices["uplink0"] = {.ifindex = 4, .master = 3};  // bridge ports that are not pods
  devices_.devices["eth0"] = {.ifindex = 2, .driver = ""};
  uplinks_ = {"uplink0"};
  StartAgent();
  EXPECT_TRUE(devices_.devices["veth-x"].up) << "a first install leaves pods that predate netfence alone";
  EXPECT_EQ(agent_->reconciled().interfaces_down, 0u);
  source_->Deliver(Snapshot(ViewOf(kCluster), 5));  // the agent has run: view.pb is written
  std::optional<Response> a;
  agent_->Handle(AddRequest("c-a", "a", "veth-a", "10.0.0.1"), [&](Response r) { a = std::move(r); });
  source_->Deliver(Delta(agent_->view(), agent_->view(), 5, 6, source_->last_sequence()));
  RunFor(std::chrono::milliseconds(1000), [&] { return a.has_value(); });
  ASSERT_TRUE(a && a->ok);
  devices_.devices.erase("veth-b");

  agent_.reset();
  StartAgent();
  EXPECT_FALSE(devices_.devices["veth-x"].up) << "after a restart it slipped through a gap: fail closed";
  EXPECT_EQ(agent_->reconciled().interfaces_down, 1u);
  EXPECT_TRUE(devices_.devices["veth-a"].up);
  EXPECT_TRUE(devices_.devices["br0"].up);
  EXPECT_TRUE(devices_.devices["eth0"].up);
  EXPECT_TRUE(devices_.devices["uplink0"].up) << "uplinks are never touched";
  EXPECT_EQ(fast_path_->uplinks.count(4), 1u);

  // Its pod's ADD was under way: once plugged, the veth is up again.
  devices_.devices["veth-x"].up = false;
  std::optional<Response> added;
  agent_->Handle(AddRequest("c-x", "b", "veth-x", "10.0.0.2"), [&](Response r) { added = std::move(r); });
  source_->Deliver(Delta(agent_->view(), agent_->view(), 6, 7, source_->last_sequence()));
  RunFor(std::chrono::milliseconds(1000), [&] { return added.has_value(); });
  ASSERT_TRUE(added && added->ok) << (added ? added->message : "no answer");
  EXPECT_TRUE(devices_.devices["veth-x"].up);
}

TEST_F(AgentTest, AnUnreadablePersistedViewWaitsForTheSource) {
  fs::create_directories(state_dir_);
  std::ofstream(state_dir_ + "/view.pb") << "not a protobuf";
  StartAgent();
  EXPECT_TRUE(fast_path_->programmed.empty());
  EXPECT_EQ(source_->started_with, 0u);
  EXPECT_FALSE(agent_->ready());
  EXPECT_FALSE(warnings_.empty());
}

TEST_F(AgentTest, StatusSaysWhetherTablesAreLive) {
  StartAgent();
  Request status;
  status.op = "status";
  auto before = Ask(status);
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->ok);
  EXPECT_EQ(before->code, kNotEnforced);
  source_->Deliver(Snapshot(ViewOf(kCluster), 5));
  auto after = Ask(status);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->ok);
  EXPECT_EQ(after->generation, 5u);
}

}  // namespace
}  // namespace netfence::agent
