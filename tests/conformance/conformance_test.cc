// SPDX-License-Identifier: Apache-2.0
// Conformance: hand-written reachability tables for classic NetworkPolicy scenarios
// (tests/conformance/scenarios) and for ClusterNetworkPolicy tiers (tests/conformance/tiers).
//
// Each scenario directory holds manifests (namespaces x, y, z with pods a, b, c each, maybe
// nodes and a host-network pod, and the policies under test) and expected.yaml: for some
// (protocol, port), the table of who may connect to whom, written by hand from the spec. Every cell
// is checked twice: through the compiler, the classifier and reach::ComputeMatrix (the
// production path of `netfencectl matrix`), and through the reference evaluator (so the
// oracle of the differential test is itself checked against hand-written truth).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/k8s/manifests.h"
#include "controlplane/reach/matrix.h"
#include "tests/differential/reference_evaluator.h"
#include "tests/testing/expected_reachability.h"

namespace netfence {
namespace {

namespace fs = std::filesystem;
using testing_util::Expected;
using testing_util::ExpectedCase;

const fs::path kConformance = fs::path(NETFENCE_SOURCE_DIR) / "tests/conformance";

// "scenarios/01-no-policies", "tiers/01-admin-deny-over-networkpolicy-allow", ...
std::vector<std::string> ScenarioNames(const std::string& suite) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kConformance / suite, ec)) {
    if (entry.is_directory()) names.push_back(suite + "/" + entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> AllScenarios() {
  std::vector<std::string> all = ScenarioNames("scenarios");
  for (auto& n : ScenarioNames("tiers")) all.push_back(std::move(n));
  for (auto& n : ScenarioNames("audit")) all.push_back(std::move(n));
  return all;
}

const k8s::Pod* FindPod(const k8s::ClusterState& state, const std::string& key) {
  for (const auto& pod : state.pods) {
    if (pod.key() == key) return &pod;
  }
  return nullptr;
}

// The reference verdict for src -> dst: the first pair of addresses of one family.
std::optional<bool> ReferenceAllowed(const k8s::ClusterState& state, const k8s::Pod& src, const k8s::Pod& dst,
                                     const ExpectedCase& c) {
  for (const auto& s : reach::PodAddresses(src)) {
    for (const auto& d : reach::PodAddresses(dst)) {
      auto sa = IpAddr::Parse(s);
      auto da = IpAddr::Parse(d);
      if (sa && da && sa->is_v4() == da->is_v4()) {
        return reference::ReferenceEvaluate(state, *sa, *da, static_cast<uint8_t>(c.protocol), c.port).allowed();
      }
    }
  }
  return std::nullopt;
}

class Conformance : public testing::TestWithParam<std::string> {};

TEST_P(Conformance, MatchesHandWrittenTable) {
  const fs::path dir = kConformance / GetParam();
  Expected expected;
  const std::string error = testing_util::ReadExpected((dir / "expected.yaml").string(), &expected);
  ASSERT_EQ(error, "") << (dir / "expected.yaml").string();
  ASSERT_FALSE(expected.cases.empty());

  const k8s::LoadResult loaded = k8s::LoadManifestDir(dir.string());
  for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(loaded.errors.empty());
  const k8s::ClusterState& state = loaded.state;

  auto tables = std::make_shared<const v1::RuleTables>(compiler::Compile(state));
  auto classifier = classifier::Classifier::Load(tables);
  ASSERT_TRUE(classifier.ok()) << classifier.status().message();

  // Audit scenarios: `allowed` is the enforced table (the reference evaluates the cluster
  // without its policies in audit), `audited` the table with them enforced.
  const k8s::ClusterState enforced = reference::WithoutPoliciesInAudit(state);
  const size_t n = expected.columns.size();
  for (const ExpectedCase& c : expected.cases) {
    SCOPED_TRACE(c.name());
    const reach::Matrix matrix = reach::ComputeMatrix(state, **classifier, c.protocol, c.port);
    ASSERT_EQ(matrix.pods, expected.columns) << "the scenario's pods are not the table's columns";
    auto check = [&](const std::vector<std::vector<bool>>& want_table, const std::vector<std::vector<bool>>& got_table,
                     const k8s::ClusterState& reference_state, const std::string& what) {
      std::string diffs;
      for (size_t r = 0; r < n; ++r) {
        for (size_t col = 0; col < n; ++col) {
          const bool want = want_table[r][col];
          const std::string cell = what + expected.columns[r] + " -> " + expected.columns[col];
          if (r == col) {
            if (!want) diffs += "  " + cell + ": the table denies a pod to itself (loopback is always allowed)\n";
          } else {
            const auto ref = ReferenceAllowed(reference_state, *FindPod(state, expected.columns[r]),
                                              *FindPod(state, expected.columns[col]), c);
            if (!ref || *ref != want) {
              diffs += "  " + cell + ": expected " + (want ? "allowed" : "denied") + ", reference evaluator says " +
                       (!ref   ? "no common address family"
                        : *ref ? "allowed"
                               : "denied") +
                       "\n";
            }
          }
          if (got_table[r][col] != want) {
            diffs += "  " + cell + ": expected " + (want ? "allowed" : "denied") + ", tables say " +
                     (got_table[r][col] ? "allowed" : "denied") + "\n";
          }
        }
      }
      return diffs;
    };
    std::string diffs = check(c.allowed, matrix.allowed, enforced, "");
    diffs += check(c.audited.empty() ? c.allowed : c.audited, matrix.audit_allowed, state, "audited ");
    EXPECT_TRUE(diffs.empty()) << "scenario " << GetParam() << ", " << c.name() << ":\n"
                               << diffs << "tables (rows: sources, '.' allowed, 'X' denied; 'a'/'d' audit differs):\n"
                               << matrix.ToTable(/*audit=*/true);
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Conformance, testing::ValuesIn(AllScenarios()),
                         [](const testing::TestParamInfo<std::string>& p) {
                           std::string name = p.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           std::replace(name.begin(), name.end(), '/', '_');
                           return name;
                         });

TEST(ConformanceSuite, HasTheScenarios) {
  EXPECT_GE(ScenarioNames("scenarios").size(), 20u) << kConformance;
  EXPECT_GE(ScenarioNames("tiers").size(), 10u) << kConformance;
  EXPECT_GE(ScenarioNames("audit").size(), 4u) << kConformance;
}

}  // namespace
}  // namespace netfence
