// SPDX-License-Identifier: Apache-2.0
// The DPDK pipeline's throughput on one worker core at the PMD level: the real worker
// (Worker::Run on its own lcore, rte_eth_rx_burst -> decide -> switch -> rte_eth_tx_burst)
// between two net_ring ports wired in a loop, so that what it forwards comes round again:
//
//   ring R1 --rx--> port A --worker--> port B --tx--> ring R1     (ring R2: B's rx, empty)
//
// R1 is filled once with F frames of F distinct flows (every one allowed), so the worker
// sees F flows in turn, never the same few mbufs a mempool cache would hand back (why not
// net_null: its receive path allocates from the worker's mempool cache, which returns the
// 32 mbufs the last burst freed). The main thread samples port A's receive counter over
// windows of 200 ms; each benchmark's time is ns per packet (window / packets), so the
// ratios compare per-packet cost:
//
//   BM_PmdIoForward/R/F      the peer: rx_burst -> tx_burst on the same lcore and ports,
//                            nothing parsed (testpmd's io forwarding)
//   BM_PmdNoPolicy/R/F       the worker switching ARP frames (parsed, no policy)
//   BM_PmdConntrackHit/R/F   the worker, R rules, F established TCP connections: every packet
//                            a conntrack hit (the share is checked and printed)
//   BM_PmdClassifyEvery/R/F  the worker with conntrack off and no verdict cache: every packet
//                            classified over the tables (the new-flow decision, without
//                            creating an entry)
//   BM_PmdClassifyCached/R/F the same with the worker's verdict cache (4096 questions): each
//                            frame's question was asked before (a client's next connection to
//                            the same service); with F > 4096, collisions ask the tables again
//
// Mpps is the counter to read against 14.88 Mpps (10 GbE line rate at 64-byte frames). Needs
// root (the EAL). Plain memory by default (4 KiB pages: a TLB miss on most mbufs and
// connections once they outgrow the TLB); NETFENCE_BENCH_HUGE_DIR=/dev/hugepages takes the
// memory from hugepages mounted there (reserve ~600 in /proc/sys/vm/nr_hugepages first), as
// netfence-dpdk --huge-dir does. Run by scripts/bench.sh.
#include <benchmark/benchmark.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
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
constexpr auto kWindow = std::chrono::milliseconds(200);
constexpr auto kWarmUp = std::chrono::milliseconds(300);

enum class Mode { kIoForward, kNoPolicy, kConntrackHit, kClassifyEvery, kClassifyCached };

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "dpdk_pmd_bench: %s\n", what.c_str());
  std::exit(1);
}

std::vector<uint8_t> Frame(Mode mode, const WideTable& w, std::mt19937_64& rng, uint32_t k, int rules) {
  if (mode == Mode::kIoForward || mode == Mode::kNoPolicy) {
    return xdptest::PacketBuilder().EtherType(0x0806).Payload(46).Build();
  }
  // An allowed connection (client group g may reach the server on port 1000 + i % 4000),
  // distinct by its source port: every frame comes round again, so none may be dropped.
  const int i = static_cast<int>(rng() % static_cast<uint64_t>(rules));
  return xdptest::PacketBuilder()
      .Ipv4(w.clients[static_cast<size_t>(i % kGroups)], w.server)
      .TcpFlags(mode == Mode::kConntrackHit ? 0x10 : 0x02)
      .Tcp(static_cast<uint16_t>(1000 + i % 4000), static_cast<uint16_t>(10000 + k))
      .Payload(6)  // 60 bytes on the wire, as a minimum frame without its FCS
      .Build();
}

// Two net_ring ports in a loop: A receives from R1, B transmits into R1; R2 (A's transmit,
// B's receive) stays empty as nothing is switched towards A.
struct Loop {
  rte_ring* r1 = nullptr;
  rte_ring* r2 = nullptr;
  uint16_t a = 0, b = 0;
};

Loop MakeLoop(rte_mempool* pool, uint32_t frames) {
  static int n = 0;
  const std::string tag = "nfpmd" + std::to_string(n++);
  Loop l;
  l.r1 = rte_ring_create((tag + "r1").c_str(), rte_align32pow2(frames + 1), 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  l.r2 = rte_ring_create((tag + "r2").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (l.r1 == nullptr || l.r2 == nullptr) Fail("rte_ring_create: " + std::string(rte_strerror(rte_errno)));
  const int a = rte_eth_from_rings((tag + "a").c_str(), &l.r1, 1, &l.r2, 1, 0);
  const int b = rte_eth_from_rings((tag + "b").c_str(), &l.r2, 1, &l.r1, 1, 0);
  if (a < 0 || b < 0) Fail("rte_eth_from_rings: " + std::string(rte_strerror(rte_errno)));
  l.a = static_cast<uint16_t>(a);
  l.b = static_cast<uint16_t>(b);
  for (uint16_t p : {l.a, l.b}) {
    if (Status s = dpdk::StartEthdev(p, 1, pool); !s.ok()) Fail(s.message());
  }
  return l;
}

void FreeLoop(const Loop& l) {
  for (uint16_t p : {l.a, l.b}) {
    (void)rte_eth_dev_stop(p);
    (void)rte_eth_dev_close(p);
  }
  for (rte_ring* r : {l.r1, l.r2}) {
    void* m;
    while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    rte_ring_free(r);
  }
}

// testpmd's io forwarding on the worker lcore: every port's burst out of the other port.
struct IoForward {
  Loop* loop = nullptr;
  std::atomic<bool> stop{false};
  static int Run(void* arg) {
    auto* io = static_cast<IoForward*>(arg);
    rte_mbuf* pkts[32];
    while (!io->stop.load(std::memory_order_relaxed)) {
      for (auto [in, out] : {std::pair{io->loop->a, io->loop->b}, std::pair{io->loop->b, io->loop->a}}) {
        const uint16_t n = rte_eth_rx_burst(in, 0, pkts, 32);
        if (n == 0) continue;
        const uint16_t sent = rte_eth_tx_burst(out, 0, pkts, n);
        if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
      }
    }
    return 0;
  }
};

uint64_t Received(uint16_t port) {
  rte_eth_stats st{};
  (void)rte_eth_stats_get(port, &st);
  return st.ipackets;
}

void Run(benchmark::State& state, Mode mode) {
  const int rules = static_cast<int>(state.range(0));
  const auto frames = static_cast<uint32_t>(state.range(1));
  dpdk::DatapathOptions o;
  o.conntrack = mode == Mode::kConntrackHit;
  o.events = o.conntrack;
  o.verdict_cache = mode == Mode::kClassifyEvery ? 0 : 4096;
  o.conntrack_entries = 2 * frames < 65536 ? 65536 : 2 * frames;
  o.mbufs = frames + 4095;
  auto created = dpdk::Datapath::Create(o);
  if (!created.ok()) Fail(created.status().message());
  std::unique_ptr<dpdk::Datapath> dp = std::move(created).value();
  WideTable w = GenerateWideTable(rules, kGroups);
  if (Status s = dp->Program(compiler::Compile(w.state)); !s.ok()) Fail(s.message());

  Loop loop = MakeLoop(dp->mempool(), frames);
  std::mt19937_64 rng(42);
  for (uint32_t k = 0; k < frames; ++k) {
    const std::vector<uint8_t> f = Frame(mode, w, rng, k, rules);
    rte_mbuf* m = rte_pktmbuf_alloc(dp->mempool());
    char* p = m != nullptr ? rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())) : nullptr;
    if (p == nullptr) Fail("out of mbufs");
    std::memcpy(p, f.data(), f.size());
    if (rte_ring_enqueue(loop.r1, m) != 0) Fail("ring full");
  }

  IoForward io;
  io.loop = &loop;
  const unsigned lcore = rte_get_next_lcore(static_cast<unsigned>(-1), 1, 0);
  if (mode == Mode::kIoForward) {
    if (rte_eal_remote_launch(&IoForward::Run, &io, lcore) != 0) Fail("launching io forwarding");
  } else {
    // Ports of no pod (judged by addresses alone), so any client address may send.
    for (uint16_t p : {loop.a, loop.b}) {
      if (Status s = dp->AttachEthdev(p, dpdk::PortPolicy{}); !s.ok()) Fail(s.message());
    }
    if (Status s = dp->Start(); !s.ok()) Fail(s.message());
  }
  std::this_thread::sleep_for(kWarmUp);  // the connections are created in the first round

  const fastpath::Counters c0 = dp->ReadCounters();
  uint64_t packets = 0;
  double seconds = 0;
  for (auto _ : state) {
    const uint64_t before = Received(loop.a);
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(kWindow);
    const uint64_t got = Received(loop.a) - before;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    packets += got;
    seconds += s;
    state.SetIterationTime(got != 0 ? s / static_cast<double>(got) : s);
  }
  const fastpath::Counters c1 = dp->ReadCounters();
  if (mode == Mode::kIoForward) {
    io.stop = true;
    rte_eal_wait_lcore(lcore);
  } else {
    dp->Stop();
  }
  const uint64_t decided = [&] {
    uint64_t n = 0;  // every packet decided ends on one path counter
    for (int i = 0; i <= NF_CNT_DROP; ++i) n += c1[i] - c0[i];
    return n;
  }();
  state.counters["Mpps"] = static_cast<double>(packets) / seconds / 1e6;
  state.counters["flows"] = frames;
  if (mode == Mode::kConntrackHit) {
    state.counters["ct_hit_share"] =
        decided ? static_cast<double>(c1[NF_CNT_PASS_CT] - c0[NF_CNT_PASS_CT]) / decided : 0;
  }
  if (mode == Mode::kClassifyEvery || mode == Mode::kClassifyCached) {
    state.counters["new_share"] =
        decided ? static_cast<double>(c1[NF_CNT_PASS_NEW] - c0[NF_CNT_PASS_NEW]) / decided : 0;
  }
  if (mode == Mode::kClassifyCached) {
    state.counters["cache_hit_share"] =
        decided ? static_cast<double>(c1[NF_CNT_VERDICT_HIT] - c0[NF_CNT_VERDICT_HIT]) / decided : 0;
  }
  if (mode != Mode::kIoForward && packets != 0 && decided < packets)
    Fail("the worker decided fewer packets than A received");
  FreeLoop(loop);
  if (rte_ring_count(loop.r1) != 0) Fail("frames left behind");
}

void BM_PmdIoForward(benchmark::State& state) { Run(state, Mode::kIoForward); }
void BM_PmdNoPolicy(benchmark::State& state) { Run(state, Mode::kNoPolicy); }
void BM_PmdConntrackHit(benchmark::State& state) { Run(state, Mode::kConntrackHit); }
void BM_PmdClassifyEvery(benchmark::State& state) { Run(state, Mode::kClassifyEvery); }
void BM_PmdClassifyCached(benchmark::State& state) { Run(state, Mode::kClassifyCached); }

void Args(benchmark::internal::Benchmark* b) {
  b->Args({10000, 512})
      ->Args({10000, 4096})
      ->Args({10000, 32768})
      ->UseManualTime()
      ->Iterations(5)
      ->Unit(benchmark::kNanosecond);
}
BENCHMARK(BM_PmdIoForward)->Apply(Args);
BENCHMARK(BM_PmdNoPolicy)->Apply(Args);
BENCHMARK(BM_PmdConntrackHit)->Apply(Args);
BENCHMARK(BM_PmdClassifyEvery)->Apply(Args);
BENCHMARK(BM_PmdClassifyCached)->Apply(Args);

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  netfence::dpdk::EalOptions eal;
  eal.program = "netfence-dpdk-pmd-bench";
  eal.workers = 1;
  eal.memory_mb = 1024;
  if (const char* dir = std::getenv("NETFENCE_BENCH_HUGE_DIR"); dir != nullptr && *dir != 0) {
    eal.hugepages_dir = dir;
    std::printf("dpdk_pmd_bench: memory from hugepages in %s\n", dir);
  }
  if (netfence::Status s = netfence::dpdk::InitEal(eal); !s.ok()) {
    std::fprintf(stderr, "dpdk_pmd_bench: the EAL (root, --no-huge): %s\n", s.message().c_str());
    return 1;
  }
  netfence::bench::RatioReporter reporter;
  for (const char* ours : {"BM_PmdNoPolicy", "BM_PmdConntrackHit", "BM_PmdClassifyEvery", "BM_PmdClassifyCached"}) {
    reporter.AddPeer(ours, "BM_PmdIoForward");
  }
  reporter.AddPeer("BM_PmdConntrackHit", "BM_PmdNoPolicy");
  reporter.AddPeer("BM_PmdClassifyCached", "BM_PmdClassifyEvery");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  netfence::dpdk::CleanupEal();
}
