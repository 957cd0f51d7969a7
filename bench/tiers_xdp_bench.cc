// SPDX-License-Identifier: Apache-2.0
// ClusterNetworkPolicy tiers in the XDP program: the new-flow cost of one table holding 1,000
// Admin-tier ClusterNetworkPolicies x 25 rules (Pass, Deny, Accept in turn) in front of a
// 10k-rule NetworkPolicy, against one table of the same 35,000 rules without tiers (the peer,
// same run, same frames; goal: within 1.2x), and xdp_drop as the floor. BPF_PROG_TEST_RUN,
// stateless program with the verdict cache off, so every run walks the tables (the AND and,
// for an Admin Pass, the second search). Audit mode on the same 35,000 rules: every other one
// in a second policy annotated netfence.io/enforcement: audit, so each new flow is decided
// twice (enforced, audit bits masked out; audited, every bit) from one lookup. Needs root.
//   tiers_xdp_bench [--rounds=N] [--repeat=N]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_main.h"
#include "bench/cluster_gen.h"
#include "bench/xdp_bench_util.h"
#include "controlplane/compiler/compiler.h"
#include "dataplane/xdp/xdp_program.h"

namespace netfence::bench {
namespace {

constexpr int kGroups = 64, kCnps = 1000, kRulesPerCnp = 25, kNpRules = 10000, kFrames = 512;

// Half the frames match a random rule j's pattern (group j % 64, port 1000 + j % 4000), half
// ask a random (group, port): the trace of tiers_bench, as frames.
std::vector<Frame> Frames(const WideTable& w) {
  std::mt19937_64 rng(42);
  const int total = kCnps * kRulesPerCnp + kNpRules;
  std::vector<Frame> frames;
  for (int k = 0; k < kFrames; ++k) {
    const int j = static_cast<int>(rng() % total);
    const int g = k % 2 == 0 ? j % kGroups : static_cast<int>(rng() % kGroups);
    const int port = k % 2 == 0 ? 1000 + j % 4000 : 1000 + static_cast<int>(rng() % 4000);
    frames.push_back(TcpFrame({w.clients[static_cast<size_t>(g)], w.server, static_cast<uint16_t>(1024 + k),
                               static_cast<uint16_t>(port), 0x02}));
  }
  return frames;
}

StatusOr<std::unique_ptr<xdp::XdpProgram>> Load(const WideTable& w) {
  xdp::LoadOptions o;
  o.conntrack = false;
  o.events = false;
  o.verdict_cache = false;
  o.log = [](std::string_view) {};
  auto p = xdp::XdpProgram::Load(o);
  if (!p.ok()) return p.status();
  if (Status s = (*p)->Program(compiler::Compile(w.state)); !s.ok()) return s;
  return p;
}

int Main(int argc, char** argv) {
  int rounds = 5;
  uint32_t repeat = 2000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--rounds=", 9) == 0) {
      rounds = std::max(1, std::atoi(argv[i] + 9));
    } else if (std::strncmp(argv[i], "--repeat=", 9) == 0) {
      repeat = static_cast<uint32_t>(std::max(1, std::atoi(argv[i] + 9)));
    } else {
      std::fprintf(stderr, "usage: tiers_xdp_bench [--rounds=N] [--repeat=N]\n");
      return 2;
    }
  }
  if (Status s = PinToCpu(0); !s.ok()) std::fprintf(stderr, "warning: %s\n", s.message().c_str());
  std::printf("generating and compiling the tables (%d CNPs x %d rules + %d NetworkPolicy rules)...\n", kCnps,
              kRulesPerCnp, kNpRules);
  const WideTable tiered_w = GenerateTieredWideTable(kCnps, kRulesPerCnp, kNpRules, kGroups);
  const WideTable flat_w = GenerateWideTable(kCnps * kRulesPerCnp + kNpRules, kGroups);
  // The same 35,000 rules in two policies over the same server: the odd ones in audit.
  WideTable audit_w = flat_w;
  {
    k8s::NetworkPolicy& enforced = audit_w.state.policies.at(0);
    k8s::NetworkPolicy in_audit = enforced;
    in_audit.meta.name = "wide-audit";
    in_audit.meta.enforcement = "audit";
    in_audit.ingress.clear();
    std::vector<k8s::NetworkPolicyRule> kept;
    for (size_t i = 0; i < enforced.ingress.size(); ++i)
      (i % 2 ? in_audit.ingress : kept).push_back(enforced.ingress[i]);
    enforced.ingress = std::move(kept);
    audit_w.state.policies.push_back(std::move(in_audit));
  }
  auto tiered = Load(tiered_w);
  auto flat = Load(flat_w);
  auto audit = Load(audit_w);
  auto drop = LoadReturnProgram(1 /* XDP_DROP */);
  for (const Status* s : {&tiered.status(), &flat.status(), &audit.status(), &drop.status()}) {
    if (!s->ok()) {
      std::printf("skipped: %s\n", s->message().c_str());
      return 0;
    }
  }
  const std::vector<Frame> tf = Frames(tiered_w), ff = Frames(flat_w);
  struct Row {
    const char* name;
    int fd;
    const std::vector<Frame>* frames;
    std::vector<double> ns;
    TimedRuns last;
  } rows[] = {{"xdp_drop (floor)", drop->get(), &ff, {}, {}},
              {"flat: 35,000 NetworkPolicy rules (peer)", (*flat)->prog_fd(), &ff, {}, {}},
              {"tiered: 25,000 Admin CNP rules + 10,000 NetworkPolicy rules", (*tiered)->prog_fd(), &tf, {}, {}},
              {"audit: the same 35,000 rules, every other one in audit", (*audit)->prog_fd(), &ff, {}, {}}};
  for (Row& r : rows) (void)TimeFrames(r.fd, *r.frames, 16);  // warm-up
  for (int round = 0; round < rounds; ++round) {
    for (Row& r : rows) {
      auto t = TimeFrames(r.fd, *r.frames, repeat);
      if (!t.ok()) {
        std::printf("failed: %s\n", t.status().message().c_str());
        return 1;
      }
      r.ns.push_back(t->mean_ns);
      r.last = *t;
    }
  }
  std::printf("BPF_PROG_TEST_RUN, %d frames x repeat %u, median of %d rounds (ns per packet, new flow, no cache):\n",
              kFrames, repeat, rounds);
  for (const Row& r : rows) {
    std::printf("  %-62s %8.1f ns  (passed %zu, dropped %zu)\n", r.name, Median(r.ns), r.last.passed, r.last.dropped);
  }
  const double floor = Median(rows[0].ns), flat_ns = Median(rows[1].ns), tiered_ns = Median(rows[2].ns),
               audit_ns = Median(rows[3].ns);
  std::printf("ratio tiered / flat: %.2fx (goal <= 1.2x); over the xdp_drop floor: %.2fx\n", tiered_ns / flat_ns,
              (tiered_ns - floor) / (flat_ns - floor));
  std::printf("ratio audit / flat: %.2fx (two decisions from one lookup); over the xdp_drop floor: %.2fx\n",
              audit_ns / flat_ns, (audit_ns - floor) / (flat_ns - floor));
  return 0;
}

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) { return netfence::bench::Main(argc, argv); }
