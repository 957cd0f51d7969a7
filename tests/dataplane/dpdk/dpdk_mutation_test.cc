// SPDX-License-Identifier: Apache-2.0
// 20,000 randomly damaged frames (random clusters' packets with bytes overwritten and tails
// cut, a quarter of them in two chained mbufs) decided by the DPDK pipeline exactly as the XDP
// program decides them (BPF_PROG_TEST_RUN): the same action, path, drop reason, flow key and
// verdict for each, and the same drop counters.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <random>

#include "controlplane/compiler/compiler.h"
#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "tests/dataplane/dpdk/record_diff.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/differential/random_cluster.h"

namespace netfence::dpdktest {
namespace {

using xdptest::PacketBuilder;

TEST(DpdkMutation, DamagedFramesAreDecidedExactlyAsXdpDecidesThem) {
  NETFENCE_REQUIRE_DPDK();
  NETFENCE_REQUIRE_BPF();
  int frames = 0, parsed = 0, malformed = 0, non_ip = 0, chained = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::mt19937_64 rng(seed);
    const k8s::ClusterState state = reference::RandomCluster(rng);
    const v1::RuleTables tables = compiler::Compile(state);
    auto harness = Harness::Create(StatelessOptions());
    ASSERT_TRUE(harness.ok()) << harness.status().message();
    ASSERT_TRUE((*harness)->dp().Program(tables).ok());
    auto xdp = xdp::XdpProgram::Load(xdptest::StatelessOptions());
    ASSERT_TRUE(xdp.ok()) << xdp.status().message();
    ASSERT_TRUE((*xdp)->Program(tables).ok());
    xdptest::Harness xdp_run(**xdp);
    std::vector<std::vector<uint8_t>> batch;
    for (int i = 0; i < 2000; ++i) {
      const reference::Packet p = reference::RandomPacket(rng, state);
      PacketBuilder b;
      if (rng() % 4 == 0) b.Vlan(static_cast<uint16_t>(rng() % 4096));
      b.Ip(p.src, p.dst);
      if (!p.src.is_v4() && rng() % 3 == 0) b.Ipv6Ext(static_cast<uint8_t>(rng() % 2 ? 0 : 44));
      std::vector<uint8_t> bytes = b.Proto(p.proto, p.dport).Build();
      const size_t header_end = b.l4_offset() + 8;
      for (uint64_t n = rng() % 4; n > 0; --n)
        bytes[rng() % std::min(bytes.size(), header_end)] = static_cast<uint8_t>(rng());
      if (rng() % 4 == 0) bytes.resize(14 + rng() % (bytes.size() - 13));
      batch.push_back(std::move(bytes));
    }
    const auto drops_before = (*harness)->dp().ReadDropReasons();
    const auto xdrops_before = xdp_run.Drops();
    const std::vector<DpdkRun> got = (*harness)->Run(batch, 0, 32, /*chain=*/true);
    std::string report;
    for (size_t i = 0; i < batch.size(); ++i) {
      const xdptest::RunResult x = xdp_run.Run(batch[i]);
      const std::string diff = RecordDiff(got[i], x);
      if (!diff.empty() && report.size() < 3000) report += "frame " + std::to_string(i) + ":\n" + diff;
      ++frames;
      chained += i % 4 == 3;
      if (got[i].decision.parsed) {
        ++parsed;
      } else if (got[i].action == XDP_DROP) {
        ++malformed;
      } else {
        ++non_ip;
      }
    }
    EXPECT_TRUE(report.empty()) << "seed " << seed << ":\n" << report;
    // The same drops under the same reasons.
    const auto drops = (*harness)->dp().ReadDropReasons();
    const auto xdrops = xdp_run.Drops();
    for (int r = 0; r < NF_DROP_REASONS; ++r) {
      EXPECT_EQ(drops[r] - drops_before[r], xdrops[r] - xdrops_before[r]) << "seed " << seed << " reason " << r;
    }
  }
  std::cout << "[dpdk mutation] " << frames << " damaged frames (" << chained << " in two segments): " << parsed
            << " parsed, " << malformed << " dropped as malformed, " << non_ip << " passed as non-IP\n";
  EXPECT_EQ(frames, 20000);
  EXPECT_GT(parsed, frames / 4);
  EXPECT_GT(malformed, frames / 20);
}

}  // namespace
}  // namespace netfence::dpdktest
