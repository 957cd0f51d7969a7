// SPDX-License-Identifier: Apache-2.0
// ClusterNetworkPolicy tiers, each measured against a peer in the same run:
//   - new-flow lookups in one table of 1,000 Admin-tier ClusterNetworkPolicies x 25 rules at
//     distinct priorities (Pass, Deny, Accept in turn) in front of the 10k-rule NetworkPolicy,
//     against one table of the same 35,000 rules without tiers (goal: within 1.2x);
//   - the full compile of the 15k-pod / 10k-rule cluster with 1,000 ClusterNetworkPolicies x 25
//     rules and 100 nodes, against the same cluster without them;
//   - the incremental compiler on that cluster: one change (a cluster policy's rule edited, a
//     cluster policy moved to another priority, a node relabelled, a namespace relabelled, a
//     pod with new labels), against the full compile.
#include <benchmark/benchmark.h>

#include <google/protobuf/arena.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>

#include "bench/cluster_gen.h"
#include "bench/ratio_reporter.h"
#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/compiler/incremental.h"

namespace netfence::bench {
namespace {

constexpr int kGroups = 64;
constexpr size_t kTrace = 65536;
constexpr int kCnps = 1000, kRulesPerCnp = 25, kNpRules = 10000;

// ---- Lookups --------------------------------------------------------------------------------

struct Lookups {
  std::shared_ptr<const classifier::Classifier> classifier;
  std::vector<classifier::FlowKey> trace;
  uint32_t rules = 0;
};

// The same trace for both tables: half the packets hit the rule pattern (group j % 64, port
// 1000 + j % 4000) of a random rule j, half are random (mostly misses).
Lookups Load(const WideTable& w) {
  Lookups l;
  auto tables = std::make_shared<const v1::RuleTables>(compiler::Compile(w.state));
  l.classifier = *classifier::Classifier::Load(tables);
  l.rules = static_cast<uint32_t>(tables->stats().rules());
  std::mt19937_64 rng(42);
  const int total = kCnps * kRulesPerCnp + kNpRules;
  for (size_t k = 0; k < kTrace; ++k) {
    int g, port;
    if (k % 2 == 0) {
      const int j = static_cast<int>(rng() % total);
      g = j % kGroups;
      port = 1000 + j % 4000;
    } else {
      g = static_cast<int>(rng() % kGroups);
      port = 1000 + static_cast<int>(rng() % 4000);
    }
    l.trace.push_back({w.clients[static_cast<size_t>(g)], w.server, 6, static_cast<uint16_t>(port)});
  }
  return l;
}

const Lookups& Tiered() {
  static const Lookups l = Load(GenerateTieredWideTable(kCnps, kRulesPerCnp, kNpRules, kGroups));
  return l;
}
const Lookups& Flat() {
  static const Lookups l = Load(GenerateWideTable(kCnps * kRulesPerCnp + kNpRules, kGroups));
  return l;
}

void RunLookups(benchmark::State& state, const Lookups& l) {
  size_t k = 0, allowed = 0, by_rule_deny = 0;
  for (auto _ : state) {
    auto d = l.classifier->Classify(l.trace[k++ & (kTrace - 1)]);
    allowed += d.allowed();
    by_rule_deny += d.ingress.outcome == classifier::Outcome::kDeniedByRule;
    benchmark::DoNotOptimize(d);
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["rule_bits"] = l.rules;
  state.counters["allowed_share"] = static_cast<double>(allowed) / n;
  state.counters["deny_rule_share"] = static_cast<double>(by_rule_deny) / n;
}

void BM_ClassifyTiered(benchmark::State& state) { RunLookups(state, Tiered()); }
void BM_ClassifyFlat(benchmark::State& state) { RunLookups(state, Flat()); }
BENCHMARK(BM_ClassifyTiered)->Arg(kCnps* kRulesPerCnp + kNpRules);
BENCHMARK(BM_ClassifyFlat)->Arg(kCnps* kRulesPerCnp + kNpRules);

// ---- Compiles -------------------------------------------------------------------------------

const k8s::ClusterState& Cluster(bool tiers) {
  static std::map<bool, k8s::ClusterState> cache;
  auto it = cache.find(tiers);
  if (it != cache.end()) return it->second;
  k8s::ClusterState s = GenerateCluster({.namespaces = 1000});
  if (tiers) AddClusterPolicies(&s, kCnps, kRulesPerCnp, 100);
  return cache.emplace(tiers, std::move(s)).first->second;
}

void RunCompile(benchmark::State& state, bool tiers) {
  const auto& cluster = Cluster(tiers);
  v1::TableStats s;
  double bytes = 0;
  uint64_t tiered = 0;
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* t = google::protobuf::Arena::CreateMessage<v1::RuleTables>(&arena);
    compiler::CompileInto(cluster, {}, t);
    benchmark::DoNotOptimize(t);
    state.PauseTiming();
    s = t->stats();
    bytes = static_cast<double>(t->ByteSizeLong());
    tiered = 0;
    for (const auto& dt : t->tables()) tiered += dt.rule_flags_size() > 0;
    state.ResumeTiming();
  }
  state.counters["pods"] = static_cast<double>(cluster.pods.size());
  state.counters["cluster_policies"] = static_cast<double>(cluster.cluster_policies.size());
  state.counters["tables"] = s.tables();
  state.counters["tiered_tables"] = static_cast<double>(tiered);
  state.counters["rule_bits"] = static_cast<double>(s.rules());
  state.counters["table_MB"] = bytes / 1e6;
}

void BM_CompileWithTiers(benchmark::State& state) { RunCompile(state, true); }
void BM_CompileWithoutTiers(benchmark::State& state) { RunCompile(state, false); }
BENCHMARK(BM_CompileWithTiers)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_CompileWithoutTiers)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

// ---- Incremental changes ----------------------------------------------------------------------

compiler::IncrementalCompiler& Loaded() {
  static std::unique_ptr<compiler::IncrementalCompiler> inc;
  if (inc) return *inc;
  const auto& c = Cluster(true);
  std::vector<source::Event> all;
  for (const auto& o : c.namespaces) all.push_back({source::Op::kUpsert, o});
  for (const auto& o : c.pods) all.push_back({source::Op::kUpsert, o});
  for (const auto& o : c.policies) all.push_back({source::Op::kUpsert, o});
  for (const auto& o : c.nodes) all.push_back({source::Op::kUpsert, o});
  for (const auto& o : c.cluster_policies) all.push_back({source::Op::kUpsert, o});
  inc = std::make_unique<compiler::IncrementalCompiler>();
  const auto start = std::chrono::steady_clock::now();
  inc->Apply(all);
  std::fprintf(stderr, "incremental compiler loaded with %zu objects in %.2f s\n", all.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return *inc;
}

// Each iteration applies one change (timed), then undoes it (not timed), so that every
// iteration measures the same change on the same cluster.
void RunChanges(benchmark::State& state, const std::vector<source::Event>& change,
                const std::vector<source::Event>& undo) {
  auto& inc = Loaded();
  size_t tables = 0, built = 0;
  for (auto _ : state) {
    auto ch = inc.Apply(change);
    tables += ch.tables.size();
    built += ch.tables_built;
    state.PauseTiming();
    (void)inc.Apply(undo);
    state.ResumeTiming();
  }
  state.counters["tables_changed"] =
      benchmark::Counter(static_cast<double>(tables), benchmark::Counter::kAvgIterations);
  state.counters["tables_built"] = benchmark::Counter(static_cast<double>(built), benchmark::Counter::kAvgIterations);
}

const k8s::ClusterNetworkPolicy& Cnp(int k) { return Cluster(true).cluster_policies[static_cast<size_t>(k)]; }

void BM_IncrementalClusterRuleEdit(benchmark::State& state) {
  k8s::ClusterNetworkPolicy after = Cnp(7);
  after.ingress[0].ports[0].first = after.ingress[0].ports[0].last = 4999;
  RunChanges(state, {{source::Op::kUpsert, after}}, {{source::Op::kUpsert, Cnp(7)}});
}

void BM_IncrementalClusterPriority(benchmark::State& state) {
  k8s::ClusterNetworkPolicy after = Cnp(7);
  after.priority = 999;  // to the end of its tier: every table it is in changes its bit order
  RunChanges(state, {{source::Op::kUpsert, after}}, {{source::Op::kUpsert, Cnp(7)}});
}

void BM_IncrementalNodeRelabel(benchmark::State& state) {
  const k8s::Node& before = Cluster(true).nodes[3];
  k8s::Node after = before;
  after.meta.labels["role"] = "infra";  // now a peer of every cluster policy's nodes rules
  RunChanges(state, {{source::Op::kUpsert, after}}, {{source::Op::kUpsert, before}});
}

void BM_IncrementalNamespaceRelabel(benchmark::State& state) {
  k8s::Namespace before;
  for (const auto& n : Cluster(true).namespaces) {
    if (n.meta.name == "ns-7") before = n;
  }
  k8s::Namespace after = before;
  after.meta.labels["team"] = "team-8";  // other cluster policies select it, and see it as a peer
  RunChanges(state, {{source::Op::kUpsert, after}}, {{source::Op::kUpsert, before}});
}

void BM_IncrementalNewIdentity(benchmark::State& state) {
  k8s::Pod p;
  for (const auto& pod : Cluster(true).pods) {
    if (pod.meta.ns == "ns-7" && pod.meta.name == "web-0-0") p = pod;
  }
  p.meta.name = "canary";
  p.meta.labels["track"] = "canary";
  p.pod_ips = {"10.255.0.2"};
  RunChanges(state, {{source::Op::kUpsert, p}}, {{source::Op::kDelete, p}});
}

BENCHMARK(BM_IncrementalClusterRuleEdit)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_IncrementalClusterPriority)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_IncrementalNodeRelabel)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_IncrementalNamespaceRelabel)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_IncrementalNewIdentity)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  netfence::bench::RatioReporter reporter;
  reporter.AddPeer("BM_ClassifyTiered", "BM_ClassifyFlat");
  reporter.AddPeer("BM_CompileWithTiers", "BM_CompileWithoutTiers");
  for (const char* b : {"BM_IncrementalClusterRuleEdit", "BM_IncrementalClusterPriority", "BM_IncrementalNodeRelabel",
                        "BM_IncrementalNamespaceRelabel", "BM_IncrementalNewIdentity"}) {
    reporter.AddPeer(b, "BM_CompileWithTiers");
  }
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
