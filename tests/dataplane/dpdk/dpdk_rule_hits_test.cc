// SPDX-License-Identifier: Apache-2.0
// Rule hit counters of both fast paths against an oracle: random clusters and packets (the
// differential's, with and without ClusterNetworkPolicy tiers), the expected count of every rule key computed from the
// user-space classifier's decisions (a direction decided by a rule counts that rule: allowed, or denied by a Deny
// rule), and the counters the XDP program (BPF_PROG_TEST_RUN) and the DPDK pipeline kept, read through
// FastPath::ReadRuleHits. With connection tracking, a connection counts once however many packets it carries.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <map>
#include <random>
#include <sstream>

#include "common/classifier/classifier.h"
#include "common/tables/rule_keys.h"
#include "controlplane/compiler/compiler.h"
#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "tests/dataplane/xdp/conntrack_fixture.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/dataplane/xdp/xdp_harness.h"
#include "tests/differential/random_cluster.h"

namespace netfence::dpdktest {
namespace {

using classifier::Decision;
using classifier::DirectionDecision;
using reference::Packet;

struct Counts {
  uint64_t allowed = 0, denied = 0;
  bool operator==(const Counts&) const = default;
};
using HitMap = std::map<uint64_t, Counts>;

// What the decision should add to the counters.
void Expect(const v1::RuleTables& tables, const Decision& d, HitMap* want) {
  for (const DirectionDecision* dir : {&d.egress, &d.ingress}) {
    if (!dir->by_rule()) continue;
    const uint64_t key = tables::TableRuleKeys(tables, static_cast<int>(dir->table)).at(dir->rule_bit);
    Counts& c = (*want)[key];
    (dir->outcome == classifier::Outcome::kAllowed ? c.allowed : c.denied)++;
  }
}

HitMap Read(const fastpath::FastPath& fp) {
  std::vector<fastpath::RuleHit> hits;
  EXPECT_TRUE(fp.ReadRuleHits(&hits).ok());
  HitMap out;
  for (const auto& h : hits) {
    EXPECT_GT(h.last_ns, 0u) << "key " << h.key << " counted without a time";
    out[h.key] = {h.allowed, h.denied};
  }
  return out;
}

std::string Diff(const HitMap& got, const HitMap& want) {
  std::ostringstream o;
  int shown = 0;
  for (const auto& [key, w] : want) {
    auto it = got.find(key);
    const Counts g = it == got.end() ? Counts{} : it->second;
    if (!(g == w) && shown++ < 10) {
      o << "  key " << key << ": allowed " << g.allowed << " denied " << g.denied << ", want " << w.allowed << " / "
        << w.denied << "\n";
    }
  }
  for (const auto& [key, g] : got) {
    if (!want.count(key) && shown++ < 10) o << "  key " << key << " counted, want nothing\n";
  }
  return o.str();
}

TEST(RuleHits, BothFastPathsCountWhatTheClassifierDecidedOnRandomClusters) {
  NETFENCE_REQUIRE_DPDK();
  NETFENCE_REQUIRE_BPF();
  constexpr int kClusters = 60, kPackets = 320;
  auto harness = Harness::Create(StatelessOptions());
  ASSERT_TRUE(harness.ok()) << harness.status().message();
  auto xdp = xdp::XdpProgram::Load(xdptest::StatelessOptions());
  ASSERT_TRUE(xdp.ok()) << xdp.status().message();
  xdptest::Harness xdp_run(**xdp);
  HitMap want;  // over every cluster: a key names (kind, namespace, name, direction, rule)
  uint64_t by_rule = 0, denied_by_rule = 0;
  for (uint64_t seed = 1; seed <= kClusters; ++seed) {
    std::mt19937_64 rng(seed);
    std::mt19937_64 wrap(seed * 31 + 7);
    // Every other cluster with ClusterNetworkPolicy tiers: Deny rules count denials.
    const k8s::ClusterState state = seed % 2 ? reference::RandomCluster(rng) : reference::RandomTieredCluster(rng);
    auto tables = std::make_shared<const v1::RuleTables>(compiler::Compile(state));
    auto oracle = classifier::Classifier::Load(tables);
    ASSERT_TRUE(oracle.ok()) << oracle.status().message();
    ASSERT_TRUE((*harness)->dp().Program(*tables).ok());
    ASSERT_TRUE((*xdp)->Program(*tables).ok());
    std::vector<std::vector<uint8_t>> frames;
    for (int i = 0; i < kPackets; ++i) {
      const Packet p = reference::RandomPacket(rng, state);
      const Decision d = (*oracle)->Classify({p.src, p.dst, p.proto, p.dport});
      Expect(*tables, d, &want);
      by_rule += d.egress.by_rule() + d.ingress.by_rule();
      denied_by_rule += (d.egress.outcome == classifier::Outcome::kDeniedByRule) +
                        (d.ingress.outcome == classifier::Outcome::kDeniedByRule);
      frames.push_back(xdptest::RandomEncapsulation(p.src, p.dst, p.proto, p.dport, wrap));
      ASSERT_TRUE(xdp_run.Run(frames.back()).ok);
    }
    (*harness)->Run(frames, 0, static_cast<uint32_t>(seed % 64 + 1));
  }
  const HitMap from_xdp = Read(**xdp), from_dpdk = Read((*harness)->dp());
  EXPECT_EQ(Diff(from_xdp, want), "") << "XDP against the classifier";
  EXPECT_EQ(Diff(from_dpdk, want), "") << "DPDK against the classifier";
  EXPECT_EQ((*xdp)->ReadCounters()[NF_CNT_RULE_HITS_LOST], 0u);
  std::cout << "[rule hits] " << kClusters * kPackets << " packets, " << by_rule << " decisions by a rule ("
            << denied_by_rule << " by a Deny rule) over " << want.size() << " rules\n";
  // The clusters exercise rules, Deny rules among them (figures of the seeds above: thresholds
  // well below them, so that a generator change that stops exercising them is noticed).
  EXPECT_GT(by_rule, static_cast<uint64_t>(kClusters * kPackets / 8));
  EXPECT_GT(denied_by_rule, 100u);
  EXPECT_GT(want.size(), 100u);
}

// With connection tracking: three datagrams of one UDP flow are one connection, a second
// source port another; the rule that allowed them counts 2 in both fast paths.
TEST(RuleHits, ConnectionsCountOncePerConnection) {
  NETFENCE_REQUIRE_DPDK();
  NETFENCE_REQUIRE_BPF();
  auto harness = Harness::Create(StatefulOptions());
  ASSERT_TRUE(harness.ok()) << harness.status().message();
  auto xdp = xdp::XdpProgram::Load(xdptest::StatefulOptions());
  ASSERT_TRUE(xdp.ok()) << xdp.status().message();
  xdptest::Harness xdp_run(**xdp);
  for (uint64_t seed = 1; seed < 200; ++seed) {
    std::mt19937_64 rng(seed);
    const k8s::ClusterState state = reference::RandomCluster(rng);
    auto tables = std::make_shared<const v1::RuleTables>(compiler::Compile(state));
    auto oracle = classifier::Classifier::Load(tables);
    ASSERT_TRUE(oracle.ok());
    for (int i = 0; i < 200; ++i) {
      Packet p = reference::RandomPacket(rng, state);
      const Decision d = (*oracle)->Classify({p.src, p.dst, 17, p.dport});
      if (!d.allowed() || !(d.egress.by_rule() || d.ingress.by_rule()) || p.src.is_v4() != p.dst.is_v4() ||
          !p.src.is_v4()) {
        continue;
      }
      ASSERT_TRUE((*harness)->dp().Program(*tables).ok());
      ASSERT_TRUE((*xdp)->Program(*tables).ok());
      HitMap want;
      Expect(*tables, d, &want);
      Expect(*tables, d, &want);
      for (uint16_t sport : {40000, 40000, 40000, 40001}) {
        const auto frame = xdptest::Udp(p.src, sport, p.dst, p.dport);
        EXPECT_EQ(xdp_run.Run(frame).action, static_cast<uint32_t>(XDP_PASS));
        EXPECT_EQ((*harness)->RunOne(frame).action, XDP_PASS);
      }
      EXPECT_EQ(Diff(Read(**xdp), want), "") << "XDP, seed " << seed << ": " << p.str();
      EXPECT_EQ(Diff(Read((*harness)->dp()), want), "") << "DPDK, seed " << seed << ": " << p.str();
      return;
    }
  }
  FAIL() << "no random cluster had a UDP flow allowed by a rule";
}

}  // namespace
}  // namespace netfence::dpdktest
