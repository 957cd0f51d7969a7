// SPDX-License-Identifier: Apache-2.0
// Differential test: the XDP program (BPF_PROG_TEST_RUN) against the user-space classifier
// on the same compiled tables. Random clusters from netfence_random_cluster with random
// packets in random encapsulations (VLAN tags, IPv4 options, IPv6 extension headers), and
// synthetic tables wider than any random cluster's (several summary words). Verdict, each
// direction's outcome, table and rule bit, and the parsed flow key must all agree.
//
//   NETFENCE_XDP_SEED=N  run only cluster N (replay a failure)
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>

#include "common/classifier/classifier.h"
#include "common/tables/wire.h"
#include "controlplane/compiler/compiler.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/dataplane/xdp/xdp_harness.h"
#include "tests/differential/audit_tables.h"
#include "tests/differential/cluster_dump.h"
#include "tests/differential/random_cluster.h"

namespace netfence::xdptest {
namespace {

using classifier::Decision;
using classifier::DirectionDecision;
using reference::Packet;

constexpr int kClusters = 320;
constexpr int kPacketsPerCluster = 320;  // 102,400 packets
constexpr int kMaxReports = 5;

std::string Text(const DirectionDecision& d) {
  static const char* kNames[] = {"not isolated", "allowed", "denied", "denied by rule"};
  std::ostringstream o;
  o << kNames[static_cast<int>(d.outcome)] << " table " << d.table << " rule " << d.rule_bit;
  return o.str();
}
std::string Text(uint32_t outcome, uint32_t table, uint32_t rule) {
  return Text(DirectionDecision{static_cast<classifier::Outcome>(outcome > 3 ? 2 : outcome), table, rule}) +
         (outcome > 3 ? " (bad outcome " + std::to_string(outcome) + ")" : "");
}

// Empty when the program agrees with the classifier on `p`; else what differs.
std::string Compare(const Packet& p, const Decision& want, const RunResult& got) {
  if (!got.ok) return "test run failed: " + got.error;
  std::string diff;
  const uint32_t want_action = want.allowed() ? XDP_PASS : XDP_DROP;
  const nf_decision& d = got.decision;
  if (got.action != want_action)
    diff += "  action " + std::to_string(got.action) + ", want " + std::to_string(want_action) + "\n";
  const std::string e = Text(d.verdict.egress_outcome, d.verdict.egress_table, d.verdict.egress_rule);
  const std::string i = Text(d.verdict.ingress_outcome, d.verdict.ingress_table, d.verdict.ingress_rule);
  if (e != Text(want.egress)) diff += "  egress: xdp " + e + ", classifier " + Text(want.egress) + "\n";
  if (i != Text(want.ingress)) diff += "  ingress: xdp " + i + ", classifier " + Text(want.ingress) + "\n";
  // The audited decisions (the same tables as the enforced ones).
  const std::string ae = Text(d.verdict.audit_egress_outcome, d.verdict.egress_table, d.verdict.audit_egress_rule);
  const std::string ai = Text(d.verdict.audit_ingress_outcome, d.verdict.ingress_table, d.verdict.audit_ingress_rule);
  if (ae != Text(want.audit_egress))
    diff += "  audit egress: xdp " + ae + ", classifier " + Text(want.audit_egress) + "\n";
  if (ai != Text(want.audit_ingress))
    diff += "  audit ingress: xdp " + ai + ", classifier " + Text(want.audit_ingress) + "\n";
  if (d.parsed != 1 || d.proto != p.proto || d.dport != p.dport || std::memcmp(d.src, p.src.bytes.data(), 16) != 0 ||
      std::memcmp(d.dst, p.dst.bytes.data(), 16) != 0) {
    diff += "  parsed flow key differs (proto " + std::to_string(d.proto) + " dport " + std::to_string(d.dport) + ")\n";
  }
  return diff;
}

struct Coverage {
  int packets = 0, allowed = 0, high_rule_bits = 0, wide_tables = 0, fresh_loads = 0, denied_by_rule = 0;
  int audit_differs = 0;  // packets whose audited verdict is not the enforced one
  int by_outcome[2][4] = {};
  uint64_t rewrites = 0;      // generations written into a slot in place (slot_writer.h)
  uint64_t verdict_hits = 0;  // packets decided by the verdict cache
  void Add(const Decision& d) {
    ++packets;
    allowed += d.allowed();
    audit_differs += d.audit_differs();
    ++by_outcome[0][static_cast<int>(d.egress.outcome)];
    ++by_outcome[1][static_cast<int>(d.ingress.outcome)];
    denied_by_rule += d.egress.outcome == classifier::Outcome::kDeniedByRule ||
                      d.ingress.outcome == classifier::Outcome::kDeniedByRule;
    for (const auto* dir : {&d.egress, &d.ingress}) {
      high_rule_bits += dir->outcome == classifier::Outcome::kAllowed && dir->rule_bit >= 64;
    }
  }
};

// The program to use for `tables`: the current one reprogrammed (a new generation swapped in
// over the previous cluster's), or a freshly loaded one when `fresh`.
xdp::XdpProgram* ProgramFor(const v1::RuleTables& tables, bool fresh, std::unique_ptr<xdp::XdpProgram>* program,
                            std::unique_ptr<Harness>* harness, Coverage* coverage) {
  if (fresh || !*program) {
    if (*program) coverage->rewrites += (*program)->slot_rewrites();
    harness->reset();
    program->reset();
    auto loaded = xdp::XdpProgram::Load(StatelessOptions());
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status().message();
      return nullptr;
    }
    *program = std::move(loaded).value();
    *harness = std::make_unique<Harness>(**program);
    ++coverage->fresh_loads;
  }
  Status s = (*program)->Program(tables);
  if (!s.ok()) {
    ADD_FAILURE() << "Program: " << s.message();
    return nullptr;
  }
  return program->get();
}

// Sends kPacketsPerCluster random packets of `state` in random encapsulations, each twice
// (the second answer comes from the verdict cache, as the next connection of the same client
// would get it), and compares every answer with the classifier's: what differs, or "".
std::string JudgeRandomPackets(const k8s::ClusterState& state, const classifier::Classifier& oracle, Harness& harness,
                               std::mt19937_64& rng, std::mt19937_64& wrap, Coverage* coverage) {
  std::string report;
  for (int i = 0; i < kPacketsPerCluster; ++i) {
    const Packet p = reference::RandomPacket(rng, state);
    const Decision want = oracle.Classify({p.src, p.dst, p.proto, p.dport});
    coverage->Add(want);
    const std::vector<uint8_t> frame = xdptest::RandomEncapsulation(p.src, p.dst, p.proto, p.dport, wrap);
    std::string diff = Compare(p, want, harness.Run(frame));
    const std::string again = Compare(p, want, harness.Run(frame));
    if (!again.empty()) diff += "  asked again (verdict cache):\n" + again;
    if (!diff.empty() && report.size() < 4000) report += "packet " + std::to_string(i) + ": " + p.str() + "\n" + diff;
  }
  return report;
}

// A failure naming the seed (and how to replay it) and the cluster; counts it in *reports.
void ReportCluster(uint64_t seed, const std::string& report, const k8s::ClusterState& state, int* reports) {
  if (report.empty()) return;
  ++*reports;
  ADD_FAILURE() << "seed " << seed << " (replay: NETFENCE_XDP_SEED=" << seed << ")\n"
                << report << "cluster:\n"
                << reference::DescribeCluster(state);
}

TEST(XdpDifferential, AgreesWithClassifierOnRandomClusters) {
  NETFENCE_REQUIRE_BPF();
  const char* only = std::getenv("NETFENCE_XDP_SEED");
  const uint64_t first = only != nullptr ? std::strtoull(only, nullptr, 10) : 1;
  const int clusters = only != nullptr ? 1 : kClusters;
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<xdp::XdpProgram> program;
  std::unique_ptr<Harness> harness;
  Coverage coverage;
  int reports = 0;
  for (int c = 0; c < clusters && reports < kMaxReports; ++c) {
    const uint64_t seed = first + static_cast<uint64_t>(c);
    std::mt19937_64 rng(seed);
    std::mt19937_64 wrap(seed * 0x9E3779B97F4A7C15ull + 1);
    const k8s::ClusterState state = reference::RandomCluster(rng);
    auto compiled = std::make_shared<v1::RuleTables>(compiler::Compile(state));
    std::shared_ptr<const v1::RuleTables> tables = compiled;
    auto loaded = classifier::Classifier::Load(tables);
    ASSERT_TRUE(loaded.ok()) << "seed " << seed << ": " << loaded.status().message();
    const classifier::Classifier& oracle = **loaded;
    for (const auto& t : tables->tables()) coverage.wide_tables += t.rule_count() > 64;
    if (program && c % 40 == 0) coverage.verdict_hits += program->ReadCounters()[NF_CNT_VERDICT_HIT];  // replaced
    if (!ProgramFor(*tables, c % 40 == 0, &program, &harness, &coverage)) return;
    ReportCluster(seed, JudgeRandomPackets(state, oracle, *harness, rng, wrap, &coverage), state, &reports);
  }
  if (program) coverage.rewrites += program->slot_rewrites();
  if (program) coverage.verdict_hits += program->ReadCounters()[NF_CNT_VERDICT_HIT];
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[xdp differential] " << clusters << " clusters (" << coverage.fresh_loads << " program loads, "
            << coverage.rewrites << " generations rewritten in place), " << coverage.packets << " packets, "
            << coverage.allowed << " allowed, " << coverage.wide_tables << " table directions with > 64 rules, "
            << coverage.high_rule_bits << " verdicts by a rule bit >= 64, " << coverage.verdict_hits
            << " packets decided by the verdict cache, " << secs << " s\n";
  const char* kDirs[] = {"egress", "ingress"};
  for (int d = 0; d < 2; ++d) {
    std::cout << "[xdp differential] " << kDirs[d] << ": not isolated " << coverage.by_outcome[d][0] << ", allowed "
              << coverage.by_outcome[d][1] << ", denied " << coverage.by_outcome[d][2] << "\n";
    if (only == nullptr) {
      for (int o = 0; o < 3; ++o) EXPECT_GT(coverage.by_outcome[d][o], coverage.packets / 50) << kDirs[d] << " " << o;
    }
  }
  if (only == nullptr) {
    EXPECT_GE(coverage.packets, 100000);
    EXPECT_GT(coverage.rewrites, static_cast<uint64_t>(clusters) / 2);  // the in-place path is what is tested
    EXPECT_GE(coverage.verdict_hits, static_cast<uint64_t>(coverage.packets) / 2);  // every packet was asked twice
  }
}

// ClusterNetworkPolicy tiers (random CNPs at random, tying priorities, over random
// NetworkPolicies): every packet's Admin/NetworkPolicy/Baseline decision, Deny rules included,
// as the classifier gives it; asked twice, so the verdict cache answers the second time.
TEST(XdpDifferential, AgreesWithClassifierOnRandomTieredClusters) {
  NETFENCE_REQUIRE_BPF();
  const char* only = std::getenv("NETFENCE_XDP_SEED");
  const uint64_t first = only != nullptr ? std::strtoull(only, nullptr, 10) : 1;
  const int clusters = only != nullptr ? 1 : 64;
  std::unique_ptr<xdp::XdpProgram> program;
  std::unique_ptr<Harness> harness;
  Coverage coverage;
  int reports = 0, tiered_tables = 0, audited_clusters = 0;
  for (int c = 0; c < clusters && reports < kMaxReports; ++c) {
    const uint64_t seed = first + static_cast<uint64_t>(c);
    std::mt19937_64 rng(seed);
    std::mt19937_64 wrap(seed * 0x9E3779B97F4A7C15ull + 7);
    const k8s::ClusterState state = reference::RandomTieredCluster(rng);
    auto compiled = std::make_shared<v1::RuleTables>(compiler::Compile(state));
    if (c % 3 == 2) audited_clusters += reference::AuditSome(compiled.get(), rng) > 0;  // tiers and audit mixed
    std::shared_ptr<const v1::RuleTables> tables = compiled;
    auto loaded = classifier::Classifier::Load(tables);
    ASSERT_TRUE(loaded.ok()) << "seed " << seed << ": " << loaded.status().message();
    for (const auto& t : tables->tables()) tiered_tables += t.rule_flags_size() > 0;
    if (!ProgramFor(*tables, c % 16 == 0, &program, &harness, &coverage)) return;
    ReportCluster(seed, JudgeRandomPackets(state, **loaded, *harness, rng, wrap, &coverage), state, &reports);
  }
  std::cout << "[xdp differential, tiers] " << clusters << " clusters, " << tiered_tables << " tiered tables, "
            << coverage.packets << " packets, " << coverage.denied_by_rule << " denied by a ClusterNetworkPolicy rule, "
            << audited_clusters << " clusters with policies in audit, " << coverage.audit_differs
            << " packets whose audited verdict differs\n";
  if (only == nullptr) {
    EXPECT_GT(coverage.denied_by_rule, coverage.packets / 100) << "the random tiered clusters exercise no Deny rule";
    EXPECT_GT(coverage.audit_differs, 0) << "no audited tiered cluster gave a packet another audited verdict";
  }
}

// Audit mode: random policies of random clusters put in audit (reference::AuditSome). Every
// packet's enforced decision (which traffic follows) and audited decision, both directions,
// as the classifier gives them; some packets must have an audited verdict of their own, or
// the test proves nothing.
TEST(XdpDifferential, AgreesWithClassifierOnRandomAuditedClusters) {
  NETFENCE_REQUIRE_BPF();
  const char* only = std::getenv("NETFENCE_XDP_SEED");
  const uint64_t first = only != nullptr ? std::strtoull(only, nullptr, 10) : 1;
  const int clusters = only != nullptr ? 1 : 96;
  std::unique_ptr<xdp::XdpProgram> program;
  std::unique_ptr<Harness> harness;
  Coverage coverage;
  int reports = 0, audited_tables = 0;
  for (int c = 0; c < clusters && reports < kMaxReports; ++c) {
    const uint64_t seed = first + static_cast<uint64_t>(c);
    std::mt19937_64 rng(seed);
    std::mt19937_64 wrap(seed * 0x9E3779B97F4A7C15ull + 11);
    const k8s::ClusterState state = reference::RandomCluster(rng);
    auto compiled = std::make_shared<v1::RuleTables>(compiler::Compile(state));
    reference::AuditSome(compiled.get(), rng);
    std::shared_ptr<const v1::RuleTables> tables = compiled;
    auto loaded = classifier::Classifier::Load(tables);  // validates: the audit fields included
    ASSERT_TRUE(loaded.ok()) << "seed " << seed << ": " << loaded.status().message();
    for (const auto& t : tables->tables())
      audited_tables += t.audit_isolated() != t.isolated() || t.rule_flags_size() > 0;
    if (!ProgramFor(*tables, c % 32 == 0, &program, &harness, &coverage)) return;
    ReportCluster(seed, JudgeRandomPackets(state, **loaded, *harness, rng, wrap, &coverage), state, &reports);
  }
  std::cout << "[xdp differential, audit] " << clusters << " clusters, " << audited_tables
            << " table directions with something in audit, " << coverage.packets << " packets, " << coverage.allowed
            << " allowed, " << coverage.audit_differs << " whose audited verdict differs\n";
  if (only == nullptr) {
    EXPECT_GT(coverage.audit_differs, coverage.packets / 200) << "audit mode changed no packet's audited verdict";
  }
}

// Audit mode by hand: pod a (10.0.0.1) and pod b (10.0.0.2), one rule bit in each ingress
// table, of a NetworkPolicy in audit allowing TCP 80 from every pod. b's ingress is isolated only
// by that audited policy: the enforced verdict lets anything in, the audited one denies all but
// port 80. a's ingress is isolated by an enforced policy with no rule: the enforced verdict
// drops everything, the audited one would allow port 80.
v1::RuleTables HandMadeAuditTables() {
  v1::RuleTables t;
  t.add_policies()->set_name("deny-all");  // enforced, isolates a, no rule
  auto* observed = t.add_policies();
  observed->set_name("allow-web");
  observed->set_audit(true);
  t.add_words(1);  // row 0: summary word, row word: bit 0
  t.add_words(1);
  auto* none = t.add_tables();  // table 0: egress, nothing (rule_count 0)
  none->set_all_pods_row(compiler::kEmptyRow);
  none->set_other_protocols_row(compiler::kEmptyRow);
  for (bool enforced_isolation : {false, true}) {
    auto* dt = t.add_tables();  // table 1: b's ingress; table 2: a's
    dt->set_isolated(enforced_isolation);
    if (enforced_isolation) dt->add_isolating_policies(0);
    dt->add_audit_isolating_policies(1);
    dt->set_audit_isolated(true);
    dt->set_rule_count(1);
    dt->set_row_words(1);
    dt->set_summary_words(1);
    dt->add_rule_policy(1);
    dt->add_rule_index(0);
    dt->add_rule_flags(tables::kRuleAllow | tables::kRuleAudit);
    dt->set_np_first_bit(0);
    dt->set_baseline_first_bit(1);
    dt->set_all_pods_row(0);
    dt->add_port_protocols(6);
    dt->add_port_firsts(80);
    dt->add_port_lasts(80);
    dt->add_port_rows(0);
    dt->set_other_protocols_row(compiler::kEmptyRow);
  }
  for (uint32_t i = 0; i < 2; ++i) {
    auto* ep = t.add_endpoints();
    const IpAddr ip = *IpAddr::Parse(i == 0 ? "10.0.0.1" : "10.0.0.2");
    ep->add_ips(std::string(ip.bytes.begin(), ip.bytes.end()));
    ep->set_identity(300 + i);
    ep->set_egress_table(0);
    ep->set_ingress_table(i == 0 ? 2 : 1);
  }
  return t;
}

TEST(XdpDifferential, AuditedPoliciesObserveButDoNotDecide) {
  NETFENCE_REQUIRE_BPF();
  auto tables = std::make_shared<const v1::RuleTables>(HandMadeAuditTables());
  auto oracle = classifier::Classifier::Load(tables);
  ASSERT_TRUE(oracle.ok()) << oracle.status().message();
  auto program = xdp::XdpProgram::Load(StatelessOptions());
  ASSERT_TRUE(program.ok()) << program.status().message();
  ASSERT_TRUE((*program)->Program(*tables).ok());
  Harness harness(**program);
  const IpAddr a = *IpAddr::Parse("10.0.0.1"), b = *IpAddr::Parse("10.0.0.2");
  struct Case {
    IpAddr src, dst;
    uint16_t dport;
    uint32_t action, outcome, audit_outcome, table;
  };
  const Case cases[] = {
      // To b: enforced not isolated (passes); audited, port 81 denied and port 80 allowed.
      {a, b, 81, XDP_PASS, NF_NOT_ISOLATED, NF_DENIED, 1},
      {a, b, 80, XDP_PASS, NF_NOT_ISOLATED, NF_ALLOWED, 1},
      // To a: enforced default deny (dropped), the audited policy would allow port 80.
      {b, a, 80, XDP_DROP, NF_DENIED, NF_ALLOWED, 2},
      {b, a, 81, XDP_DROP, NF_DENIED, NF_DENIED, 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.src.str() + " -> " + c.dst.str() + ":" + std::to_string(c.dport));
    const RunResult got = harness.Run(PacketBuilder().Ipv4(c.src, c.dst).Tcp(c.dport).Build());
    ASSERT_TRUE(got.ok) << got.error;
    const nf_verdict& v = got.decision.verdict;
    EXPECT_EQ(got.action, c.action);
    EXPECT_EQ(v.ingress_outcome, c.outcome);
    EXPECT_EQ(v.ingress_table, c.table);
    EXPECT_EQ(v.audit_ingress_outcome, c.audit_outcome);
    EXPECT_EQ(v.audit_ingress_rule, 0u);
    EXPECT_EQ(v.egress_outcome, NF_NOT_ISOLATED);  // table 0 isolates nothing, audited or not
    EXPECT_EQ(v.audit_egress_outcome, NF_NOT_ISOLATED);
    const Decision want = (*oracle)->Classify({c.src, c.dst, 6, c.dport});
    EXPECT_EQ(Compare(Packet{c.src, c.dst, 6, c.dport}, want, got), "");
  }
}

// --- Synthetic wide tables: several summary words, rows of every density. ----------------

// With `tiered`, the rule bits carry ClusterNetworkPolicy tiers: Admin bits below a random
// np_first, Baseline bits from a random baseline_first, each with a random action (Accept,
// Deny or Pass), the boundaries anywhere (inside or across summary words).
class WideTables {
 public:
  WideTables(uint64_t seed, uint32_t rules, bool tiered = false) : rng_(seed), rules_(rules), tiered_(tiered) {
    W_ = (rules + 63) / 64;
    S_ = (W_ + 63) / 64;
    t_.add_policies()->set_name("wide");
    if (tiered_) {
      auto* admin = t_.add_policies();
      admin->set_name("admin");
      admin->set_kind("ClusterNetworkPolicy");
      admin->set_tier(v1::TIER_ADMIN);
      auto* baseline = t_.add_policies();
      baseline->set_name("baseline");
      baseline->set_kind("ClusterNetworkPolicy");
      baseline->set_tier(v1::TIER_BASELINE);
      np_first_ = static_cast<uint32_t>(rng_() % (rules / 2 + 1));
      bl_first_ = np_first_ + static_cast<uint32_t>(rng_() % (rules - np_first_ + 1));
    }
    for (int i = 0; i < 3; ++i) AddTable(i < 2);
    auto ep = [&](std::initializer_list<const char*> ips, uint32_t identity, uint32_t in, uint32_t out) {
      auto* e = t_.add_endpoints();
      for (const char* ip : ips) e->add_ips(Bytes(ip));
      e->set_identity(identity);
      e->set_ingress_table(in);
      e->set_egress_table(out);
    };
    ep({"10.1.2.3", "fd00::5"}, 300, 0, 1);
    ep({"10.0.0.7"}, 305, 2, 0);
    const std::pair<const char*, uint32_t> cache[] = {{"10.0.0.7", 305}, {"10.1.2.3", 300},    {"10.1.2.9", 1},
                                                      {"10.2.0.1", 301}, {"192.168.1.1", 400}, {"2001:db8::9", 309},
                                                      {"fd00::5", 300},  {"fd00::6", 302}};
    for (const auto& [ip, id] : cache) {
      t_.mutable_ipcache_addrs()->append(Bytes(ip));
      t_.add_ipcache_identities(id);
    }
  }
  const v1::RuleTables& tables() const { return t_; }

 private:
  static std::string Bytes(const char* ip) {
    const IpAddr a = *IpAddr::Parse(ip);
    return std::string(a.bytes.begin(), a.bytes.end());
  }
  // A random row (sparse, dense in a few words, or empty) appended to the arena.
  uint32_t Row() {
    std::vector<uint64_t> w(W_, 0);
    switch (rng_() % 4) {
      case 0:
        return compiler::kEmptyRow;
      case 1:
        for (uint64_t n = rng_() % 6 + 1; n > 0; --n) {
          const uint64_t bit = rng_() % rules_;
          w[bit / 64] |= uint64_t{1} << (bit % 64);
        }
        break;
      default:
        for (uint32_t i = 0; i < W_; ++i) {
          if (rng_() % 8 == 0) w[i] = rng_() & rng_();
        }
        if (rules_ % 64) w[W_ - 1] &= (uint64_t{1} << (rules_ % 64)) - 1;
    }
    if (std::all_of(w.begin(), w.end(), [](uint64_t v) { return v == 0; })) return compiler::kEmptyRow;
    const uint32_t at = static_cast<uint32_t>(t_.words_size());
    std::vector<uint64_t> summary(S_, 0);
    for (uint32_t i = 0; i < W_; ++i) {
      if (w[i]) summary[i / 64] |= uint64_t{1} << (i % 64);
    }
    for (uint64_t v : summary) t_.add_words(v);
    for (uint64_t v : w) t_.add_words(v);
    return at;
  }
  void AddTable(bool isolated) {
    auto* dt = t_.add_tables();
    dt->set_isolated(isolated);
    dt->set_audit_isolated(isolated);
    dt->set_rule_count(rules_);
    dt->set_row_words(W_);
    dt->set_summary_words(S_);
    for (uint32_t i = 0; i < rules_; ++i) {
      const bool np = !tiered_ || (i >= np_first_ && i < bl_first_);
      dt->add_rule_policy(np ? 0 : i < np_first_ ? 1 : 2);
      dt->add_rule_index(i);
      if (tiered_) dt->add_rule_flags(np ? tables::kRuleAllow : 1 + static_cast<uint32_t>(rng_() % 3));
    }
    if (tiered_) {
      dt->set_np_first_bit(np_first_);
      dt->set_baseline_first_bit(bl_first_);
    }
    for (uint32_t id : {300u, 301u, 302u, 305u, 309u}) {
      dt->add_identity_ids(id);
      dt->add_identity_rows(Row());
    }
    dt->set_all_pods_row(Row());
    // Sorted by (address, length), nested, with holes (rows may be empty).
    const std::pair<const char*, uint32_t> cidrs[] = {{"::", 0},
                                                      {"2001:db8::", 32},
                                                      {"fd00::", 8},
                                                      {"::ffff:10.0.0.0", 104},
                                                      {"::ffff:10.1.0.0", 112},
                                                      {"::ffff:10.1.2.0", 120},
                                                      {"::ffff:10.1.2.9", 128},
                                                      {"::ffff:192.168.0.0", 112}};
    std::vector<std::pair<IpAddr, uint32_t>> sorted;
    for (const auto& [ip, len] : cidrs) sorted.emplace_back(*IpAddr::Parse(ip), len);
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [addr, len] : sorted) {
      if (rng_() % 5 == 0) continue;
      dt->mutable_cidr_addrs()->append(addr.bytes.begin(), addr.bytes.end());
      dt->add_cidr_lengths(len);
      dt->add_cidr_rows(Row());
    }
    const uint32_t ports[][3] = {{6, 1, 100}, {6, 443, 443}, {6, 1000, 65535}, {17, 53, 53}, {132, 9000, 9100}};
    for (const auto& p : ports) {
      dt->add_port_protocols(p[0]);
      dt->add_port_firsts(p[1]);
      dt->add_port_lasts(p[2]);
      dt->add_port_rows(Row());
    }
    dt->set_other_protocols_row(Row());
  }

  std::mt19937_64 rng_;
  uint32_t rules_, W_ = 0, S_ = 0;
  bool tiered_ = false;
  uint32_t np_first_ = 0, bl_first_ = 0;
  v1::RuleTables t_;
};

TEST(XdpDifferential, AgreesWithClassifierOnWideTables) {
  NETFENCE_REQUIRE_BPF();
  const char* kPool[] = {"10.0.0.7", "10.1.2.3",   "10.1.2.9",  "10.2.0.1",       "192.168.1.1",
                         "8.8.8.8",  "10.1.2.200", "10.1.99.1", "192.168.0.5",    "2001:db8::9",
                         "fd00::5",  "fd00::6",    "fd00::77",  "2001:db8::1234", "2002::1"};
  const uint8_t kProtos[] = {6, 6, 6, 17, 132, 1, 58, 47};
  int allowed = 0, high = 0, packets = 0, denied_by_rule = 0;
  for (uint32_t rules : {100u, 4097u, 9000u, 70000u}) {
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      const bool tiered = seed > 6;  // seeds 7 and 8: ClusterNetworkPolicy tiers
      WideTables wide(seed * 1000 + rules, rules, tiered);
      auto tables = std::make_shared<const v1::RuleTables>(wide.tables());
      auto oracle = classifier::Classifier::Load(tables);
      ASSERT_TRUE(oracle.ok()) << oracle.status().message();
      xdp::LoadOptions options = StatelessOptions();
      options.verdict_cache = seed % 2 == 1;  // every table walked by the AND itself, too
      auto program = xdp::XdpProgram::Load(options);
      ASSERT_TRUE(program.ok()) << program.status().message();
      Status s = (*program)->Program(*tables);
      ASSERT_TRUE(s.ok()) << s.message();
      Harness harness(**program);
      std::mt19937_64 rng(seed);
      std::string report;
      for (int i = 0; i < 600; ++i) {
        Packet p;
        p.src = *IpAddr::Parse(kPool[rng() % std::size(kPool)]);
        do p.dst = *IpAddr::Parse(kPool[rng() % std::size(kPool)]);
        while (p.dst.is_v4() != p.src.is_v4() || p.dst == p.src);
        p.proto = kProtos[rng() % std::size(kProtos)];
        const uint16_t kPorts[] = {1, 53, 99, 100, 101, 443, 999, 1000, 9000, 9100, 65535};
        if (p.proto == 6 || p.proto == 17 || p.proto == 132) {
          p.dport = rng() % 3 ? kPorts[rng() % std::size(kPorts)] : static_cast<uint16_t>(rng());
        }
        const Decision want = (*oracle)->Classify({p.src, p.dst, p.proto, p.dport});
        ++packets;
        allowed += want.allowed();
        high += (want.egress.by_rule() && want.egress.rule_bit >= 4096) ||
                (want.ingress.by_rule() && want.ingress.rule_bit >= 4096);
        denied_by_rule += want.egress.outcome == classifier::Outcome::kDeniedByRule ||
                          want.ingress.outcome == classifier::Outcome::kDeniedByRule;
        const std::string diff =
            Compare(p, want, harness.Run(PacketBuilder().Ip(p.src, p.dst).Proto(p.proto, p.dport).Build()));
        if (!diff.empty() && report.size() < 3000) report += p.str() + "\n" + diff;
      }
      EXPECT_TRUE(report.empty()) << rules << " rules, seed " << seed << (tiered ? " (tiered)" : "") << ":\n" << report;
    }
  }
  std::cout << "[xdp wide tables] " << packets << " packets, " << allowed << " allowed, " << high
            << " decided by a rule bit >= 4096 (past the first summary word), " << denied_by_rule
            << " denied by a ClusterNetworkPolicy rule\n";
  EXPECT_GT(high, 0);
  EXPECT_GT(denied_by_rule, 0);
  EXPECT_GT(allowed, packets / 10);
}

}  // namespace
}  // namespace netfence::xdptest
