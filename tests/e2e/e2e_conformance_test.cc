// SPDX-License-Identifier: Apache-2.0
// Every conformance scenario (tests/conformance/scenarios: namespaces x, y, z with pods a, b, c,
// policies, and hand-written truth tables for TCP, UDP and SCTP; tests/conformance/tiers: the
// same with ClusterNetworkPolicy Admin and Baseline tiers) through real packets: pods
// as network namespaces plugged by the CNI chain, netfence-agent enforcing (tables from
// netfence-controller, and again from the agents' own compile), a real connection attempt
// per ordered pair. Each cell must equal the hand-written table and `netfencectl
// matrix` on the same directory. Odd-numbered scenarios put namespace x on a second node, so
// traffic between x and y/z crosses the uplink (ingress enforced there).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>

#include "tests/e2e/e2e_fixture.h"
#include "tests/testing/expected_reachability.h"
#include "tests/testing/require_netns.h"

namespace netfence::e2e {
namespace {

namespace fs = std::filesystem;
const fs::path kConformance = fs::path(NETFENCE_SOURCE_DIR) / "tests/conformance";

// "scenarios/NN-name" (NetworkPolicy) and "tiers/NN-name" (ClusterNetworkPolicy tiers over
// NetworkPolicy). Tiers scenarios whose cluster has host-network pods or Node peers at the
// nodes' own addresses are left to the table-level tests (tests/conformance): the e2e nodes'
// addresses are the test's, not those the scenario writes.
std::vector<std::string> ScenarioNames(std::initializer_list<const char*> sets = {"scenarios", "tiers"}) {
  std::vector<std::string> names;
  for (const char* set : sets) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(kConformance / set, ec)) {
      if (!entry.is_directory()) continue;
      std::ifstream cluster(entry.path() / "cluster.yaml");
      const std::string text((std::istreambuf_iterator<char>(cluster)), std::istreambuf_iterator<char>());
      if (text.find("hostNetwork: true") != std::string::npos) continue;
      names.push_back(std::string(set) + "/" + entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Copies the scenario's manifests; with two_nodes, pods of namespace x get spec.nodeName
// node-a and the others node-b (the scenarios write pods on one line: "spec: {containers").
int CopyScenario(const fs::path& from, const ManifestDir& to, bool two_nodes) {
  int placed = 0;
  const std::regex pod_ns("namespace: ([a-z]+), name:");
  for (const auto& entry : fs::directory_iterator(from)) {
    std::ifstream in(entry.path());
    std::string line, out, ns;
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_search(line, m, pod_ns)) ns = m[1];
      const std::string marker = "spec: {containers";
      if (two_nodes && !ns.empty() && line.find(marker) != std::string::npos) {
        line.replace(line.find(marker), marker.size(),
                     std::string("spec: {nodeName: ") + (ns == "x" ? "node-a" : "node-b") + ", containers");
        ++placed;
      }
      out += line + "\n";
    }
    to.Write(entry.path().filename().string(), out);
  }
  return placed;
}

void RunScenario(const std::string& scenario, TableMode mode) {
  const fs::path dir = kConformance / scenario;
  testing_util::Expected expected;
  ASSERT_EQ(testing_util::ReadExpected((dir / "expected.yaml").string(), &expected), "");
  const bool two_nodes = std::stoi(dir.filename().string().substr(0, 2)) % 2 == 1;
  ManifestDir manifests;
  const int placed = CopyScenario(dir, manifests, two_nodes);

  ClusterOptions options;
  options.manifests = manifests.path();
  options.mode = mode;
  options.bin_dir = BinDir();
  std::set<uint16_t> ports;
  for (const auto& c : expected.cases) ports.insert(c.port);
  options.server_ports.assign(ports.begin(), ports.end());
  NETFENCE_E2E_CLUSTER(cluster, options);
  if (two_nodes && placed == 9) {
    ASSERT_EQ(cluster->nodes().size(), 2u);
  }

  for (const testing_util::ExpectedCase& c : expected.cases) {
    SCOPED_TRACE(c.name());
    reach::Matrix probed = cluster->Probe(c.protocol, c.port, /*timeout_ms=*/500, /*attempts=*/1);
    ASSERT_EQ(probed.pods, expected.columns);
    // A denied answer of an expected-allowed pair is retried (a first packet may meet a cold
    // neighbour cache); allowed answers are never retried.
    for (size_t i = 0; i < probed.pods.size(); ++i) {
      for (size_t j = 0; j < probed.pods.size(); ++j) {
        for (int retry = 0; retry < 2 && c.allowed[i][j] && !probed.allowed[i][j]; ++retry) {
          probed.allowed[i][j] = cluster->ProbeOnce(probed.pods[i], probed.pods[j], c.protocol, c.port, 1000);
        }
      }
    }
    auto ctl = NetfencectlMatrix(manifests.path(), c.protocol, c.port);
    ASSERT_TRUE(ctl.ok()) << ctl.status().message();
    ASSERT_EQ((*ctl)["pods"].get<std::vector<std::string>>(), probed.pods);
    std::string diffs;
    for (size_t i = 0; i < probed.pods.size(); ++i) {
      for (size_t j = 0; j < probed.pods.size(); ++j) {
        const bool got = probed.allowed[i][j];
        const bool want = c.allowed[i][j];
        const bool says = (*ctl)["allowed"][probed.pods[i]][probed.pods[j]].get<bool>();
        if (got != want || got != says) {
          diffs += "  " + probed.pods[i] + " -> " + probed.pods[j] + ": packets " + (got ? "allowed" : "denied") +
                   ", table " + (want ? "allowed" : "denied") + ", netfencectl " + (says ? "allowed" : "denied") + "\n";
        }
      }
    }
    EXPECT_TRUE(diffs.empty()) << scenario << " " << c.name() << (two_nodes ? " (two nodes)" : "") << ":\n"
                               << diffs << "probed:\n"
                               << probed.ToTable();
  }
}

// s01_no_policies (scenarios/01-no-policies), tiers01_admin_deny_... (tiers/01-admin-deny-...).
std::string TestName(const ::testing::TestParamInfo<std::string>& p) {
  const size_t slash = p.param.find('/');
  std::string name = (p.param.compare(0, slash, "tiers") == 0 ? "tiers" : "s") + p.param.substr(slash + 1);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// Agents fed by netfence-controller over gRPC (the way a cluster runs).
class E2eConformance : public ::testing::TestWithParam<std::string> {};
TEST_P(E2eConformance, RealPacketsMatchTheTableAndNetfencectl) {
  NETFENCE_REQUIRE_NETNS();
  RunScenario(GetParam(), TableMode::kController);
}
INSTANTIATE_TEST_SUITE_P(Scenarios, E2eConformance, ::testing::ValuesIn(ScenarioNames()), TestName);

// Agents compiling the directory themselves: the same results.
class E2eConformanceEmbedded : public ::testing::TestWithParam<std::string> {};
TEST_P(E2eConformanceEmbedded, RealPacketsMatchTheTableAndNetfencectl) {
  NETFENCE_REQUIRE_NETNS();
  RunScenario(GetParam(), TableMode::kEmbedded);
}
// (The tiers scenarios once: agents compile with the same compiler as the controller, and CI
// time is better spent on the tiers through DPDK.)
INSTANTIATE_TEST_SUITE_P(Scenarios, E2eConformanceEmbedded, ::testing::ValuesIn(ScenarioNames({"scenarios"})),
                         TestName);

}  // namespace
}  // namespace netfence::e2e
