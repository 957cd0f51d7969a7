// SPDX-License-Identifier: Apache-2.0
// Differential test: the compiler + classifier against the reference evaluator, on random
// clusters and packets, with NetworkPolicy only and with ClusterNetworkPolicy tiers. Every
// verdict, every direction's outcome and the rule that decided it must agree. A failure prints the seed, the cluster
// and the packet, and writes the cluster as a manifest for `netfencectl explain --manifests`.
// Audit mode: with random netfence.io/enforcement annotations, the enforced decision must be the
// reference's over the cluster without its policies in audit, the audited one the reference's
// over the whole cluster.
//
//   NETFENCE_DIFF_SEED=N      run only cluster N (replay a failure)
//   NETFENCE_DIFF_CLUSTERS=N  run N clusters (default 4000; tiered: 3000)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>

#include "common/classifier/classifier.h"
#include "common/tables/wire.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/k8s/manifests.h"
#include "tests/differential/cluster_dump.h"
#include "tests/differential/random_cluster.h"
#include "tests/differential/reference_evaluator.h"

namespace netfence {
namespace {

using classifier::Outcome;
using reference::Packet;
using reference::RefDirection;

constexpr uint64_t kFirstSeed = 1;
constexpr int kDefaultClusters = 4000;
constexpr int kDefaultTieredClusters = 3000;
constexpr int kPacketsPerCluster = 125;
constexpr int kMaxFailingClusters = 5;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kNotIsolated:
      return "not isolated";
    case Outcome::kAllowed:
      return "allowed";
    case Outcome::kDenied:
      return "denied";
    case Outcome::kDeniedByRule:
      return "denied by rule";
  }
  return "?";
}

std::string RuleText(const reference::RefRule& r) {
  return (r.kind.empty() ? r.policy_ns : r.kind) + "/" + r.policy_name + " rule " + std::to_string(r.rule_index);
}

// The classifier outcome the reference's answer stands for.
Outcome OutcomeOf(const RefDirection& d) {
  if (d.allowed) return d.rule ? Outcome::kAllowed : Outcome::kNotIsolated;
  return d.rule ? Outcome::kDeniedByRule : Outcome::kDenied;
}

std::string RefText(const RefDirection& d) {
  std::string out = OutcomeName(OutcomeOf(d));
  if (d.rule) out += " by " + RuleText(*d.rule);
  return out + (d.isolated ? " (isolated)" : "");
}

// The rule a classifier decision names, looked up through the tables; error text if the
// decision points outside them.
std::string DecidingRule(const v1::RuleTables& tables, const classifier::DirectionDecision& got, v1::Direction dir,
                         reference::RefRule* rule) {
  if (got.table >= static_cast<uint32_t>(tables.tables_size())) return "table index out of range";
  const v1::DirectionTable& dt = tables.tables(static_cast<int>(got.table));
  if (dt.direction() != dir) return "decision names a table of the other direction";
  const int bit = static_cast<int>(got.rule_bit);
  if (bit >= dt.rule_policy_size() || bit >= dt.rule_index_size()) return "rule bit out of range";
  if (dt.rule_policy(bit) >= static_cast<uint32_t>(tables.policies_size())) return "policy index out of range";
  const v1::PolicyRef& policy = tables.policies(static_cast<int>(dt.rule_policy(bit)));
  *rule = {policy.kind(), policy.namespace_(), policy.name(), dt.rule_index(bit)};
  return "";
}

// Empty when the classifier's direction agrees with the reference's; else what differs.
std::string CompareDirection(const char* name, const v1::RuleTables& tables, const classifier::DirectionDecision& got,
                             v1::Direction dir, const RefDirection& want) {
  const Outcome want_outcome = OutcomeOf(want);
  std::string got_text = OutcomeName(got.outcome);
  std::string problem;
  if (got.outcome != want_outcome) {
    problem = "outcome differs";
  } else if (got.by_rule()) {
    reference::RefRule rule;
    problem = DecidingRule(tables, got, dir, &rule);
    if (problem.empty()) {
      got_text += " by " + RuleText(rule) + " (table " + std::to_string(got.table) + " bit " +
                  std::to_string(got.rule_bit) + ")";
      if (!(rule == *want.rule)) problem = "deciding rule differs";
    }
  }
  if (problem.empty()) return "";
  return std::string("  ") + name + ": " + problem + ": tables say " + got_text + ", reference says " + RefText(want) +
         "\n";
}

struct Compiled {
  std::shared_ptr<const v1::RuleTables> tables;
  std::shared_ptr<const classifier::Classifier> classifier;
};

Compiled CompileAndLoad(const k8s::ClusterState& state) {
  Compiled out;
  out.tables = std::make_shared<const v1::RuleTables>(compiler::Compile(state));
  auto loaded = classifier::Classifier::Load(out.tables);
  if (!loaded.ok()) {
    ADD_FAILURE() << "Classifier::Load: " << loaded.status().message();
    return out;
  }
  out.classifier = *loaded;
  return out;
}

std::string WriteReplay(uint64_t seed, const k8s::ClusterState& state) {
  std::string path = testing::TempDir() + "netfence-differential-seed-" + std::to_string(seed) + ".json";
  std::ofstream(path) << reference::ClusterManifest(state).dump(2) << "\n";
  return path;
}

// How often each outcome came up, to show the generator reaches every case.
struct Coverage {
  int packets = 0;
  int by_outcome[2][4] = {};        // [egress, ingress][NotIsolated, Allowed, Denied, DeniedByRule]
  int by_tier[3] = {};              // directions decided by a rule of the Admin, NetworkPolicy, Baseline tier
  int admin_pass_then_decided = 0;  // an Admin Pass matched and a later tier decided
  int allowed = 0;
  int high_rule_bits = 0;  // directions allowed by a rule bit >= 64 (a row's second word or later)
  int wide_tables = 0;     // table directions with more than 64 rule bits

  void Add(const classifier::Decision& d) {
    ++packets;
    ++by_outcome[0][static_cast<int>(d.egress.outcome)];
    ++by_outcome[1][static_cast<int>(d.ingress.outcome)];
    if (d.allowed()) ++allowed;
    for (const auto* dir : {&d.egress, &d.ingress}) {
      if (dir->outcome == Outcome::kAllowed && dir->rule_bit >= 64) ++high_rule_bits;
    }
  }
};

// Counts which tier decided each direction, and whether an Admin Pass let a later tier decide.
void CountTiers(const v1::RuleTables& tables, const classifier::Classifier& c, const classifier::Decision& d,
                const Packet& p, Coverage* coverage) {
  const classifier::DirectionDecision* dirs[] = {&d.egress, &d.ingress};
  const IpAddr* peers[] = {&p.dst, &p.src};
  for (int i = 0; i < 2; ++i) {
    const auto& dir = *dirs[i];
    if (!dir.by_rule()) continue;
    const v1::DirectionTable& dt = tables.tables(static_cast<int>(dir.table));
    if (dt.rule_flags_size() == 0) {
      ++coverage->by_tier[1];
      continue;
    }
    const int tier = dir.rule_bit < dt.np_first_bit() ? 0 : dir.rule_bit < dt.baseline_first_bit() ? 1 : 2;
    ++coverage->by_tier[tier];
    if (tier == 0) continue;
    for (uint32_t b : c.MatchingRules(dir.table, *peers[i], p.proto, p.dport)) {
      if (b >= dt.np_first_bit()) break;
      if ((dt.rule_flags(static_cast<int>(b)) & tables::kRuleActionMask) == tables::kRulePass) {
        ++coverage->admin_pass_then_decided;
        break;
      }
    }
  }
}

// Checks one cluster; returns false (after reporting) on any disagreement.
bool CheckCluster(uint64_t seed, bool with_tiers, Coverage* coverage) {
  std::mt19937_64 rng(seed);
  const k8s::ClusterState state = with_tiers ? reference::RandomTieredCluster(rng) : reference::RandomCluster(rng);
  const Compiled compiled = CompileAndLoad(state);
  if (!compiled.classifier) {
    ADD_FAILURE() << "seed " << seed << ": tables did not load\n" << reference::DescribeCluster(state);
    return false;
  }
  for (const v1::DirectionTable& t : compiled.tables->tables()) coverage->wide_tables += t.rule_count() > 64;
  const bool tiered = !state.cluster_policies.empty();
  std::string report;
  for (int i = 0; i < kPacketsPerCluster; ++i) {
    const Packet p = reference::RandomPacket(rng, state);
    const auto want = reference::ReferenceEvaluate(state, p.src, p.dst, p.proto, p.dport);
    const auto got = compiled.classifier->Classify({p.src, p.dst, p.proto, p.dport});
    coverage->Add(got);
    if (tiered) CountTiers(*compiled.tables, *compiled.classifier, got, p, coverage);
    std::string diff = CompareDirection("egress", *compiled.tables, got.egress, v1::EGRESS, want.egress) +
                       CompareDirection("ingress", *compiled.tables, got.ingress, v1::INGRESS, want.ingress);
    if (got.allowed() != want.allowed()) {
      diff += std::string("  verdict: tables say ") + (got.allowed() ? "allowed" : "denied") + ", reference says " +
              (want.allowed() ? "allowed" : "denied") + "\n";
    }
    if (!diff.empty()) report += "packet " + std::to_string(i) + ": " + p.str() + "\n" + diff;
  }
  if (report.empty()) return true;
  ADD_FAILURE() << (with_tiers ? "tiered " : "") << "seed " << seed << " (replay: NETFENCE_DIFF_SEED=" << seed << ")\n"
                << report << "cluster:\n"
                << reference::DescribeCluster(state) << "manifest: " << WriteReplay(seed, state);
  return false;
}

// Runs the clusters of one generator; `tiers`: with cluster policies and nodes.
void RunDifferential(bool tiers, int default_clusters) {
  const int only_seed = EnvInt("NETFENCE_DIFF_SEED", -1);
  const uint64_t first = only_seed >= 0 ? static_cast<uint64_t>(only_seed) : kFirstSeed;
  const int clusters = only_seed >= 0 ? 1 : EnvInt("NETFENCE_DIFF_CLUSTERS", default_clusters);
  Coverage coverage;
  int failing = 0;
  for (int i = 0; i < clusters && failing < kMaxFailingClusters; ++i) {
    if (!CheckCluster(first + static_cast<uint64_t>(i), tiers, &coverage)) ++failing;
  }
  std::cout << "[differential] " << clusters << " clusters, " << coverage.packets << " packets, " << coverage.allowed
            << " allowed; " << coverage.wide_tables << " table directions with > 64 rules, " << coverage.high_rule_bits
            << " verdicts by a rule bit >= 64\n";
  const char* kDirs[] = {"egress", "ingress"};
  for (int d = 0; d < 2; ++d) {
    std::cout << "[differential] " << kDirs[d] << ": not isolated " << coverage.by_outcome[d][0] << ", allowed "
              << coverage.by_outcome[d][1] << ", denied " << coverage.by_outcome[d][2] << ", denied by rule "
              << coverage.by_outcome[d][3] << "\n";
  }
  if (tiers) {
    std::cout << "[differential] decided by the Admin tier " << coverage.by_tier[0] << ", NetworkPolicy "
              << coverage.by_tier[1] << ", Baseline " << coverage.by_tier[2] << "; after an Admin Pass "
              << coverage.admin_pass_then_decided << "\n";
  }
  if (only_seed >= 0 || failing > 0) return;
  // The generator must keep reaching every case, or agreement means little.
  EXPECT_GT(coverage.high_rule_bits, 0) << "no verdict came from a row's second word";
  for (int d = 0; d < 2; ++d) {
    for (int o = 0; o < (tiers ? 4 : 3); ++o) {
      EXPECT_GT(coverage.by_outcome[d][o], coverage.packets / (tiers ? 40 : 20))
          << kDirs[d] << " " << OutcomeName(static_cast<Outcome>(o)) << " is rare";
    }
  }
  if (tiers) {
    for (int t = 0; t < 3; ++t) EXPECT_GT(coverage.by_tier[t], coverage.packets / 40) << "tier " << t << " is rare";
    EXPECT_GT(coverage.admin_pass_then_decided, coverage.packets / 200) << "Admin Pass then a decision is rare";
  }
}

TEST(Differential, TablesAgreeWithReferenceEvaluator) { RunDifferential(false, kDefaultClusters); }

TEST(Differential, TieredTablesAgreeWithReferenceEvaluator) { RunDifferential(true, kDefaultTieredClusters); }

// ---- Audit mode ------------------------------------------------------------------------

// Random annotations netfence.io/enforcement (none, audit, enforce) on the Namespace objects,
// NetworkPolicies and cluster policies.
void Annotate(std::mt19937_64& rng, k8s::ClusterState* s) {
  auto pick = [&](k8s::ObjectMeta* m) {
    static const char* kValues[] = {"", "", "audit", "enforce"};
    m->enforcement = kValues[rng() % 4];
  };
  for (auto& ns : s->namespaces) pick(&ns.meta);
  for (auto& np : s->policies) pick(&np.meta);
  for (auto& cnp : s->cluster_policies) pick(&cnp.meta);
}

TEST(Differential, AuditedDecisionsAgreeWithTheClusterWithAndWithoutThePoliciesInAudit) {
  const int clusters = EnvInt("NETFENCE_DIFF_CLUSTERS", 1500);
  int packets = 0, differs = 0, would_deny = 0, would_allow = 0, failing = 0;
  for (int i = 0; i < clusters && failing < kMaxFailingClusters; ++i) {
    const uint64_t seed = 50000 + static_cast<uint64_t>(i);
    std::mt19937_64 rng(seed);
    k8s::ClusterState state = seed % 2 ? reference::RandomCluster(rng) : reference::RandomTieredCluster(rng);
    Annotate(rng, &state);
    const bool audit_by_default = rng() % 4 == 0;
    const k8s::ClusterState enforced = reference::WithoutPoliciesInAudit(state, audit_by_default);
    auto tables = std::make_shared<const v1::RuleTables>(
        compiler::Compile(state, compiler::Options{.audit_by_default = audit_by_default}));
    auto loaded = classifier::Classifier::Load(tables);
    ASSERT_TRUE(loaded.ok()) << "seed " << seed << ": " << loaded.status().message() << "\n"
                             << reference::DescribeCluster(state);
    std::string report;
    for (int p = 0; p < kPacketsPerCluster; ++p) {
      const Packet pk = reference::RandomPacket(rng, state);
      const auto got = (*loaded)->Classify({pk.src, pk.dst, pk.proto, pk.dport});
      const auto want = reference::ReferenceEvaluate(enforced, pk.src, pk.dst, pk.proto, pk.dport);
      const auto want_audit = reference::ReferenceEvaluate(state, pk.src, pk.dst, pk.proto, pk.dport);
      ++packets;
      if (got.audit_differs()) {
        ++differs;
        ++(got.allowed() ? would_deny : would_allow);
      }
      std::string diff =
          CompareDirection("egress", *tables, got.egress, v1::EGRESS, want.egress) +
          CompareDirection("ingress", *tables, got.ingress, v1::INGRESS, want.ingress) +
          CompareDirection("audited egress", *tables, got.audit_egress, v1::EGRESS, want_audit.egress) +
          CompareDirection("audited ingress", *tables, got.audit_ingress, v1::INGRESS, want_audit.ingress);
      if (!diff.empty()) report += "packet " + std::to_string(p) + ": " + pk.str() + "\n" + diff;
    }
    if (report.empty()) continue;
    ++failing;
    ADD_FAILURE() << "seed " << seed << (audit_by_default ? " (audit by default)" : "") << "\n"
                  << report << "cluster:\n"
                  << reference::DescribeCluster(state) << "manifest: " << WriteReplay(seed, state);
  }
  std::cout << "[differential] audit: " << clusters << " clusters, " << packets << " packets, " << differs
            << " with verdicts that differ (" << would_deny << " the policies in audit would deny, " << would_allow
            << " they would allow)\n";
  EXPECT_GT(would_deny, packets / 100) << "policies in audit rarely change a verdict to denied";
  EXPECT_GT(would_allow, packets / 1000) << "policies in audit rarely change a verdict to allowed";
}

// Odd seeds: NetworkPolicy only; even seeds: with cluster policies and nodes.
k8s::ClusterState AnyCluster(uint64_t seed) {
  std::mt19937_64 rng(seed);
  return seed % 2 ? reference::RandomCluster(rng) : reference::RandomTieredCluster(rng);
}

TEST(Differential, CompileIsDeterministic) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const k8s::ClusterState state = AnyCluster(seed);
    const std::string once = compiler::Compile(state).SerializeAsString();
    const std::string twice = compiler::Compile(state).SerializeAsString();
    ASSERT_EQ(once, twice) << "seed " << seed << "\n" << reference::DescribeCluster(state);
  }
}

TEST(Differential, InputOrderDoesNotMatter) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed + 1000);
    const k8s::ClusterState state = AnyCluster(seed);
    k8s::ClusterState shuffled = state;
    std::shuffle(shuffled.namespaces.begin(), shuffled.namespaces.end(), rng);
    std::shuffle(shuffled.pods.begin(), shuffled.pods.end(), rng);
    std::shuffle(shuffled.policies.begin(), shuffled.policies.end(), rng);
    std::shuffle(shuffled.nodes.begin(), shuffled.nodes.end(), rng);
    std::shuffle(shuffled.cluster_policies.begin(), shuffled.cluster_policies.end(), rng);
    ASSERT_EQ(compiler::Compile(state).SerializeAsString(), compiler::Compile(shuffled).SerializeAsString())
        << "seed " << seed << "\n"
        << reference::DescribeCluster(state);
  }
}

// The replay manifest of a failure must stand for exactly the cluster that failed.
TEST(Differential, ReplayManifestLoadsBackToTheSameTables) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const k8s::ClusterState state = AnyCluster(seed);
    k8s::LoadResult loaded;
    k8s::AddManifestObject(reference::ClusterManifest(state), "seed " + std::to_string(seed), &loaded);
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    ASSERT_TRUE(loaded.errors.empty()) << reference::DescribeCluster(state);
    ASSERT_EQ(compiler::Compile(state).SerializeAsString(), compiler::Compile(loaded.state).SerializeAsString())
        << "seed " << seed << "\n"
        << reference::DescribeCluster(state);
  }
}

}  // namespace
}  // namespace netfence
