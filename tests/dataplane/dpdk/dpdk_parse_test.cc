// SPDX-License-Identifier: Apache-2.0
// The pipeline's parsing (the XDP program's parser compiled for user space): every parse path
// and malformed case with its drop reason and counter, fragments, and fail-closed programming.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstring>

#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::dpdktest {
namespace {

using xdptest::PacketBuilder;

IpAddr Ip(const char* text) { return *IpAddr::Parse(text); }

const IpAddr kServer4 = Ip("10.0.0.1"), kClient4 = Ip("10.0.0.2"), kAdmin4 = Ip("10.0.0.3");
const IpAddr kServer6 = Ip("fd00::1"), kClient6 = Ip("fd00::2"), kAdmin6 = Ip("fd00::3");

class DpdkParseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETFENCE_REQUIRE_DPDK();
    cluster_ = std::make_unique<testing::Cluster>(xdptest::ParseTestClusterYaml());
    auto h = Harness::Create(StatelessOptions());
    ASSERT_TRUE(h.ok()) << h.status().message();
    harness_ = std::move(h).value();
    ASSERT_TRUE(harness_->dp().Program(cluster_->tables()).ok());
  }

  // Runs `frame`; expects `action` and, for a drop, one more count under `reason` and no other.
  DpdkRun Expect(const std::vector<uint8_t>& frame, uint32_t action, int reason = -1) {
    const auto before = harness_->dp().ReadDropReasons();
    const DpdkRun r = harness_->RunOne(frame);
    EXPECT_EQ(r.action, action);
    EXPECT_EQ(r.decision.action, action);
    const auto after = harness_->dp().ReadDropReasons();
    for (int i = 0; i < NF_DROP_REASONS; ++i) {
      EXPECT_EQ(after[i] - before[i], i == reason ? 1u : 0u) << "drop reason " << i;
    }
    if (reason >= 0) {
      EXPECT_EQ(r.decision.drop_reason, static_cast<uint32_t>(reason));
    }
    return r;
  }
  void ExpectFlow(const std::vector<uint8_t>& frame, const IpAddr& src, const IpAddr& dst, uint8_t proto,
                  uint16_t dport, bool allowed) {
    const DpdkRun r = Expect(frame, allowed ? XDP_PASS : XDP_DROP, allowed ? -1 : NF_DROP_POLICY);
    EXPECT_EQ(r.decision.parsed, 1u);
    EXPECT_EQ(r.decision.proto, proto);
    EXPECT_EQ(r.decision.dport, dport);
    EXPECT_EQ(0, std::memcmp(r.decision.src, src.bytes.data(), 16));
    EXPECT_EQ(0, std::memcmp(r.decision.dst, dst.bytes.data(), 16));
    const auto want = cluster_->classifier().Classify({src, dst, proto, dport});
    EXPECT_EQ(want.allowed(), allowed) << "the test's expectation disagrees with the classifier";
    EXPECT_EQ(r.decision.verdict.ingress_outcome, static_cast<uint32_t>(want.ingress.outcome));
    EXPECT_EQ(r.decision.verdict.ingress_rule, want.ingress.rule_bit);
  }

  std::unique_ptr<testing::Cluster> cluster_;
  std::unique_ptr<Harness> harness_;
};

TEST_F(DpdkParseTest, ProtocolsOfBothFamilies) {
  ExpectFlow(PacketBuilder().Ipv4(kClient4, kServer4).Tcp(80).Build(), kClient4, kServer4, 6, 80, true);
  ExpectFlow(PacketBuilder().Ipv4(kClient4, kServer4).Tcp(81).Build(), kClient4, kServer4, 6, 81, false);
  ExpectFlow(PacketBuilder().Ipv4(kClient4, kServer4).Udp(53).Build(), kClient4, kServer4, 17, 53, true);
  ExpectFlow(PacketBuilder().Ipv4(kClient4, kServer4).Sctp(9090).Build(), kClient4, kServer4, 132, 9090, true);
  ExpectFlow(PacketBuilder().Ipv4(kClient4, kServer4).Icmp().Build(), kClient4, kServer4, 1, 0, false);
  ExpectFlow(PacketBuilder().Ipv4(kAdmin4, kServer4).Proto(47).Build(), kAdmin4, kServer4, 47, 0, true);
  ExpectFlow(PacketBuilder().Ipv6(kClient6, kServer6).Tcp(8080).Build(), kClient6, kServer6, 6, 8080, false);
  ExpectFlow(PacketBuilder().Ipv6(kClient6, kServer6).Sctp(9090).Build(), kClient6, kServer6, 132, 9090, true);
  ExpectFlow(PacketBuilder().Ipv6(kAdmin6, kServer6).Icmp().Build(), kAdmin6, kServer6, 58, 0, true);
}

TEST_F(DpdkParseTest, VlanOptionsAndExtensionHeaders) {
  ExpectFlow(PacketBuilder().Vlan(100, 0x88A8).Vlan(200).Ipv4(kClient4, kServer4).Tcp(81).Build(), kClient4, kServer4,
             6, 81, false);
  Expect(PacketBuilder().Vlan(1).Vlan(2).Vlan(3).Ipv4(kClient4, kServer4).Tcp(80).Build(), XDP_DROP,
         NF_DROP_VLAN_DEPTH);
  auto truncated = PacketBuilder().Vlan(1).Ipv4(kClient4, kServer4).Tcp(80).Build();
  truncated.resize(16);
  Expect(truncated, XDP_DROP, NF_DROP_VLAN_TRUNC);
  for (int words = 1; words <= 10; ++words) {
    ExpectFlow(PacketBuilder().Ipv4(kClient4, kServer4).Ipv4Options(words).Tcp(80).Build(), kClient4, kServer4, 6, 80,
               true);
  }
  PacketBuilder six, seven;
  six.Ipv6(kClient6, kServer6);
  seven.Ipv6(kClient6, kServer6);
  for (uint8_t type : {0, 60, 43, 44, 51, 60}) six.Ipv6Ext(type), seven.Ipv6Ext(type);
  ExpectFlow(six.Sctp(9091).Build(), kClient6, kServer6, 132, 9091, false);
  Expect(seven.Ipv6Ext(60).Tcp(80).Build(), XDP_DROP, NF_DROP_IP6_EXT_DEPTH);
}

TEST_F(DpdkParseTest, NonIpPassesAndShortFramesDrop) {
  for (uint16_t type : {0x0806, 0x88CC, 0x0000})
    EXPECT_EQ(Expect(PacketBuilder().EtherType(type).Build(), XDP_PASS).decision.parsed, 0u);
  // A pipeline sees frames shorter than Ethernet that no XDP test run can give it.
  const auto good = PacketBuilder().Ipv4(kClient4, kServer4).Tcp(80).Build();
  for (size_t n : {0, 1, 6, 13}) {
    Expect(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(n)), XDP_DROP, NF_DROP_ETH_TRUNC);
  }
}

TEST_F(DpdkParseTest, TruncatedAndMalformed) {
  PacketBuilder b4;
  const auto good4 = b4.Ipv4(kClient4, kServer4).Tcp(80).Build();
  const size_t l3 = b4.l3_offset();
  auto cut = [](std::vector<uint8_t> p, size_t n) {
    p.resize(n);
    return p;
  };
  auto edit = [](std::vector<uint8_t> p, size_t at, uint8_t v) {
    p[at] = v;
    return p;
  };
  Expect(cut(good4, l3 + 10), XDP_DROP, NF_DROP_IP4_TRUNC);
  Expect(edit(good4, l3, 0x44), XDP_DROP, NF_DROP_IP4_IHL);
  Expect(edit(good4, l3, 0x55), XDP_DROP, NF_DROP_IP4_VERSION);
  Expect(edit(edit(good4, l3 + 2, 0), l3 + 3, 19), XDP_DROP, NF_DROP_IP4_LEN);
  Expect(cut(good4, good4.size() - 1), XDP_DROP, NF_DROP_IP4_TRUNC);
  Expect(PacketBuilder().Ipv4(kClient4, kServer4).Tcp(80).TruncateL4(19).Build(), XDP_DROP, NF_DROP_L4_TRUNC);
  PacketBuilder tcp;
  auto doff = tcp.Ipv4(kClient4, kServer4).Tcp(80).Build();
  Expect(edit(doff, tcp.l4_offset() + 12, 4 << 4), XDP_DROP, NF_DROP_TCP_DOFF);
  PacketBuilder b6;
  const auto good6 = b6.Ipv6(kClient6, kServer6).Tcp(80).Build();
  Expect(edit(good6, b6.l3_offset(), 0x40), XDP_DROP, NF_DROP_IP6_VERSION);
  Expect(edit(good6, b6.l3_offset() + 4, 0x10), XDP_DROP, NF_DROP_IP6_TRUNC);
  Expect(PacketBuilder().Ipv6(Ip("::ffff:10.0.0.3"), kServer6).Icmp().Build(), XDP_DROP, NF_DROP_IP6_V4MAPPED);
  PacketBuilder ext;
  auto ext6 = ext.Ipv6(kClient6, kServer6).Ipv6Ext(0).Tcp(80).Build();
  Expect(edit(ext6, ext.l3_offset() + 41, 200), XDP_DROP, NF_DROP_IP6_EXT_TRUNC);
}

TEST_F(DpdkParseTest, LaterFragmentsFollowTheirFirstFragment) {
  const auto later = PacketBuilder().Ipv4(kClient4, kServer4).Ipv4Fragment(100, false).Tcp(80).Build();
  Expect(later, XDP_DROP, NF_DROP_IP4_FRAGMENT);
  Expect(PacketBuilder().Ipv4(kClient4, kServer4).Ipv4Fragment(0, true).Tcp(81).Build(), XDP_DROP, NF_DROP_POLICY);
  Expect(later, XDP_DROP, NF_DROP_IP4_FRAGMENT);
  Expect(PacketBuilder().Ipv4(kClient4, kServer4).Ipv4Fragment(0, true).Tcp(80).Build(), XDP_PASS);
  EXPECT_EQ(Expect(later, XDP_PASS).decision.path, static_cast<uint32_t>(NF_CNT_PASS_FRAGMENT));
  Expect(PacketBuilder().Ipv4(kServer4, kClient4).Ipv4Fragment(100, false).Tcp(80).Build(), XDP_DROP,
         NF_DROP_IP4_FRAGMENT);
  const auto later6 = PacketBuilder().Ipv6(kClient6, kServer6).Ipv6Ext(44, 100).Udp(53).Build();
  Expect(later6, XDP_DROP, NF_DROP_IP6_FRAGMENT);
  Expect(PacketBuilder().Ipv6(kClient6, kServer6).Ipv6Ext(44).Udp(53).Build(), XDP_PASS);
  Expect(later6, XDP_PASS);
}

TEST_F(DpdkParseTest, NothingProgrammedDropsIpAndPassesTheRest) {
  auto fresh = Harness::Create(StatelessOptions());
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ((*fresh)->dp().live_generation(), 0u);
  const DpdkRun ip = (*fresh)->RunOne(PacketBuilder().Ipv4(kClient4, kServer4).Tcp(80).Build());
  EXPECT_EQ(ip.action, XDP_DROP);
  EXPECT_EQ(ip.decision.drop_reason, static_cast<uint32_t>(NF_DROP_NO_TABLES));
  EXPECT_EQ((*fresh)->dp().ReadDropReasons()[NF_DROP_NO_TABLES], 1u);
  EXPECT_EQ((*fresh)->RunOne(PacketBuilder().EtherType(0x0806).Build()).action, XDP_PASS);
  // Damaged tables are refused and the live ones stay.
  ASSERT_TRUE((*fresh)->dp().Program(cluster_->tables()).ok());
  v1::RuleTables bad = cluster_->tables();
  bad.set_generation(99);
  bad.mutable_tables(0)->set_row_words(bad.tables(0).row_words() + 1);
  EXPECT_FALSE((*fresh)->dp().Program(bad).ok());
  EXPECT_EQ((*fresh)->dp().live_generation(), cluster_->tables().generation());
  EXPECT_EQ((*fresh)->RunOne(PacketBuilder().Ipv4(kClient4, kServer4).Tcp(80).Build()).action, XDP_PASS);
}

}  // namespace
}  // namespace netfence::dpdktest
