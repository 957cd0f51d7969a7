// SPDX-License-Identifier: Apache-2.0
// The pipeline on the real datapath: packets run through the XDP program with
// BPF_PROG_TEST_RUN, the pipeline reads its ring buffer and conntrack table, and the records
// must say exactly what happened: counts and bytes, verdicts, rules as of each generation,
// and how many events the ring could not hold. Needs root (skips without BPF).
#include "dataplane/flowlog/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <linux/bpf.h>
#include <unistd.h>

#include <numeric>

#include "tests/dataplane/flowlog/pipeline/generation_fixture.h"
#include "tests/dataplane/flowlog/temp_dir.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/dataplane/xdp/xdp_harness.h"

namespace netfence::flowlog {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;
using xdptest::PacketBuilder;

const IpAddr kClient = *IpAddr::Parse("10.0.0.2");
const IpAddr kServer = *IpAddr::Parse("10.0.0.1");
constexpr uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kPsh = 0x08;

std::string Yaml(const std::string& policy, const std::string& ports) {
  return PodYaml("default", "client", "app: client", kClient.str()) +
         PodYaml("default", "server", "app: server", kServer.str()) +
         PolicyYaml("default", policy,
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: " +
                        ports + "\n");
}

std::vector<uint8_t> Tcp(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport, uint8_t flags,
                         size_t payload = 0) {
  return PacketBuilder().Ipv4(src, dst).TcpFlags(flags).Tcp(dport, sport).Payload(payload).Build();
}
std::vector<uint8_t> Udp(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport, size_t payload) {
  return PacketBuilder().Ipv4(src, dst).Udp(dport, sport).Payload(payload).Build();
}

class Collector : public RecordSink {
 public:
  void Write(const EmittedPtr& e) override { records.push_back(e->record); }
  std::vector<FlowRecord> Take() { return std::exchange(records, {}); }
  std::vector<FlowRecord> records;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETFENCE_REQUIRE_BPF();
    Load(1 << 16);
  }
  void Load(uint32_t ring_bytes) {
    pipeline_.reset();
    harness_.reset();
    program_.reset();
    xdp::LoadOptions o;
    o.conntrack_entries = 4096;
    o.ring_bytes = ring_bytes;
    auto p = xdp::XdpProgram::Load(o);
    ASSERT_TRUE(p.ok()) << p.status().message();
    program_ = std::move(p).value();
    harness_ = std::make_unique<xdptest::Harness>(*program_);
    StartPipeline();
    pipeline_->RunRound(true, false);  // adopts the (empty) table
  }
  // A pipeline (a new agent's) on the loaded program.
  void StartPipeline(const std::string& handover_path = "") {
    pipeline_.reset();
    PipelineOptions po;
    po.node = "node-a";
    po.close_grace_ns = 0;  // end a closed connection at the next scan
    po.drop_window_ns = 1;
    po.handover_path = handover_path;
    auto made = Pipeline::Create(*program_, po, {&out_});
    ASSERT_TRUE(made.ok()) << made.status().message();
    pipeline_ = std::move(made).value();
  }
  // Tells the pipeline that generation `index` of gens_ is live (the agent's on_live).
  void OnLive(size_t index) {
    const testing::Generation& g = *gens_[index];
    tables::TableSet view;
    view.ipcache = g.ipcache;
    view.identities = g.identities;
    pipeline_->OnLive(g.tables.generation(), g.tables, view);
  }
  // Makes `yaml` live as `generation`, and tells the pipeline.
  void Program(const std::string& yaml, uint64_t generation) {
    gens_.push_back(std::make_unique<testing::Generation>(testing::MakeGeneration(yaml, generation)));
    const testing::Generation& g = *gens_.back();
    ASSERT_TRUE(program_->Program(g.tables).ok());
    tables::TableSet view;
    view.ipcache = g.ipcache;
    view.identities = g.identities;
    pipeline_->OnLive(generation, g.tables, view);
  }
  uint32_t Run(const std::vector<uint8_t>& packet) {
    auto r = harness_->Run(packet);
    EXPECT_TRUE(r.ok) << r.error;
    return r.action;
  }

  Collector out_;
  std::vector<std::unique_ptr<testing::Generation>> gens_;
  std::unique_ptr<xdp::XdpProgram> program_;
  std::unique_ptr<xdptest::Harness> harness_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineTest, AClosedTcpConnectionIsOneStartAndOneEndWithItsExactCounters) {
  Program(Yaml("server-in", "[{protocol: TCP, port: 80}]"), 1);
  const std::vector<std::vector<uint8_t>> to_server = {
      Tcp(kClient, 40000, kServer, 80, kSyn), Tcp(kClient, 40000, kServer, 80, kAck),
      Tcp(kClient, 40000, kServer, 80, kAck | kPsh, 1000), Tcp(kClient, 40000, kServer, 80, kFin | kAck),
      Tcp(kClient, 40000, kServer, 80, kAck)};
  const std::vector<std::vector<uint8_t>> to_client = {Tcp(kServer, 80, kClient, 40000, kSyn | kAck),
                                                       Tcp(kServer, 80, kClient, 40000, kAck | kPsh, 3000),
                                                       Tcp(kServer, 80, kClient, 40000, kFin | kAck)};
  // The order of a real exchange: handshake, data both ways, FIN/FIN, last ACK.
  for (const auto* p : {&to_server[0], &to_client[0], &to_server[1], &to_server[2], &to_client[1], &to_server[3],
                        &to_client[2], &to_server[4]}) {
    ASSERT_EQ(Run(*p), static_cast<uint32_t>(XDP_PASS));
  }
  pipeline_->RunRound(true, false);
  const auto out = out_.Take();
  ASSERT_EQ(out.size(), 2u);
  const FlowRecord& start = out[0];
  EXPECT_EQ(start.event, EventKind::kStart);
  EXPECT_EQ(start.src.ip, kClient);
  EXPECT_EQ(start.src.port, 40000);
  EXPECT_EQ(start.src.pod, "client");
  EXPECT_EQ(start.dst.pod, "server");
  EXPECT_EQ(start.generation, 1u);
  EXPECT_EQ(start.policies, (std::vector<PolicyRef>{{"default", "server-in", Direction::kIngress, 0}}));
  EXPECT_EQ(start.packets, 1u);
  EXPECT_EQ(start.bytes, to_server[0].size());
  EXPECT_EQ(start.tcp_flags_src, kSyn);
  const FlowRecord& end = out[1];
  EXPECT_EQ(end.event, EventKind::kEnd);
  EXPECT_EQ(end.flow_id, start.flow_id);
  EXPECT_EQ(end.end_reason, "closed");
  auto sum = [](const std::vector<std::vector<uint8_t>>& ps) {
    return std::accumulate(ps.begin(), ps.end(), uint64_t{0}, [](uint64_t a, const auto& p) { return a + p.size(); });
  };
  EXPECT_EQ(end.src_packets, to_server.size());
  EXPECT_EQ(end.src_bytes, sum(to_server));
  EXPECT_EQ(end.dst_packets, to_client.size());
  EXPECT_EQ(end.dst_bytes, sum(to_client));
  EXPECT_EQ(end.packets, to_server.size() + to_client.size());
  EXPECT_EQ(end.bytes, sum(to_server) + sum(to_client));
  EXPECT_EQ(end.tcp_flags_src, kSyn | kAck | kPsh | kFin);
  EXPECT_EQ(end.tcp_flags_dst, kSyn | kAck | kPsh | kFin);
  EXPECT_GE(end.end_time_ns, start.time_ns - 10'000'000);  // coarse clock: within a tick
  EXPECT_EQ(pipeline_->stats().flows_active, 0u);
}

TEST_F(PipelineTest, EachRecordNamesTheRuleOfItsOwnGeneration) {
  Program(Yaml("server-in", "[{protocol: UDP, port: 53}]"), 1);
  ASSERT_EQ(Run(Udp(kClient, 5000, kServer, 53, 20)), static_cast<uint32_t>(XDP_PASS));
  pipeline_->RunRound(false, false);
  // The policy is renamed, then deleted: the first records keep their names.
  Program(Yaml("dns", "[{protocol: UDP, port: 53}]"), 2);
  ASSERT_EQ(Run(Udp(kClient, 5001, kServer, 53, 20)), static_cast<uint32_t>(XDP_PASS));
  Program(PodYaml("default", "client", "app: client", kClient.str()) +
              PodYaml("default", "server", "app: server", kServer.str()) +
              PolicyYaml("default", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress]\n"),
          3);
  ASSERT_EQ(Run(Udp(kClient, 5002, kServer, 53, 20)), static_cast<uint32_t>(XDP_DROP));
  // The first connection's next packet is re-checked under generation 3: cut.
  ASSERT_EQ(Run(Udp(kServer, 53, kClient, 5000, 20)), static_cast<uint32_t>(XDP_DROP));
  pipeline_->RunRound(true, false);
  pipeline_->RunRound(false, false);  // the drop window closed
  auto out = out_.Take();
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].event, EventKind::kStart);
  EXPECT_EQ(out[0].generation, 1u);
  EXPECT_EQ(out[0].policies, (std::vector<PolicyRef>{{"default", "server-in", Direction::kIngress, 0}}));
  EXPECT_EQ(out[1].event, EventKind::kStart);
  EXPECT_EQ(out[1].src.port, 5001);
  EXPECT_EQ(out[1].generation, 2u);
  EXPECT_EQ(out[1].policies, (std::vector<PolicyRef>{{"default", "dns", Direction::kIngress, 0}}));
  // The cut connection ends as admitted (generation 1, server-in), with its one packet.
  EXPECT_EQ(out[2].event, EventKind::kEnd);
  EXPECT_EQ(out[2].end_reason, "revoked");
  EXPECT_EQ(out[2].src.port, 5000);
  EXPECT_EQ(out[2].generation, 1u);
  EXPECT_EQ(out[2].policies, out[0].policies);
  EXPECT_EQ(out[2].packets, 1u);
  // The drops (the new attempt, the cut reply) name generation 3's deny-all.
  for (const FlowRecord& d : {out[3], out[4]}) {
    EXPECT_EQ(d.event, EventKind::kDrop);
    EXPECT_EQ(d.generation, 3u);
    EXPECT_EQ(d.verdict, Verdict::kDenied);
    EXPECT_EQ(d.policies, (std::vector<PolicyRef>{{"default", "deny-all", Direction::kIngress, std::nullopt}}))
        << ToJson(d);
  }
  EXPECT_EQ(out[3].reason, reason::kDefaultDeny);
  EXPECT_EQ(out[3].src.port, 5002);
  EXPECT_EQ(out[4].reason, reason::kRevoked);
  EXPECT_EQ(out[4].src.port, 5000);  // written as the connection: client -> server, whose ingress cut it
  EXPECT_EQ(out[4].dst.port, 53);
  EXPECT_EQ(out[4].direction, Direction::kIngress);
  // Generation 2's connection is open: the last round's scan saw it, nothing ended it.
  EXPECT_EQ(pipeline_->stats().flows_active, 1u);
}

TEST_F(PipelineTest, AFullRingIsCountedAndTheLogSaysHowManyEventsItLost) {
  Load(4096);  // room for a few dozen events
  Program(Yaml("server-in", "[{protocol: TCP, port: 80}]"), 1);
  constexpr int kDrops = 500;
  for (int i = 0; i < kDrops; ++i) {
    ASSERT_EQ(Run(Udp(kClient, static_cast<uint16_t>(1000 + i), kServer, 81, 10)), static_cast<uint32_t>(XDP_DROP));
  }
  pipeline_->RunRound(false, false);
  pipeline_->RunRound(false, false);
  const auto out = out_.Take();
  uint64_t dropped = 0, lost = 0, lost_records = 0;
  for (const FlowRecord& r : out) {
    if (r.event == EventKind::kDrop) dropped += r.count;
    if (r.event == EventKind::kLost) {
      ++lost_records;
      lost += r.lost_events;
      EXPECT_EQ(r.lost_at, "ring-buffer");
      EXPECT_LE(r.since_ns, r.until_ns);
    }
  }
  const uint64_t counter = program_->ReadCounters()[NF_CNT_EVENTS_LOST];
  EXPECT_GT(counter, 0u);
  EXPECT_EQ(lost_records, 1u);
  EXPECT_EQ(lost, counter);
  EXPECT_EQ(dropped + lost, static_cast<uint64_t>(kDrops));
  EXPECT_EQ(pipeline_->stats().ring_lost, counter);
}

TEST_F(PipelineTest, AConnectionWhoseStartWasLostIsStillLogged) {
  Load(4096);
  Program(Yaml("server-in", "[{protocol: TCP, port: 80}, {protocol: UDP, port: 81}]"), 1);
  // Fill the ring with drops, then open a connection: its NEW_FLOW event does not fit.
  for (int i = 0; i < 200; ++i) Run(Udp(kClient, static_cast<uint16_t>(1000 + i), kServer, 82, 10));
  ASSERT_EQ(Run(Tcp(kClient, 40000, kServer, 80, kSyn)), static_cast<uint32_t>(XDP_PASS));
  pipeline_->RunRound(false, false);  // drains the ring: the connection's event is not in it
  usleep(100'000);                    // older than the scan's settle time
  pipeline_->RunRound(true, false);
  auto out = out_.Take();
  std::vector<FlowRecord> starts;
  for (const FlowRecord& r : out) {
    if (r.event == EventKind::kStart) starts.push_back(r);
  }
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].src.port, 40000);
  EXPECT_EQ(starts[0].generation, 1u);
  EXPECT_EQ(starts[0].policies, (std::vector<PolicyRef>{{"default", "server-in", Direction::kIngress, 0}}));
  EXPECT_EQ(starts[0].packets, 1u);
}

TEST_F(PipelineTest, StopWritesTheOpenDropsAndAnUpdateOfEveryConnectionWithNews) {
  Program(Yaml("server-in", "[{protocol: UDP, port: 53}]"), 1);
  ASSERT_EQ(Run(Udp(kClient, 5000, kServer, 53, 20)), static_cast<uint32_t>(XDP_PASS));
  pipeline_->RunRound(true, false);
  ASSERT_EQ(out_.Take().size(), 1u);  // the start
  ASSERT_EQ(Run(Udp(kServer, 53, kClient, 5000, 40)), static_cast<uint32_t>(XDP_PASS));
  pipeline_->Final();
  const auto out = out_.Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event, EventKind::kUpdate);
  EXPECT_EQ(out[0].packets, 2u);
  EXPECT_EQ(out[0].dst_packets, 1u);
  pipeline_->RunRound(true, true);  // finished: nothing more
  EXPECT_TRUE(out_.Take().empty());
}

TEST_F(PipelineTest, ARestartedAgentContinuesConnectionsNamedAsTheEarlierOneHandedThemOver) {
  testing::TempDir dir;
  StartPipeline(dir / "handover.jsonl");
  pipeline_->RunRound(true, false);
  Program(Yaml("server-in", "[{protocol: UDP, port: 53}]"), 1);
  ASSERT_EQ(Run(Udp(kClient, 5000, kServer, 53, 20)), static_cast<uint32_t>(XDP_PASS));
  pipeline_->RunRound(true, false);
  // Generation 2 renames the policy; the connection sends nothing, so it is not re-checked.
  Program(Yaml("dns", "[{protocol: UDP, port: 53}]"), 2);
  pipeline_->RunRound(true, false);
  pipeline_->Final();  // the agent stops
  const auto first = out_.Take();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].event, EventKind::kStart);

  // The next agent knows only the live generation 2; the connection's entry is generation 1's.
  StartPipeline(dir / "handover.jsonl");
  OnLive(1);
  pipeline_->RunRound(true, false);  // adopts
  EXPECT_EQ(pipeline_->stats().handed_over, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir / "handover.jsonl"));  // read once
  ASSERT_TRUE(program_->FlushConntrack().ok());                   // the entry vanishes: its end is written now
  usleep(100'000);                                                // older than the scan's settle time
  pipeline_->RunRound(true, false);
  const auto out = out_.Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event, EventKind::kEnd);
  EXPECT_EQ(out[0].end_reason, "evicted");
  EXPECT_EQ(out[0].flow_id, first[0].flow_id);
  EXPECT_EQ(out[0].generation, 1u);
  EXPECT_EQ(out[0].policies, first[0].policies);
  EXPECT_EQ(out[0].policies, (std::vector<PolicyRef>{{"default", "server-in", Direction::kIngress, 0}}));
  EXPECT_EQ(out[0].src.pod, "client");
  EXPECT_EQ(out[0].dst.pod, "server");
  EXPECT_EQ(out[0].community_id, first[0].community_id);
}

}  // namespace
}  // namespace netfence::flowlog
