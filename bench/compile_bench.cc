// Full compile of generated clusters: 1,000 and 10,000 namespaces (15k / 150k pods,
// 10k / 100k rules). Goal: <= 1 s for the largest on one core.
#include <benchmark/benchmark.h>

#include <google/protobuf/arena.h>

#include <map>

#include "bench/cluster_gen.h"
#include "bench/ratio_reporter.h"
#include "controlplane/compiler/compiler.h"

namespace netfence::bench {
namespace {

const k8s::ClusterState& Cluster(int namespaces) {
  static std::map<int, k8s::ClusterState> cache;
  auto it = cache.find(namespaces);
  if (it == cache.end()) it = cache.emplace(namespaces, GenerateCluster({.namespaces = namespaces})).first;
  return it->second;
}

// The tables are built on a protobuf Arena, as the controller does; freeing them is timed too.
void BM_CompileCluster(benchmark::State& state) {
  const auto& cluster = Cluster(static_cast<int>(state.range(0)));
  v1::TableStats s;
  double bytes = 0;
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* t = google::protobuf::Arena::CreateMessage<v1::RuleTables>(&arena);
    compiler::CompileInto(cluster, {}, t);
    benchmark::DoNotOptimize(t);
    state.PauseTiming();
    s = t->stats();
    bytes = static_cast<double>(t->ByteSizeLong());
    state.ResumeTiming();
  }
  uint64_t policy_rules = 0;
  for (const auto& p : cluster.policies) policy_rules += p.ingress.size() + p.egress.size();
  state.counters["pods"] = static_cast<double>(cluster.pods.size());
  state.counters["policy_rules"] = static_cast<double>(policy_rules);
  state.counters["identities"] = s.identities();
  state.counters["tables"] = s.tables();
  state.counters["rule_bits"] = static_cast<double>(s.rules());
  state.counters["table_MB"] = bytes / 1e6;
}
BENCHMARK(BM_CompileCluster)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  netfence::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
