// SPDX-License-Identifier: Apache-2.0
// netfencectl diff: which connections one policy change flips, on the generated clusters of
// compile_bench (namespaces of five deployments x 3 replicas, default deny, 10 rules each).
// Goal (issue 18): one policy change on 15k pods in <= 1 s, on 150k pods in <= 10 s.
//
//   BM_DiffFast/P        Flips(): classes of pods, only pairs whose verdict can change
//   BM_DiffFastAll/P     what the command does besides reading the cluster: apply the change,
//                        compile both states, load both classifiers, Flips()
//   BM_DiffBruteForce/P  the peer, in the same run: FlipsBruteForce(), every ordered pod pair
//                        on every port (quadratic: run at the sizes where it ends in minutes)
//   BM_DiffFastOnePort/P, BM_DiffBruteForceOnePort/P  the same two on TCP/443 alone, so that
//                        the peer ends at 15k pods
//   BM_DiffFastRelabel/P, BM_DiffBruteForceRelabel/P  another change: the prometheus pod, which
//                        every namespace's ingress policy admits, gets a new label (a new identity)
//
// The change (unless named Relabel): ns-7's ingress policy stops admitting anyone on 443 (its web rule keeps 80), so
// every pod is cut from ns-7's three web pods on TCP/443. Both ways must find the same flips
// (checked once per size, outside the timing).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "bench/cluster_gen.h"
#include "bench/ratio_reporter.h"
#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/reach/diff.h"

namespace netfence::bench {
namespace {

struct Side {
  k8s::ClusterState state;
  std::shared_ptr<const v1::RuleTables> tables;
  std::shared_ptr<const classifier::Classifier> classifier;
};

Side CompileSide(k8s::ClusterState s) {
  Side side;
  side.state = std::move(s);
  side.tables = std::make_shared<const v1::RuleTables>(compiler::Compile(side.state));
  auto c = classifier::Classifier::Load(side.tables);
  if (!c.ok()) {
    std::fprintf(stderr, "diff_bench: %s\n", c.status().message().c_str());
    std::exit(1);
  }
  side.classifier = *c;
  return side;
}

// A relabel of the one pod every namespace's policies name (prometheus): its identity changes,
// so the row of it in every namespace's ingress table moves.
reach::Change PrometheusRelabel(const k8s::ClusterState& s) {
  reach::Change change;
  for (const auto& p : s.pods) {
    if (p.meta.name == "prometheus") {
      k8s::Pod relabelled = p;
      relabelled.meta.labels["version"] = "v2";
      change.objects.pods.push_back(relabelled);
    }
  }
  return change;
}

reach::Change OnePolicyChange(const k8s::ClusterState& s) {
  reach::Change change;
  for (const auto& p : s.policies) {
    if (p.meta.ns == "ns-7" && p.meta.name == "ingress") {
      k8s::NetworkPolicy edited = p;
      edited.ingress[0].ports.resize(1);  // web <- anyone on 80 only, no more 443
      change.objects.policies.push_back(edited);
    }
  }
  return change;
}

struct Case {
  Side before, after;
  reach::Change change;
  std::vector<reach::ProtoPort> ports;
};

enum class ChangeKind { kPolicyEdit, kPrometheusRelabel };

const Case& CaseOf(int pods, ChangeKind kind = ChangeKind::kPolicyEdit) {
  static std::map<std::pair<int, ChangeKind>, std::unique_ptr<Case>> cases;
  auto& c = cases[{pods, kind}];
  if (!c) {
    c = std::make_unique<Case>();
    ClusterShape shape;
    shape.namespaces = pods / (shape.deployments_per_namespace * shape.replicas);
    c->before = CompileSide(GenerateCluster(shape));
    c->change = kind == ChangeKind::kPolicyEdit ? OnePolicyChange(c->before.state) : PrometheusRelabel(c->before.state);
    k8s::ClusterState after = c->before.state;
    if (Status st = reach::ApplyChange(c->change, &after); !st.ok()) {
      std::fprintf(stderr, "diff_bench: %s\n", st.message().c_str());
      std::exit(1);
    }
    c->after = CompileSide(std::move(after));
    c->ports = reach::PortsOfInterest(c->before.state, c->after.state);
  }
  return *c;
}

// Every port of interest, or only TCP/443 (the port the change is about).
const std::vector<reach::ProtoPort>& PortsOf(const Case& c, bool one_port) {
  static const std::vector<reach::ProtoPort> k443 = {{k8s::Protocol::kTCP, 443}};
  return one_port ? k443 : c.ports;
}

void Report(benchmark::State& state, const Case& c, size_t ports, size_t flips) {
  state.counters["pods"] = static_cast<double>(c.before.state.pods.size());
  state.counters["ports"] = static_cast<double>(ports);
  state.counters["flips"] = static_cast<double>(flips);
}

void RunFast(benchmark::State& state, bool one_port, ChangeKind kind = ChangeKind::kPolicyEdit) {
  const Case& c = CaseOf(static_cast<int>(state.range(0)), kind);
  const auto& ports = PortsOf(c, one_port);
  size_t flips = 0;
  reach::FlipsStats stats;
  for (auto _ : state) {
    auto f = reach::Flips(c.before.state, *c.before.classifier, c.after.state, *c.after.classifier, ports, &stats);
    flips = f.size();
    benchmark::DoNotOptimize(f);
  }
  Report(state, c, ports.size(), flips);
  state.counters["classes"] = static_cast<double>(stats.classes);
  state.counters["class_pairs"] = static_cast<double>(stats.class_pairs_judged);
}

void RunBruteForce(benchmark::State& state, bool one_port, ChangeKind kind = ChangeKind::kPolicyEdit) {
  const Case& c = CaseOf(static_cast<int>(state.range(0)), kind);
  const auto& ports = PortsOf(c, one_port);
  std::vector<reach::Flip> brute;
  for (auto _ : state) {
    brute = reach::FlipsBruteForce(c.before.state, *c.before.classifier, c.after.state, *c.after.classifier, ports);
    benchmark::DoNotOptimize(brute);
  }
  Report(state, c, ports.size(), brute.size());
  // The fast way must find the same flips (outside the timing).
  auto fast = reach::Flips(c.before.state, *c.before.classifier, c.after.state, *c.after.classifier, ports);
  bool same = fast.size() == brute.size();
  for (size_t i = 0; same && i < fast.size(); ++i) {
    same = fast[i].from == brute[i].from && fast[i].to == brute[i].to && fast[i].port == brute[i].port &&
           fast[i].after.allowed == brute[i].after.allowed;
  }
  if (!same) state.SkipWithError("Flips and FlipsBruteForce disagree");
}

void BM_DiffFast(benchmark::State& state) { RunFast(state, false); }
void BM_DiffFastOnePort(benchmark::State& state) { RunFast(state, true); }
void BM_DiffBruteForce(benchmark::State& state) { RunBruteForce(state, false); }
void BM_DiffBruteForceOnePort(benchmark::State& state) { RunBruteForce(state, true); }
void BM_DiffFastRelabel(benchmark::State& state) { RunFast(state, false, ChangeKind::kPrometheusRelabel); }
void BM_DiffBruteForceRelabel(benchmark::State& state) { RunBruteForce(state, false, ChangeKind::kPrometheusRelabel); }

void BM_DiffFastAll(benchmark::State& state) {
  const Case& c = CaseOf(static_cast<int>(state.range(0)));
  size_t flips = 0;
  for (auto _ : state) {
    k8s::ClusterState after = c.before.state;
    if (!reach::ApplyChange(c.change, &after).ok()) state.SkipWithError("change does not apply");
    const Side b = CompileSide(c.before.state), a = CompileSide(std::move(after));
    auto f = reach::Flips(b.state, *b.classifier, a.state, *a.classifier, reach::PortsOfInterest(b.state, a.state));
    flips = f.size();
    benchmark::DoNotOptimize(f);
  }
  Report(state, c, c.ports.size(), flips);
}

BENCHMARK(BM_DiffFast)->Arg(1500)->Arg(15000)->Arg(150000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DiffFastAll)->Arg(1500)->Arg(15000)->Arg(150000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DiffFastOnePort)->Arg(15000)->Unit(benchmark::kMillisecond)->UseRealTime();
// The peer is quadratic in pods: every port at 1.5k pods (seconds), TCP/443 alone at 15k pods
// (minutes, one iteration). Every port at 15k pods would take about half an hour.
BENCHMARK(BM_DiffBruteForce)->Arg(1500)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DiffBruteForceOnePort)->Arg(15000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
// A relabelled pod that every namespace's policies name: its row moves in every ingress table.
BENCHMARK(BM_DiffFastRelabel)->Arg(1500)->Arg(15000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DiffBruteForceRelabel)->Arg(1500)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  netfence::bench::RatioReporter reporter;
  reporter.AddPeer("BM_DiffFast", "BM_DiffBruteForce");
  reporter.AddPeer("BM_DiffFastAll", "BM_DiffBruteForce");
  reporter.AddPeer("BM_DiffFastOnePort", "BM_DiffBruteForceOnePort");
  reporter.AddPeer("BM_DiffFastRelabel", "BM_DiffBruteForceRelabel");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
