// SPDX-License-Identifier: Apache-2.0
// Randomly damaged packets: whatever the bytes, the program either passes a non-IP frame,
// drops a malformed one under a parse reason, or classifies exactly as the classifier does
// on the flow key it parsed.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>

#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/dataplane/xdp/xdp_harness.h"
#include "tests/differential/random_cluster.h"

namespace netfence::xdptest {
namespace {

TEST(XdpMutation, DamagedPacketsAreDroppedOrClassifiedConsistently) {
  NETFENCE_REQUIRE_BPF();
  int parsed = 0, dropped_malformed = 0, passed_non_ip = 0, unclassified = 0, runs = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::mt19937_64 rng(seed);
    const k8s::ClusterState state = reference::RandomCluster(rng);
    auto tables = std::make_shared<const v1::RuleTables>(compiler::Compile(state));
    auto oracle = classifier::Classifier::Load(tables);
    ASSERT_TRUE(oracle.ok()) << oracle.status().message();
    auto program = xdp::XdpProgram::Load(StatelessOptions());
    ASSERT_TRUE(program.ok()) << program.status().message();
    ASSERT_TRUE((*program)->Program(*tables).ok());
    Harness harness(**program);
    for (int i = 0; i < 2000; ++i) {
      const reference::Packet p = reference::RandomPacket(rng, state);
      PacketBuilder b;
      if (rng() % 4 == 0) b.Vlan(static_cast<uint16_t>(rng() % 4096));
      b.Ip(p.src, p.dst);
      if (!p.src.is_v4() && rng() % 3 == 0) b.Ipv6Ext(static_cast<uint8_t>(rng() % 2 ? 0 : 44));
      std::vector<uint8_t> bytes = b.Proto(p.proto, p.dport).Build();
      const size_t header_end = b.l4_offset() + 8;
      for (uint64_t n = rng() % 4; n > 0; --n) {
        bytes[rng() % std::min(bytes.size(), header_end)] = static_cast<uint8_t>(rng());
      }
      if (rng() % 4 == 0) bytes.resize(14 + rng() % (bytes.size() - 13));
      const RunResult r = harness.Run(bytes);
      ++runs;
      ASSERT_TRUE(r.ok) << r.error;
      ASSERT_TRUE(r.action == XDP_PASS || r.action == XDP_DROP) << r.action;
      const nf_decision& d = r.decision;
      if (!d.parsed) {
        if (r.action == XDP_PASS) {
          ++passed_non_ip;
        } else {
          ++dropped_malformed;
          EXPECT_NE(d.drop_reason, static_cast<uint32_t>(NF_DROP_POLICY));
          EXPECT_LT(d.drop_reason, static_cast<uint32_t>(NF_DROP_REASON_COUNT));
        }
        continue;
      }
      if (d.path == NF_CNT_PASS_FRAGMENT || d.path == NF_CNT_PASS_NDP ||
          (d.path == NF_CNT_DROP && (d.drop_reason == NF_DROP_IP4_FRAGMENT || d.drop_reason == NF_DROP_IP6_FRAGMENT))) {
        ++unclassified;  // later fragments and neighbour discovery are not classified
        continue;
      }
      ++parsed;
      classifier::FlowKey key;
      std::memcpy(key.src.bytes.data(), d.src, 16);
      std::memcpy(key.dst.bytes.data(), d.dst, 16);
      key.proto = static_cast<uint8_t>(d.proto);
      key.dport = static_cast<uint16_t>(d.dport);
      const classifier::Decision want = (*oracle)->Classify(key);
      EXPECT_EQ(r.action, want.allowed() ? XDP_PASS : XDP_DROP) << "seed " << seed << " packet " << i;
      EXPECT_EQ(d.verdict.egress_outcome, static_cast<uint32_t>(want.egress.outcome))
          << "seed " << seed << " packet " << i;
      EXPECT_EQ(d.verdict.ingress_outcome, static_cast<uint32_t>(want.ingress.outcome))
          << "seed " << seed << " packet " << i;
      EXPECT_EQ(d.verdict.egress_rule, want.egress.rule_bit);
      EXPECT_EQ(d.verdict.ingress_rule, want.ingress.rule_bit);
    }
  }
  std::cout << "[xdp mutation] " << runs << " damaged packets: " << parsed << " classified, " << dropped_malformed
            << " dropped as malformed, " << passed_non_ip << " passed as non-IP, " << unclassified
            << " later fragments or neighbour discovery\n";
  EXPECT_GT(parsed, runs / 4);
  EXPECT_GT(dropped_malformed, runs / 20);
}

}  // namespace
}  // namespace netfence::xdptest
