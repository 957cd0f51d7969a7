// SPDX-License-Identifier: Apache-2.0
// The flow log's drop aggregation per 5-tuple (dataplane/flowlog/drop_aggregator.h), per drop,
// against the least any exact per-key count costs: an unordered_map<uint64_t, uint64_t>
// increment keyed by the tuple's hash (CountOnly), measured in the same run. Three shapes of
// denied traffic, 1M drops each, a window per round:
//   retries  64 tuples, each again and again (retried SYNs): exact hits
//   flood    random source ports to one port (a SYN flood): 64 exact tuples, then one folded
//            record whose bitmap counts the distinct source ports
//   scan     one source, every destination port (a port scan): a group per port, exact until
//            the table is full (16384), then folded (1024 groups), then overflow
#include <benchmark/benchmark.h>

#include <random>
#include <unordered_map>
#include <vector>

#include "bench/ratio_reporter.h"
#include "dataplane/flowlog/drop_aggregator.h"

namespace {

using netfence::IpAddr;
using netfence::flowlog::DropAggregator;
using netfence::flowlog::DropObservation;

constexpr int kDrops = 1 << 20;

std::vector<DropObservation> Drops(int shape) {
  std::vector<DropObservation> out(kDrops);
  std::mt19937 rng(7);
  const IpAddr src = *IpAddr::Parse("10.1.0.5"), dst = *IpAddr::Parse("10.2.0.9");
  for (int i = 0; i < kDrops; ++i) {
    DropObservation& d = out[static_cast<size_t>(i)];
    d.src = src;
    d.dst = dst;
    d.proto = 6;
    d.generation = 3;
    d.bytes = 74;
    switch (shape) {
      case 0:  // retries
        d.sport = static_cast<uint16_t>(40000 + i % 64);
        d.dport = 80;
        break;
      case 1:  // flood
        d.sport = static_cast<uint16_t>(rng());
        d.dport = 80;
        break;
      default:  // scan
        d.sport = 55555;
        d.dport = static_cast<uint16_t>(1 + i % 65535);
    }
  }
  return out;
}

const char* kShapes[] = {"retries", "flood", "scan"};

void Aggregate(benchmark::State& state) {
  const auto drops = Drops(static_cast<int>(state.range(0)));
  int64_t now = 0;
  for (auto _ : state) {
    DropAggregator agg({}, [&now] { return now; });
    for (const DropObservation& d : drops) agg.Add(d);
    benchmark::DoNotOptimize(agg.FlushAll());
  }
  state.SetLabel(kShapes[state.range(0)]);
  state.SetItemsProcessed(state.iterations() * kDrops);
}

uint64_t TupleHash(const DropObservation& d) {
  uint64_t h = d.src.lo() * 0x9e3779b97f4a7c15ull ^ d.dst.lo();
  h ^= (uint64_t{d.sport} << 32 | uint64_t{d.dport} << 8 | d.proto) * 0xbf58476d1ce4e5b9ull;
  return h;
}

void CountOnly(benchmark::State& state) {
  const auto drops = Drops(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::unordered_map<uint64_t, uint64_t> counts;
    for (const DropObservation& d : drops) ++counts[TupleHash(d)];
    benchmark::DoNotOptimize(counts.size());
  }
  state.SetLabel(kShapes[state.range(0)]);
  state.SetItemsProcessed(state.iterations() * kDrops);
}

BENCHMARK(Aggregate)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(CountOnly)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  netfence::bench::RatioReporter reporter;
  reporter.AddPeer("Aggregate", "CountOnly");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
