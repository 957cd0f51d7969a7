// SPDX-License-Identifier: Apache-2.0
// Differential test of the DPDK pipeline: the random clusters and packets of the XDP
// differential (tests/differential/random_cluster.h), in random encapsulations (VLAN tags,
// IPv4 options, IPv6 extension headers), decided in bursts of mbufs by a pipeline lane, by the
// user-space classifier and by the XDP program (BPF_PROG_TEST_RUN) on the same compiled
// tables. Verdict, each direction's outcome, table and rule bit, and the parsed flow key must
// agree with the classifier; the whole decision record must equal XDP's, field for field.
//
//   NETFENCE_DPDK_SEED=N  run only cluster N (replay a failure)
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>

#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"
#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "tests/dataplane/dpdk/record_diff.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/dataplane/xdp/xdp_harness.h"
#include "tests/differential/audit_tables.h"
#include "tests/differential/cluster_dump.h"
#include "tests/differential/random_cluster.h"

namespace netfence::dpdktest {
namespace {

using classifier::Decision;
using reference::Packet;
using xdptest::PacketBuilder;

constexpr int kClusters = 320;
constexpr int kPacketsPerCluster = 320;  // 102,400 packets
constexpr int kMaxReports = 5;

std::string Text(uint32_t outcome, uint32_t table, uint32_t rule) {
  static const char* kNames[] = {"not isolated", "allowed", "denied", "denied by rule"};
  std::ostringstream o;
  o << (outcome < 4 ? kNames[outcome] : "bad outcome") << " table " << table << " rule " << rule;
  return o.str();
}

// Empty when the pipeline agrees with the classifier on `p`; else what differs.
std::string AgainstClassifier(const Packet& p, const Decision& want, const DpdkRun& got) {
  std::string diff;
  const uint32_t want_action = want.allowed() ? XDP_PASS : XDP_DROP;
  const nf_decision& d = got.decision;
  if (got.action != want_action) {
    diff += "  action " + std::to_string(got.action) + ", want " + std::to_string(want_action) + "\n";
  }
  const std::string e = Text(d.verdict.egress_outcome, d.verdict.egress_table, d.verdict.egress_rule);
  const std::string i = Text(d.verdict.ingress_outcome, d.verdict.ingress_table, d.verdict.ingress_rule);
  const std::string we = Text(static_cast<uint32_t>(want.egress.outcome), want.egress.table, want.egress.rule_bit);
  const std::string wi = Text(static_cast<uint32_t>(want.ingress.outcome), want.ingress.table, want.ingress.rule_bit);
  if (e != we) diff += "  egress: dpdk " + e + ", classifier " + we + "\n";
  // The audited decisions (the same tables as the enforced ones).
  const std::string ae = Text(d.verdict.audit_egress_outcome, d.verdict.egress_table, d.verdict.audit_egress_rule);
  const std::string ai = Text(d.verdict.audit_ingress_outcome, d.verdict.ingress_table, d.verdict.audit_ingress_rule);
  const std::string wae =
      Text(static_cast<uint32_t>(want.audit_egress.outcome), want.audit_egress.table, want.audit_egress.rule_bit);
  const std::string wai =
      Text(static_cast<uint32_t>(want.audit_ingress.outcome), want.audit_ingress.table, want.audit_ingress.rule_bit);
  if (ae != wae) diff += "  audit egress: dpdk " + ae + ", classifier " + wae + "\n";
  if (ai != wai) diff += "  audit ingress: dpdk " + ai + ", classifier " + wai + "\n";
  if (i != wi) diff += "  ingress: dpdk " + i + ", classifier " + wi + "\n";
  if (d.parsed != 1 || d.proto != p.proto || d.dport != p.dport || std::memcmp(d.src, p.src.bytes.data(), 16) != 0 ||
      std::memcmp(d.dst, p.dst.bytes.data(), 16) != 0) {
    diff += "  parsed flow key differs (proto " + std::to_string(d.proto) + " dport " + std::to_string(d.dport) + ")\n";
  }
  return diff;
}

TEST(DpdkDifferential, AgreesWithClassifierAndXdpOnRandomClusters) {
  NETFENCE_REQUIRE_DPDK();
  NETFENCE_REQUIRE_BPF();
  const char* only = std::getenv("NETFENCE_DPDK_SEED");
  const uint64_t first = only != nullptr ? std::strtoull(only, nullptr, 10) : 1;
  const int clusters = only != nullptr ? 1 : kClusters;
  const auto start = std::chrono::steady_clock::now();
  auto harness = Harness::Create(StatelessOptions());
  ASSERT_TRUE(harness.ok()) << harness.status().message();
  auto xdp = xdp::XdpProgram::Load(xdptest::StatelessOptions());
  ASSERT_TRUE(xdp.ok()) << xdp.status().message();
  xdptest::Harness xdp_run(**xdp);
  int reports = 0, packets = 0, allowed = 0, by_outcome[2][3] = {};
  uint64_t cache_hits = 0;
  for (int c = 0; c < clusters && reports < kMaxReports; ++c) {
    const uint64_t seed = first + static_cast<uint64_t>(c);
    std::mt19937_64 rng(seed);
    std::mt19937_64 wrap(seed * 0x9E3779B97F4A7C15ull + 1);
    const k8s::ClusterState state = reference::RandomCluster(rng);
    auto compiled = std::make_shared<v1::RuleTables>(compiler::Compile(state));
    std::shared_ptr<const v1::RuleTables> tables = compiled;
    auto oracle = classifier::Classifier::Load(tables);
    ASSERT_TRUE(oracle.ok()) << "seed " << seed << ": " << oracle.status().message();
    // Each cluster is a new generation of the same pipeline and program.
    ASSERT_TRUE((*harness)->dp().Program(*tables).ok());
    ASSERT_TRUE((*xdp)->Program(*tables).ok());
    std::vector<Packet> sent;
    std::vector<std::vector<uint8_t>> frames;
    for (int i = 0; i < kPacketsPerCluster; ++i) {
      sent.push_back(reference::RandomPacket(rng, state));
      frames.push_back(
          xdptest::RandomEncapsulation(sent.back().src, sent.back().dst, sent.back().proto, sent.back().dport, wrap));
    }
    // Bursts of every size from 1 to 64.
    const uint32_t burst = static_cast<uint32_t>(seed % 64 + 1);
    const std::vector<DpdkRun> got = (*harness)->Run(frames, 0, burst, /*chain=*/seed % 2 == 0);
    // The same frames again: each question is asked again, answered by the worker's verdict
    // cache (verdict_cache.h), which must answer as the tables did.
    const uint64_t hits_before = (*harness)->dp().ReadCounters()[NF_CNT_VERDICT_HIT];
    const std::vector<DpdkRun> cached = (*harness)->Run(frames, 0, burst);
    cache_hits += (*harness)->dp().ReadCounters()[NF_CNT_VERDICT_HIT] - hits_before;
    std::string report;
    for (int i = 0; i < kPacketsPerCluster; ++i) {
      const Packet& p = sent[static_cast<size_t>(i)];
      const Decision want = (*oracle)->Classify({p.src, p.dst, p.proto, p.dport});
      ++packets;
      allowed += want.allowed();
      ++by_outcome[0][static_cast<int>(want.egress.outcome)];
      ++by_outcome[1][static_cast<int>(want.ingress.outcome)];
      std::string diff = AgainstClassifier(p, want, got[static_cast<size_t>(i)]);
      if (std::string again = AgainstClassifier(p, want, cached[static_cast<size_t>(i)]); !again.empty()) {
        diff += "asked again (verdict cache): " + again;
      }
      const xdptest::RunResult x = xdp_run.Run(frames[static_cast<size_t>(i)]);
      diff += RecordDiff(got[static_cast<size_t>(i)], x);
      if (!diff.empty() && report.size() < 4000) report += "packet " + std::to_string(i) + ": " + p.str() + "\n" + diff;
    }
    if (!report.empty()) {
      ++reports;
      ADD_FAILURE() << "seed " << seed << " (replay: NETFENCE_DPDK_SEED=" << seed << ")\n"
                    << report << "cluster:\n"
                    << reference::DescribeCluster(state);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[dpdk differential] " << clusters << " clusters, " << packets << " packets in bursts of 1..64, "
            << allowed << " allowed, " << secs << " s; asked again: " << cache_hits
            << " answered by the verdict cache\n";
  EXPECT_GT(cache_hits, static_cast<uint64_t>(packets) / 2);
  const char* kDirs[] = {"egress", "ingress"};
  for (int d = 0; d < 2; ++d) {
    std::cout << "[dpdk differential] " << kDirs[d] << ": not isolated " << by_outcome[d][0] << ", allowed "
              << by_outcome[d][1] << ", denied " << by_outcome[d][2] << "\n";
    if (only == nullptr) {
      for (int o = 0; o < 3; ++o) EXPECT_GT(by_outcome[d][o], packets / 50) << kDirs[d] << " " << o;
    }
  }
  if (only == nullptr) {
    EXPECT_GE(packets, 100000);
  }
}

// ClusterNetworkPolicy tiers: the pipeline classifies through the classifier, so it enforces
// every tier's actions (as the XDP program does: xdp_differential_test; the classifier is the
// reference).
// A Deny rule must drop, whatever the NetworkPolicy below it allows.
TEST(DpdkDifferential, AgreesWithClassifierOnRandomTieredClusters) {
  NETFENCE_REQUIRE_DPDK();
  auto harness = Harness::Create(StatelessOptions());
  ASSERT_TRUE(harness.ok()) << harness.status().message();
  int reports = 0, packets = 0, denied_by_rule = 0;
  for (uint64_t seed = 1; seed <= 64 && reports < kMaxReports; ++seed) {
    std::mt19937_64 rng(seed);
    std::mt19937_64 wrap(seed * 0x9E3779B97F4A7C15ull + 7);
    const k8s::ClusterState state = reference::RandomTieredCluster(rng);
    auto compiled = std::make_shared<v1::RuleTables>(compiler::Compile(state));
    std::shared_ptr<const v1::RuleTables> tables = compiled;
    auto oracle = classifier::Classifier::Load(tables);
    ASSERT_TRUE(oracle.ok()) << "seed " << seed << ": " << oracle.status().message();
    ASSERT_TRUE((*harness)->dp().Program(*tables).ok());
    std::vector<Packet> sent;
    std::vector<std::vector<uint8_t>> frames;
    for (int i = 0; i < kPacketsPerCluster; ++i) {
      sent.push_back(reference::RandomPacket(rng, state));
      frames.push_back(
          xdptest::RandomEncapsulation(sent.back().src, sent.back().dst, sent.back().proto, sent.back().dport, wrap));
    }
    const std::vector<DpdkRun> got = (*harness)->Run(frames, 0, 32);
    std::string report;
    for (int i = 0; i < kPacketsPerCluster; ++i) {
      const Packet& p = sent[static_cast<size_t>(i)];
      const Decision want = (*oracle)->Classify({p.src, p.dst, p.proto, p.dport});
      ++packets;
      denied_by_rule += want.egress.outcome == classifier::Outcome::kDeniedByRule ||
                        want.ingress.outcome == classifier::Outcome::kDeniedByRule;
      const std::string diff = AgainstClassifier(p, want, got[static_cast<size_t>(i)]);
      if (!diff.empty() && report.size() < 4000) report += "packet " + std::to_string(i) + ": " + p.str() + "\n" + diff;
    }
    if (!report.empty()) {
      ++reports;
      ADD_FAILURE() << "seed " << seed << "\n" << report << "cluster:\n" << reference::DescribeCluster(state);
    }
  }
  std::cout << "[dpdk differential, tiers] " << packets << " packets, " << denied_by_rule << " denied by a rule\n";
  EXPECT_GT(denied_by_rule, packets / 100) << "the random tiered clusters exercise no Deny rule";
}

// Audit mode (reference::AuditSome on random clusters): the pipeline's enforced and audited
// decisions, both directions, as the classifier's and field by field as the XDP program's.
TEST(DpdkDifferential, AgreesWithClassifierAndXdpOnRandomAuditedClusters) {
  NETFENCE_REQUIRE_DPDK();
  NETFENCE_REQUIRE_BPF();
  auto harness = Harness::Create(StatelessOptions());
  ASSERT_TRUE(harness.ok()) << harness.status().message();
  auto xdp = xdp::XdpProgram::Load(xdptest::StatelessOptions());
  ASSERT_TRUE(xdp.ok()) << xdp.status().message();
  xdptest::Harness xdp_run(**xdp);
  int reports = 0, packets = 0, audit_differs = 0;
  for (uint64_t seed = 1; seed <= 64 && reports < kMaxReports; ++seed) {
    std::mt19937_64 rng(seed);
    std::mt19937_64 wrap(seed * 0x9E3779B97F4A7C15ull + 11);
    const k8s::ClusterState state = seed % 2 ? reference::RandomCluster(rng) : reference::RandomTieredCluster(rng);
    auto compiled = std::make_shared<v1::RuleTables>(compiler::Compile(state));
    reference::AuditSome(compiled.get(), rng);
    std::shared_ptr<const v1::RuleTables> tables = compiled;
    auto oracle = classifier::Classifier::Load(tables);
    ASSERT_TRUE(oracle.ok()) << "seed " << seed << ": " << oracle.status().message();
    ASSERT_TRUE((*harness)->dp().Program(*tables).ok());
    ASSERT_TRUE((*xdp)->Program(*tables).ok());
    std::vector<Packet> sent;
    std::vector<std::vector<uint8_t>> frames;
    for (int i = 0; i < kPacketsPerCluster; ++i) {
      sent.push_back(reference::RandomPacket(rng, state));
      frames.push_back(
          xdptest::RandomEncapsulation(sent.back().src, sent.back().dst, sent.back().proto, sent.back().dport, wrap));
    }
    const std::vector<DpdkRun> got = (*harness)->Run(frames, 0, static_cast<uint32_t>(seed % 64 + 1));
    std::string report;
    for (int i = 0; i < kPacketsPerCluster; ++i) {
      const Packet& p = sent[static_cast<size_t>(i)];
      const Decision want = (*oracle)->Classify({p.src, p.dst, p.proto, p.dport});
      ++packets;
      audit_differs += want.audit_differs();
      std::string diff = AgainstClassifier(p, want, got[static_cast<size_t>(i)]);
      diff += RecordDiff(got[static_cast<size_t>(i)], xdp_run.Run(frames[static_cast<size_t>(i)]));
      if (!diff.empty() && report.size() < 4000) report += "packet " + std::to_string(i) + ": " + p.str() + "\n" + diff;
    }
    if (!report.empty()) {
      ++reports;
      ADD_FAILURE() << "seed " << seed << "\n" << report << "cluster:\n" << reference::DescribeCluster(state);
    }
  }
  std::cout << "[dpdk differential, audit] " << packets << " packets, " << audit_differs
            << " whose audited verdict differs\n";
  EXPECT_GT(audit_differs, packets / 200) << "audit mode changed no packet's audited verdict";
}

}  // namespace
}  // namespace netfence::dpdktest
