// SPDX-License-Identifier: Apache-2.0
// DPDK's own packet classifier, rte_acl, against netfence's (the burst classifier the DPDK
// pipeline calls) on the same wide table (GenerateWideTable: rule i admits client group
// i % 64 on TCP port 1000 + i % 4000 to one server) and the same trace (WideTrace: half hits,
// half random), 1k / 10k / 100k rules of 64 and 63 client groups, bursts of 32 keys:
//   BM_RteAcl/rules:R/groups:G         rte_acl_classify over 5-tuple keys: one rule per policy
//                                      rule (source /32 of the group's pod, destination /32,
//                                      TCP, destination port), priority in rule order so that
//                                      the first rule wins (netfence's lowest bit)
//   BM_NetfenceBurst/rules:R/groups:G  classifier::ClassifyBurst over the same flows
// Counters: build_ms (rte_acl_create + add_rules + build; netfence Compile + Classifier::Load),
// mem_MB (the ACL context's rte_malloc bytes; the RuleTables in memory, whose bitmap arena
// alone is words_MB) and build_peak_MB (the peak RSS above the start of the build:
// temporaries and result, except EAL pages touched before). Before any timing, every key's
// verdict and deciding rule must agree between the two.
// With 64 groups (classify_bench's), gcd(64, 4000) = 32: the table has 8,000 distinct
// (group, port) patterns and from 8k rules on rule i repeats rule i - 8000 (rte_acl's trie
// merges them, netfence keeps a bit for each); with 63 groups every rule is distinct.
// Needs root (the EAL, without hugepages). Run by scripts/bench.sh.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/cluster_gen.h"
#include "bench/ratio_reporter.h"
#include "common/classifier/burst.h"
#include "controlplane/compiler/compiler.h"
#include "dataplane/dpdk/eal.h"

namespace netfence::bench {
namespace {

constexpr size_t kTrace = 65536;
constexpr uint32_t kBurst = 32;

// What rte_acl reads of a packet, in network byte order: the fields of DPDK's examples/l3fwd
// l3fwd_acl.c (which reads them in place in the IPv4 header), aligned in a 16-byte key.
struct AclKey {
  uint8_t proto;
  uint8_t pad[3];
  uint32_t src;
  uint32_t dst;
  uint16_t sport;
  uint16_t dport;
};
enum { kProto, kSrc, kDst, kSport, kDport, kFields };
RTE_ACL_RULE_DEF(AclRule, kFields);

constexpr rte_acl_field_def kFieldDefs[kFields] = {
    {RTE_ACL_FIELD_TYPE_BITMASK, 1, kProto, 0, offsetof(AclKey, proto)},
    {RTE_ACL_FIELD_TYPE_MASK, 4, kSrc, 1, offsetof(AclKey, src)},
    {RTE_ACL_FIELD_TYPE_MASK, 4, kDst, 2, offsetof(AclKey, dst)},
    {RTE_ACL_FIELD_TYPE_RANGE, 2, kSport, 3, offsetof(AclKey, sport)},  // both ports: one 4-byte input
    {RTE_ACL_FIELD_TYPE_RANGE, 2, kDport, 3, offsetof(AclKey, dport)},
};

struct Built {
  double build_ms = 0;
  double mem_mb = 0;
  double build_peak_mb = 0;
};

struct Setup {
  std::shared_ptr<const classifier::Classifier> netfence;
  std::vector<classifier::BurstQuery> queries;
  Built nf;
  double words_mb = 0;
  rte_acl_ctx* acl = nullptr;
  std::vector<AclKey> keys;
  std::vector<const uint8_t*> key_ptrs;
  Built ac;
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "acl_bench: %s\n", what.c_str());
  std::exit(1);
}

// /proc/self/status's VmRSS or VmHWM (the peak, reset by ResetPeak) in MB.
double ProcMb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
  }
  return 0;
}
void ResetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }

size_t RteMallocBytes() {
  rte_malloc_socket_stats st{};
  return rte_malloc_get_socket_stats(0, &st) == 0 ? st.heap_allocsz_bytes : 0;
}

// Times `build` and records its peak RSS above the start, free heap returned to the kernel
// first so that the build's pages are counted whatever ran before it.
template <typename F>
Built Measure(F&& build) {
  malloc_trim(0);
  ResetPeak();
  const double rss = ProcMb("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  build();
  Built b;
  b.build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  b.build_peak_mb = ProcMb("VmHWM") - rss;
  return b;
}

rte_acl_ctx* BuildAcl(const WideTable& w, int rules) {
  const std::string name = "wide" + std::to_string(rules) + "x" + std::to_string(w.groups);
  rte_acl_param param{name.c_str(), 0, RTE_ACL_RULE_SZ(kFields), static_cast<uint32_t>(rules)};
  rte_acl_ctx* ctx = rte_acl_create(&param);
  if (ctx == nullptr) Fail("rte_acl_create: " + std::string(rte_strerror(rte_errno)));
  std::vector<AclRule> acl(static_cast<size_t>(rules));
  for (int i = 0; i < rules; ++i) {
    AclRule& r = acl[static_cast<size_t>(i)];
    r.data = {1, static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - i), static_cast<uint32_t>(i + 1)};  // 0: no match
    r.field[kProto].value.u8 = 6;
    r.field[kProto].mask_range.u8 = 0xff;
    r.field[kSrc].value.u32 = w.clients[static_cast<size_t>(i % w.groups)].v4();
    r.field[kSrc].mask_range.u32 = 32;
    r.field[kDst].value.u32 = w.server.v4();
    r.field[kDst].mask_range.u32 = 32;
    r.field[kSport].mask_range.u16 = 0xffff;
    r.field[kDport].value.u16 = static_cast<uint16_t>(1000 + i % 4000);
    r.field[kDport].mask_range.u16 = static_cast<uint16_t>(1000 + i % 4000);
  }
  if (int rc = rte_acl_add_rules(ctx, reinterpret_cast<const rte_acl_rule*>(acl.data()), acl.size()); rc != 0) {
    Fail("rte_acl_add_rules: " + std::string(rte_strerror(-rc)));
  }
  rte_acl_config cfg{};
  cfg.num_categories = 1;
  cfg.num_fields = kFields;
  std::copy(std::begin(kFieldDefs), std::end(kFieldDefs), cfg.defs);
  if (int rc = rte_acl_build(ctx, &cfg); rc != 0) {
    Fail("rte_acl_build of " + std::to_string(rules) + " rules: " + rte_strerror(-rc));
  }
  return ctx;
}

// Every key: the same verdict, and the same deciding rule (rte_acl's userdata is rule + 1).
void CheckAgreement(Setup& s, const std::string& what) {
  std::vector<classifier::BurstAnswer> answers(kTrace);
  std::vector<uint32_t> results(kTrace);
  classifier::ClassifyBurst(*s.netfence, s.queries, answers);
  rte_acl_classify(s.acl, s.key_ptrs.data(), results.data(), kTrace, 1);
  const v1::RuleTables& t = s.netfence->tables();
  size_t allowed = 0;
  for (size_t k = 0; k < kTrace; ++k) {
    const classifier::Decision& d = answers[k].decision;
    const bool nf = d.allowed();
    const auto& table = t.tables(static_cast<int>(d.ingress.table));
    const int64_t nf_rule = d.ingress.by_rule() ? int64_t{table.rule_index(static_cast<int>(d.ingress.rule_bit))} : -1;
    if (nf != (results[k] != 0) || nf_rule != static_cast<int64_t>(results[k]) - 1) {
      Fail(what + ", key " + std::to_string(k) + " (dport " + std::to_string(s.queries[k].key.dport) + "): netfence " +
           (nf ? "allows" : "denies") + " by rule " + std::to_string(nf_rule) + ", rte_acl " +
           (results[k] != 0 ? "allows" : "denies") + " by rule " +
           std::to_string(static_cast<int64_t>(results[k]) - 1));
    }
    allowed += nf;
  }
  std::printf("acl_bench: %s: rte_acl and netfence agree on all %zu keys (%zu allowed)\n", what.c_str(), kTrace,
              allowed);
}

// By (rules, groups).
std::map<std::pair<int, int>, std::unique_ptr<Setup>>& Setups() {
  static std::map<std::pair<int, int>, std::unique_ptr<Setup>> setups;
  return setups;
}

Setup& Get(const benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  const int groups = static_cast<int>(state.range(1));
  auto& s = Setups()[{rules, groups}];
  if (s) return *s;
  s = std::make_unique<Setup>();
  const WideTable w = GenerateWideTable(rules, groups);
  std::shared_ptr<const v1::RuleTables> tables;
  s->nf = Measure([&] {
    tables = std::make_shared<const v1::RuleTables>(compiler::Compile(w.state));
    auto loaded = classifier::Classifier::Load(tables);
    if (!loaded.ok()) Fail("Classifier::Load: " + loaded.status().message());
    s->netfence = std::move(loaded).value();
  });
  s->nf.mem_mb = static_cast<double>(tables->SpaceUsedLong()) / 1e6;
  s->words_mb = static_cast<double>(tables->words_size()) * 8 / 1e6;
  const size_t before = RteMallocBytes();
  s->ac = Measure([&] { s->acl = BuildAcl(w, rules); });
  s->ac.mem_mb = static_cast<double>(RteMallocBytes() - before) / 1e6;
  for (const WideProbe& p : WideTrace(rules, groups, kTrace)) {
    const IpAddr& src = w.clients[static_cast<size_t>(p.group)];
    s->queries.push_back({{src, w.server, 6, p.port}, false});
    s->keys.push_back({6,
                       {},
                       rte_cpu_to_be_32(src.v4()),
                       rte_cpu_to_be_32(w.server.v4()),
                       rte_cpu_to_be_16(40000),
                       rte_cpu_to_be_16(p.port)});
  }
  for (const AclKey& k : s->keys) s->key_ptrs.push_back(reinterpret_cast<const uint8_t*>(&k));
  CheckAgreement(*s, std::to_string(rules) + " rules, " + std::to_string(groups) + " groups");
  rte_acl_dump(s->acl);  // its classify method (alg: enum rte_acl_classify_alg) and tries
  return *s;
}

void Report(benchmark::State& state, const Built& b, uint64_t allowed) {
  const double packets = static_cast<double>(state.iterations()) * kBurst;
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["ns_per_pkt"] = benchmark::Counter(packets, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["allowed_share"] = static_cast<double>(allowed) / packets;
  state.counters["build_ms"] = b.build_ms;
  state.counters["mem_MB"] = b.mem_mb;
  state.counters["build_peak_MB"] = b.build_peak_mb;
}

void BM_RteAcl(benchmark::State& state) {
  Setup& s = Get(state);
  uint32_t results[kBurst];
  size_t at = 0;
  uint64_t allowed = 0;
  for (auto _ : state) {
    rte_acl_classify(s.acl, s.key_ptrs.data() + at, results, kBurst, 1);
    for (uint32_t r : results) allowed += r != 0;
    at = (at + kBurst) % kTrace;
  }
  Report(state, s.ac, allowed);
}

void BM_NetfenceBurst(benchmark::State& state) {
  const Setup& s = Get(state);
  classifier::BurstAnswer answers[kBurst];
  size_t at = 0;
  uint64_t allowed = 0;
  for (auto _ : state) {
    classifier::ClassifyBurst(*s.netfence, {s.queries.data() + at, kBurst}, answers);
    for (const auto& a : answers) allowed += a.decision.allowed();
    at = (at + kBurst) % kTrace;
  }
  Report(state, s.nf, allowed);
  state.counters["words_MB"] = s.words_mb;
}

// 64 groups as classify_bench (8,000 distinct patterns); 63 groups: every rule distinct.
void Sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rules", "groups"});
  for (int rules : {1000, 10000, 100000}) b->Args({rules, 64});
  for (int rules : {10000, 100000}) b->Args({rules, 63});
}
BENCHMARK(BM_RteAcl)->Apply(Sizes);
BENCHMARK(BM_NetfenceBurst)->Apply(Sizes);

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  netfence::dpdk::EalOptions eal;
  eal.program = "netfence-acl-bench";
  eal.workers = 0;
  eal.memory_mb = 1024;  // rte_acl's contexts live in EAL memory (100k rules: 25 MB)
  if (netfence::Status s = netfence::dpdk::InitEal(eal); !s.ok()) {
    std::fprintf(stderr, "acl_bench: the EAL (root, --no-huge): %s\n", s.message().c_str());
    return 1;
  }
  netfence::bench::RatioReporter reporter;
  reporter.AddPeer("BM_NetfenceBurst", "BM_RteAcl");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  for (auto& [size, s] : netfence::bench::Setups()) rte_acl_free(s->acl);
  netfence::dpdk::CleanupEal();
}
