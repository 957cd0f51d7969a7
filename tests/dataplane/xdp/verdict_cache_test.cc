// SPDX-License-Identifier: Apache-2.0
// The verdict cache of the XDP program (verdict_cache, xdp/netfence.bpf.c nf_classify), by
// BPF_PROG_TEST_RUN: a question asked again is answered from the cache with the verdict,
// table and rule bit the tables give; an answer is never reused under another generation or
// another pod CIDR guard; with the cache off, nothing is cached and the verdicts are the same.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/dataplane/xdp/xdp_harness.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::xdptest {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;

const IpAddr kClient = *IpAddr::Parse("10.0.0.2");
const IpAddr kServer = *IpAddr::Parse("10.0.0.1");

// The server takes TCP `port` from the client (rules before it take other ports, so the
// rule bit reported is not 0).
v1::RuleTables Tables(int port, uint64_t generation) {
  const std::string spec =
      "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
      "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{protocol: TCP, port: 7}]\n"
      "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{protocol: TCP, port: " +
      std::to_string(port) + "}]\n";
  testing::Cluster c(PodYaml("default", "client", "app: client", kClient.str()) +
                     PodYaml("default", "server", "app: server", kServer.str()) +
                     PolicyYaml("default", "server-in", spec));
  v1::RuleTables t = c.tables();
  t.set_generation(generation);
  return t;
}

std::vector<uint8_t> Syn(uint16_t sport, uint16_t dport) {
  return PacketBuilder().Ipv4(kClient, kServer).TcpFlags(0x02).Tcp(dport, sport).Build();
}

class VerdictCacheTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    NETFENCE_REQUIRE_BPF();
    xdp::LoadOptions o = StatelessOptions();
    o.verdict_cache = GetParam();
    auto loaded = xdp::XdpProgram::Load(o);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    program_ = std::move(loaded).value();
    harness_ = std::make_unique<Harness>(*program_);
  }
  void Program(int port, uint64_t generation) {
    Status s = program_->Program(Tables(port, generation));
    ASSERT_TRUE(s.ok()) << s.message();
  }
  uint64_t Hits() const { return program_->ReadCounters()[NF_CNT_VERDICT_HIT]; }
  uint64_t Misses() const { return program_->ReadCounters()[NF_CNT_VERDICT_MISS]; }
  bool cached() const { return GetParam(); }

  std::unique_ptr<xdp::XdpProgram> program_;
  std::unique_ptr<Harness> harness_;
};

TEST_P(VerdictCacheTest, ARepeatedQuestionGetsTheTablesAnswer) {
  Program(80, 1);
  const RunResult first = harness_->Run(Syn(40000, 80));
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_EQ(first.action, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(first.decision.verdict.ingress_outcome, static_cast<uint32_t>(NF_ALLOWED));
  EXPECT_EQ(first.decision.verdict.ingress_rule, 1u);  // the port-80 rule, after the port-7 one
  // Both directions decided over the tables (the client's egress: not isolated), then cached.
  EXPECT_EQ(Misses(), cached() ? 1u : 0u);
  EXPECT_EQ(Hits(), 0u);

  for (uint16_t sport = 40001; sport < 40011; ++sport) {  // new connections, the same question
    const RunResult again = harness_->Run(Syn(sport, 80));
    ASSERT_TRUE(again.ok) << again.error;
    EXPECT_EQ(again.action, static_cast<uint32_t>(XDP_PASS));
    EXPECT_EQ(again.decision.verdict.ingress_outcome, first.decision.verdict.ingress_outcome);
    EXPECT_EQ(again.decision.verdict.ingress_table, first.decision.verdict.ingress_table);
    EXPECT_EQ(again.decision.verdict.ingress_rule, first.decision.verdict.ingress_rule);
    EXPECT_EQ(again.decision.verdict.egress_outcome, static_cast<uint32_t>(NF_NOT_ISOLATED));
    EXPECT_EQ(again.decision.verdict.egress_table, 0u);
  }
  EXPECT_EQ(Hits(), cached() ? 10u : 0u);
  EXPECT_EQ(Misses(), cached() ? 1u : 0u);

  // Another port is another question: denied, and its denial is cached too.
  for (int i = 0; i < 2; ++i) {
    const RunResult denied = harness_->Run(Syn(40000, 81));
    ASSERT_TRUE(denied.ok) << denied.error;
    EXPECT_EQ(denied.action, static_cast<uint32_t>(XDP_DROP));
    EXPECT_EQ(denied.decision.drop_reason, static_cast<uint32_t>(NF_DROP_POLICY));
    EXPECT_EQ(denied.decision.verdict.ingress_outcome, static_cast<uint32_t>(NF_DENIED));
    EXPECT_EQ(denied.decision.verdict.ingress_table, first.decision.verdict.ingress_table);
  }
  EXPECT_EQ(Misses(), cached() ? 2u : 0u);
  EXPECT_EQ(Hits(), cached() ? 11u : 0u);
}

TEST_P(VerdictCacheTest, AnAnswerIsNeverReusedUnderAnotherGeneration) {
  Program(80, 1);
  EXPECT_EQ(harness_->Run(Syn(40000, 80)).action, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(harness_->Run(Syn(40001, 80)).action, static_cast<uint32_t>(XDP_PASS));  // from the cache
  Program(443, 2);                                                                   // port 80 no longer allowed
  RunResult r = harness_->Run(Syn(40002, 80));
  EXPECT_EQ(r.action, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(r.decision.verdict.ingress_outcome, static_cast<uint32_t>(NF_DENIED));
  r = harness_->Run(Syn(40003, 443));
  EXPECT_EQ(r.action, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(r.decision.verdict.ingress_rule, 1u);
  Program(80, 3);  // the first tables again, as a new generation: asked afresh, same answer
  const uint64_t misses = Misses();
  r = harness_->Run(Syn(40004, 80));
  EXPECT_EQ(r.action, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(r.decision.verdict.ingress_rule, 1u);
  EXPECT_EQ(Misses(), cached() ? misses + 1 : 0u);
  EXPECT_EQ(harness_->Run(Syn(40005, 443)).action, static_cast<uint32_t>(XDP_DROP));
}

TEST_P(VerdictCacheTest, AnAnswerIsNeverReusedUnderAnotherPodCidrGuard) {
  Program(80, 1);
  // To an address no pod holds: the client's egress is not isolated, so it passes...
  const IpAddr nobody = *IpAddr::Parse("10.0.0.50");
  const auto to_nobody = PacketBuilder().Ipv4(kClient, nobody).TcpFlags(0x02).Tcp(80, 40000).Build();
  EXPECT_EQ(harness_->Run(to_nobody).action, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(harness_->Run(to_nobody).action, static_cast<uint32_t>(XDP_PASS));  // from the cache
  // ...until the node's pod CIDR covers it: then no local pod holds it, and it is unreachable.
  ASSERT_TRUE(program_->SetPodCidrs({*IpPrefix::Parse("10.0.0.0/24")}, {}).ok());
  RunResult r = harness_->Run(to_nobody);
  EXPECT_EQ(r.action, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(r.decision.drop_reason, static_cast<uint32_t>(NF_DROP_UNREGISTERED));
  ASSERT_TRUE(program_->SetPodCidrs({}, {}).ok());
  EXPECT_EQ(harness_->Run(to_nobody).action, static_cast<uint32_t>(XDP_PASS));
  // Tables programmed after keep the guard's version: the pod CIDR guard holds across them.
  ASSERT_TRUE(program_->SetPodCidrs({*IpPrefix::Parse("10.0.0.0/24")}, {}).ok());
  Program(80, 2);
  r = harness_->Run(to_nobody);
  EXPECT_EQ(r.action, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(r.decision.drop_reason, static_cast<uint32_t>(NF_DROP_UNREGISTERED));
}

INSTANTIATE_TEST_SUITE_P(CacheOnAndOff, VerdictCacheTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "On" : "Off"; });

}  // namespace
}  // namespace netfence::xdptest
