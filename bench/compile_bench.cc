// SPDX-License-Identifier: Apache-2.0
// Full compile of generated clusters: 1,000 and 10,000 namespaces (15k / 150k pods,
// 10k / 100k rules). Goal: <= 1 s for the largest on one core. And the incremental compiler
// on the same clusters: one change (a policy edited, a replica added or removed, a pod with
// new labels, a namespace relabelled), as a ratio to the full compile measured in this run.
#include <benchmark/benchmark.h>

#include <google/protobuf/arena.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>

#include "bench/cluster_gen.h"
#include "bench/ratio_reporter.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/compiler/incremental.h"

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

// The incremental compiler holding the whole cluster (loaded once per size).
compiler::IncrementalCompiler& Loaded(int namespaces) {
  static std::map<int, std::unique_ptr<compiler::IncrementalCompiler>> cache;
  auto it = cache.find(namespaces);
  if (it != cache.end()) return *it->second;
  const auto& cluster = Cluster(namespaces);
  std::vector<source::Event> all;
  for (const auto& o : cluster.namespaces) all.push_back({source::Op::kUpsert, o});
  for (const auto& o : cluster.pods) all.push_back({source::Op::kUpsert, o});
  for (const auto& o : cluster.policies) all.push_back({source::Op::kUpsert, o});
  auto inc = std::make_unique<compiler::IncrementalCompiler>();
  const auto start = std::chrono::steady_clock::now();
  inc->Apply(all);
  std::fprintf(stderr, "incremental compiler loaded with %zu objects in %.2f s\n", all.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return *cache.emplace(namespaces, std::move(inc)).first->second;
}

// Each iteration applies one change; the next one undoes it (so the cluster stays the same).
void RunChanges(benchmark::State& state, const std::vector<source::Event>& change,
                const std::vector<source::Event>& undo) {
  auto& inc = Loaded(static_cast<int>(state.range(0)));
  bool forward = true;
  size_t tables = 0, built = 0;
  for (auto _ : state) {
    auto ch = inc.Apply(forward ? change : undo);
    tables += ch.tables.size();
    built += ch.tables_built;
    forward = !forward;
  }
  state.counters["tables_changed"] =
      benchmark::Counter(static_cast<double>(tables), benchmark::Counter::kAvgIterations);
  state.counters["tables_built"] = benchmark::Counter(static_cast<double>(built), benchmark::Counter::kAvgIterations);
}

const k8s::NetworkPolicy& PolicyOf(const k8s::ClusterState& c, const std::string& ns, const std::string& name) {
  for (const auto& p : c.policies) {
    if (p.meta.ns == ns && p.meta.name == name) return p;
  }
  std::abort();
}

void BM_IncrementalPolicyEdit(benchmark::State& state) {
  const auto& c = Cluster(static_cast<int>(state.range(0)));
  k8s::NetworkPolicy before = PolicyOf(c, "ns-7", "ingress");
  k8s::NetworkPolicy after = before;
  after.ingress[0].ports[0].port->int_value = 81;  // web <- anyone on 81 instead of 80
  RunChanges(state, {{source::Op::kUpsert, after}}, {{source::Op::kUpsert, before}});
}

void BM_IncrementalReplicaAdded(benchmark::State& state) {
  const auto& c = Cluster(static_cast<int>(state.range(0)));
  k8s::Pod p;
  for (const auto& pod : c.pods) {
    if (pod.meta.ns == "ns-7" && pod.meta.name == "web-0-0") p = pod;
  }
  p.meta.name = "web-0-99";
  p.pod_ips = {"10.255.0.1"};
  RunChanges(state, {{source::Op::kUpsert, p}}, {{source::Op::kDelete, p}});
}

void BM_IncrementalNewIdentity(benchmark::State& state) {
  const auto& c = Cluster(static_cast<int>(state.range(0)));
  k8s::Pod p;
  for (const auto& pod : c.pods) {
    if (pod.meta.ns == "ns-7" && pod.meta.name == "web-0-0") p = pod;
  }
  p.meta.name = "canary";
  p.meta.labels["track"] = "canary";  // a label set no pod had: a new identity
  p.pod_ips = {"10.255.0.2"};
  RunChanges(state, {{source::Op::kUpsert, p}}, {{source::Op::kDelete, p}});
}

void BM_IncrementalNamespaceRelabel(benchmark::State& state) {
  const auto& c = Cluster(static_cast<int>(state.range(0)));
  k8s::Namespace before;
  for (const auto& n : c.namespaces) {
    if (n.meta.name == "ns-7") before = n;
  }
  k8s::Namespace after = before;
  after.meta.labels["team"] = "moved";
  RunChanges(state, {{source::Op::kUpsert, after}}, {{source::Op::kUpsert, before}});
}

BENCHMARK(BM_IncrementalPolicyEdit)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_IncrementalReplicaAdded)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_IncrementalNewIdentity)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_IncrementalNamespaceRelabel)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  netfence::bench::RatioReporter reporter;
  for (const char* b : {"BM_IncrementalPolicyEdit", "BM_IncrementalReplicaAdded", "BM_IncrementalNewIdentity",
                        "BM_IncrementalNamespaceRelabel"}) {
    reporter.AddPeer(b, "BM_CompileCluster");
  }
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
