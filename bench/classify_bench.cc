// SPDX-License-Identifier: Apache-2.0
// Classifier lookups on a warm table with 1k / 10k / 100k rules, and a linear scan over
// the same rules (first match wins, as iptables evaluates them) as the peer in this run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>

#include "bench/cluster_gen.h"
#include "bench/ratio_reporter.h"
#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"

namespace netfence::bench {
namespace {

constexpr int kGroups = 64;
constexpr size_t kTrace = 65536;

struct LinearRule {
  uint32_t identity;  // the one peer identity of the rule
  uint16_t port;
};

struct Setup {
  std::shared_ptr<const classifier::Classifier> classifier;
  std::vector<LinearRule> linear;  // in rule order
  std::vector<classifier::FlowKey> trace;
  std::vector<uint32_t> client_identity;
  IpAddr server;
};

const Setup& Get(int rules) {
  static std::map<int, std::unique_ptr<Setup>> cache;
  auto& s = cache[rules];
  if (s) return *s;
  s = std::make_unique<Setup>();
  WideTable w = GenerateWideTable(rules, kGroups);
  auto tables = std::make_shared<const v1::RuleTables>(compiler::Compile(w.state));
  s->classifier = *classifier::Classifier::Load(tables);
  s->server = w.server;
  for (const auto& c : w.clients) s->client_identity.push_back(s->classifier->IdentityOf(c));
  for (int i = 0; i < rules; ++i) {
    s->linear.push_back({s->client_identity[i % kGroups], static_cast<uint16_t>(1000 + i % 4000)});
  }
  // Half the packets hit a random rule, half are random (mostly misses: a full scan).
  for (const WideProbe& p : WideTrace(rules, kGroups, kTrace)) {
    s->trace.push_back({w.clients[static_cast<size_t>(p.group)], w.server, 6, p.port});
  }
  return *s;
}

void BM_Classify(benchmark::State& state) {
  const Setup& s = Get(static_cast<int>(state.range(0)));
  size_t k = 0, allowed = 0;
  for (auto _ : state) {
    auto d = s.classifier->Classify(s.trace[k++ & (kTrace - 1)]);
    allowed += d.allowed();
    benchmark::DoNotOptimize(d);
  }
  state.counters["allowed_share"] = static_cast<double>(allowed) / static_cast<double>(state.iterations());
}

// The peer: every rule in order until the first whose port and peer identity match.
void BM_LinearScan(benchmark::State& state) {
  const Setup& s = Get(static_cast<int>(state.range(0)));
  size_t k = 0, allowed = 0;
  for (auto _ : state) {
    const auto& key = s.trace[k++ & (kTrace - 1)];
    uint32_t id = s.classifier->IdentityOf(key.src);  // the same ipcache lookup the classifier does
    int hit = -1;
    for (size_t i = 0; i < s.linear.size(); ++i) {
      if (s.linear[i].port == key.dport && s.linear[i].identity == id) {
        hit = static_cast<int>(i);
        break;
      }
    }
    allowed += hit >= 0;
    benchmark::DoNotOptimize(hit);
  }
  state.counters["allowed_share"] = static_cast<double>(allowed) / static_cast<double>(state.iterations());
}

BENCHMARK(BM_Classify)->Arg(1000)->Arg(10000)->Arg(100000);
BENCHMARK(BM_LinearScan)->Arg(1000)->Arg(10000)->Arg(100000);

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  netfence::bench::RatioReporter reporter;
  reporter.AddPeer("BM_Classify", "BM_LinearScan");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
