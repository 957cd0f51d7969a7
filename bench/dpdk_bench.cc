// SPDX-License-Identifier: Apache-2.0
// The DPDK pipeline's per-packet cost on one core, bursts of 32 mbufs through a lane (the
// worker's Process(): parse, conntrack, classification, switch decision; no PMD, passed
// packets freed), against the same binary passing non-IP frames (parsed, switched, no
// policy) in the same run:
//   BM_DpdkConntrackHit/R  established TCP connections (1024, allowed), R rules
//   BM_DpdkClassifyEvery/R every packet classified (conntrack off: the new-flow decision
//                          without creating entries), half hitting rules, half random
//   BM_DpdkNewFlow/R       every packet a new allowed connection: classified, its entry
//                          created (and its event written); the table is flushed, untimed,
//                          before the 1,024 frames come round again; no verdict cache
//   BM_DpdkNewFlowCached/R the same with the worker's verdict cache: each new connection's
//                          question was asked before (a client's next connection)
//   BM_DpdkNoPolicy/R      ARP frames: the same lane without classification (the peer)
// Needs root (the EAL, without hugepages). Run by scripts/bench.sh.
#include <benchmark/benchmark.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "bench/cluster_gen.h"
#include "bench/ratio_reporter.h"
#include "controlplane/compiler/compiler.h"
#include "dataplane/dpdk/datapath.h"
#include "dataplane/dpdk/eal.h"
#include "tests/dataplane/xdp/packet_builder.h"

namespace netfence::bench {
namespace {

constexpr int kGroups = 64;
constexpr uint32_t kFrames = 1024;
constexpr uint32_t kBurst = 32;

enum class Mode { kConntrackHit, kClassifyEvery, kNewFlow, kNewFlowCached, kNoPolicy };

struct Setup {
  std::unique_ptr<dpdk::Datapath> dp;
  std::vector<rte_mbuf*> mbufs;
  uint64_t passed = 0;
};

std::vector<uint8_t> Frame(Mode mode, const WideTable& w, std::mt19937_64& rng, uint32_t k, int rules) {
  if (mode == Mode::kNoPolicy) return xdptest::PacketBuilder().EtherType(0x0806).Payload(28).Build();
  const int i = static_cast<int>(rng() % static_cast<uint64_t>(rules));
  const bool fresh = mode == Mode::kNewFlow || mode == Mode::kNewFlowCached;
  const bool hit = mode == Mode::kConntrackHit || fresh || k % 2 == 0;
  const int g = hit ? i % kGroups : static_cast<int>(rng() % kGroups);
  const uint16_t port = static_cast<uint16_t>(1000 + (hit ? i % 4000 : static_cast<int>(rng() % 4000)));
  return xdptest::PacketBuilder()
      .Ipv4(w.clients[static_cast<size_t>(g)], w.server)
      .TcpFlags(mode == Mode::kConntrackHit ? 0x10 : 0x02)
      .Tcp(port, static_cast<uint16_t>(20000 + k))
      .Build();
}

// Decides frames[at..at+32) once; how many passed.
uint32_t Burst(Setup& s, uint32_t at) {
  rte_mbuf* pkts[kBurst];
  uint8_t actions[kBurst];
  for (uint32_t i = 0; i < kBurst; ++i) {
    pkts[i] = s.mbufs[(at + i) % kFrames];
    rte_mbuf_refcnt_update(pkts[i], 1);  // the lane frees what it is done with: keep ours
  }
  s.dp->lane(0).Process(0, pkts, kBurst, actions);
  uint32_t passed = 0;
  for (uint32_t i = 0; i < kBurst; ++i) passed += actions[i] == dpdk::kPass;
  return passed;
}

// Empties the connection table (and the events ring), so the frames are new flows again.
void Forget(Setup& s) {
  (void)s.dp->FlushConntrack();
  s.dp->Housekeeping();  // the flushed keys go after a grace period: the lane is offline
  s.dp->Housekeeping();
  std::vector<nf_event> events(4096);
  while (s.dp->ReadEvents(events.data(), static_cast<uint32_t>(events.size())) > 0) {
  }
}

// The pipelines built so far, by (mode, rules): released before the EAL.
std::map<std::pair<int, int>, std::unique_ptr<Setup>>& Setups() {
  static std::map<std::pair<int, int>, std::unique_ptr<Setup>> setups;
  return setups;
}

Setup& Get(Mode mode, int rules) {
  auto& s = Setups()[{static_cast<int>(mode), rules}];
  if (s) return *s;
  s = std::make_unique<Setup>();
  dpdk::DatapathOptions o;
  o.lanes = 1;
  o.forward = false;
  o.conntrack = mode == Mode::kConntrackHit || mode == Mode::kNewFlow || mode == Mode::kNewFlowCached;
  o.verdict_cache = mode == Mode::kNewFlowCached || mode == Mode::kConntrackHit ? 4096 : 0;
  o.events = o.conntrack;
  o.conntrack_entries = 65536;
  o.mbufs = 4095;
  auto dp = dpdk::Datapath::Create(o);
  if (!dp.ok()) {
    std::fprintf(stderr, "dpdk_bench: %s\n", dp.status().message().c_str());
    std::exit(1);
  }
  s->dp = std::move(dp).value();
  WideTable w = GenerateWideTable(rules, kGroups);
  if (Status st = s->dp->Program(compiler::Compile(w.state)); !st.ok()) {
    std::fprintf(stderr, "dpdk_bench: %s\n", st.message().c_str());
    std::exit(1);
  }
  std::mt19937_64 rng(42);
  for (uint32_t k = 0; k < kFrames; ++k) {
    const std::vector<uint8_t> f = Frame(mode, w, rng, k, rules);
    rte_mbuf* m = rte_pktmbuf_alloc(s->dp->mempool());
    char* p = m != nullptr ? rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())) : nullptr;
    if (p == nullptr) {
      std::fprintf(stderr, "dpdk_bench: out of mbufs\n");
      std::exit(1);
    }
    std::memcpy(p, f.data(), f.size());
    s->mbufs.push_back(m);
  }
  for (uint32_t at = 0; at < kFrames; at += kBurst) (void)Burst(*s, at);  // connections created
  if (mode == Mode::kNewFlow || mode == Mode::kNewFlowCached) Forget(*s);
  return *s;
}

void Run(benchmark::State& state, Mode mode) {
  Setup& s = Get(mode, static_cast<int>(state.range(0)));
  uint32_t at = 0;
  uint64_t passed = 0;
  for (auto _ : state) {
    passed += Burst(s, at);
    at = (at + kBurst) % kFrames;
    if ((mode == Mode::kNewFlow || mode == Mode::kNewFlowCached) && at == 0) {
      state.PauseTiming();
      Forget(s);
      state.ResumeTiming();
    }
  }
  const double packets = static_cast<double>(state.iterations()) * kBurst;
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["passed_share"] = static_cast<double>(passed) / packets;
  state.counters["ns_per_pkt"] = benchmark::Counter(packets, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_DpdkConntrackHit(benchmark::State& state) { Run(state, Mode::kConntrackHit); }
void BM_DpdkClassifyEvery(benchmark::State& state) { Run(state, Mode::kClassifyEvery); }
void BM_DpdkNewFlow(benchmark::State& state) { Run(state, Mode::kNewFlow); }
void BM_DpdkNewFlowCached(benchmark::State& state) { Run(state, Mode::kNewFlowCached); }
void BM_DpdkNoPolicy(benchmark::State& state) { Run(state, Mode::kNoPolicy); }

BENCHMARK(BM_DpdkNoPolicy)->Arg(1000)->Arg(10000);
BENCHMARK(BM_DpdkConntrackHit)->Arg(1000)->Arg(10000);
BENCHMARK(BM_DpdkClassifyEvery)->Arg(1000)->Arg(10000);
BENCHMARK(BM_DpdkNewFlow)->Arg(1000)->Arg(10000);
BENCHMARK(BM_DpdkNewFlowCached)->Arg(1000)->Arg(10000);

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  netfence::dpdk::EalOptions eal;
  eal.program = "netfence-dpdk-bench";
  eal.workers = 1;
  eal.memory_mb = 512;
  if (netfence::Status s = netfence::dpdk::InitEal(eal); !s.ok()) {
    std::fprintf(stderr, "dpdk_bench: the EAL (root, --no-huge): %s\n", s.message().c_str());
    return 1;
  }
  netfence::bench::RatioReporter reporter;
  reporter.AddPeer("BM_DpdkConntrackHit", "BM_DpdkNoPolicy");
  reporter.AddPeer("BM_DpdkClassifyEvery", "BM_DpdkNoPolicy");
  reporter.AddPeer("BM_DpdkNewFlow", "BM_DpdkNoPolicy");
  reporter.AddPeer("BM_DpdkNewFlowCached", "BM_DpdkNewFlow");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  for (auto& [key, s] : netfence::bench::Setups()) {
    for (rte_mbuf* m : s->mbufs) rte_pktmbuf_free(m);
    s->dp.reset();
  }
  netfence::dpdk::CleanupEal();
}
