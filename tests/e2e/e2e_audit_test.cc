// SPDX-License-Identifier: Apache-2.0
// Audit mode with real packets (tests/conformance/audit: a Namespace, a NetworkPolicy and a
// ClusterNetworkPolicy annotated netfence.io/enforcement): traffic follows the enforced table,
// and the flow log has a "verdict":"audit" record for exactly the pairs whose audited verdict
// differs (a start record where the policies in audit would deny, a drop record where they
// would allow), naming what would have decided. Then a namespace switched from audit to
// enforce: a connection it now denies is cut at its next packet, one it allows is not. And
// `netfencectl diff --flows` on the agents' log, for the change that enforces the policies in
// audit: the recorded connections it would cut or admit are exactly the audited pairs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dataplane/flowlog/flow_record.h"
#include "tests/e2e/cluster.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/flow_logs.h"
#include "tests/testing/expected_reachability.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/require_netns.h"

namespace netfence::e2e {
namespace {

namespace fs = std::filesystem;
using flowlog::EventKind;
using flowlog::FlowRecord;
using flowlog::Verdict;
using testing::NamespaceYaml;
using testing::PodYaml;
using testing::PolicyYaml;
constexpr auto kTCP = k8s::Protocol::kTCP;

const fs::path kAudit = fs::path(NETFENCE_SOURCE_DIR) / "tests/conformance/audit";

std::vector<std::string> AuditScenarios() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kAudit)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The pod ("x/a") of a record's end, from its namespace and pod fields.
std::string PodOf(const flowlog::Endpoint& e) { return e.ns.empty() ? "" : e.ns + "/" + e.pod; }

class E2eAudit : public ::testing::TestWithParam<std::string> {};

TEST_P(E2eAudit, TrafficFollowsTheEnforcedTableAndAuditRecordsMarkExactlyThePairsThatDiffer) {
  const fs::path dir = kAudit / GetParam();
  testing_util::Expected expected;
  ASSERT_EQ(testing_util::ReadExpected((dir / "expected.yaml").string(), &expected), "");
  ManifestDir manifests;
  for (const char* f : {"cluster.yaml", "policies.yaml"}) manifests.Write(f, ReadFile(dir / f));
  ClusterOptions options;
  options.manifests = manifests.path();
  options.bin_dir = BinDir();
  options.server_ports = {80};
  NETFENCE_E2E_CLUSTER(cluster, options);
  const testing_util::ExpectedCase& c = expected.cases.at(0);
  ASSERT_FALSE(c.audited.empty());

  reach::Matrix probed = cluster->Probe(c.protocol, c.port, /*timeout_ms=*/500, /*attempts=*/1);
  ASSERT_EQ(probed.pods, expected.columns);
  const size_t n = probed.pods.size();
  std::string diffs;
  std::set<std::pair<std::string, std::string>> want_audit;  // (from, to)
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      for (int retry = 0; retry < 2 && c.allowed[i][j] && !probed.allowed[i][j]; ++retry) {
        probed.allowed[i][j] = cluster->ProbeOnce(probed.pods[i], probed.pods[j], c.protocol, c.port, 1000);
      }
      if (probed.allowed[i][j] != c.allowed[i][j]) {
        diffs += "  " + probed.pods[i] + " -> " + probed.pods[j] + ": packets " +
                 (probed.allowed[i][j] ? "allowed" : "denied") + ", enforced table " +
                 (c.allowed[i][j] ? "allowed" : "denied") + "\n";
      }
      if (i != j && c.allowed[i][j] != c.audited[i][j]) want_audit.insert({probed.pods[i], probed.pods[j]});
    }
  }
  EXPECT_TRUE(diffs.empty()) << GetParam() << ":\n" << diffs << probed.ToTable();
  ASSERT_FALSE(want_audit.empty()) << "a scenario of tests/conformance/audit without a difference tests nothing";

  // The audit records: wait until every expected pair has one (drops are aggregated for a
  // short window), then the set of pairs with audit records must be exactly the expected one.
  std::set<std::pair<std::string, std::string>> got_audit;
  std::string records;
  for (int attempt = 0; attempt < 100 && got_audit != want_audit; ++attempt) {
    got_audit.clear();
    records.clear();
    for (const auto& node : cluster->nodes()) {
      auto read = ReadFlowLog(cluster->FlowLogPath(node));
      ASSERT_TRUE(read.ok()) << read.status().message();
      for (const FlowRecord& r : *read) {
        if (r.verdict != Verdict::kAudit || r.dst.port != c.port) continue;
        const auto pair = std::make_pair(PodOf(r.src), PodOf(r.dst));
        got_audit.insert(pair);
        records += flowlog::ToJson(r) + "\n";
        // An audit record of an allowed connection starts it; one of denied packets is a drop.
        const size_t i = std::find(probed.pods.begin(), probed.pods.end(), pair.first) - probed.pods.begin();
        const size_t j = std::find(probed.pods.begin(), probed.pods.end(), pair.second) - probed.pods.begin();
        if (i < n && j < n && r.event != EventKind::kUpdate && r.event != EventKind::kEnd) {
          EXPECT_EQ(r.event, c.allowed[i][j] ? EventKind::kStart : EventKind::kDrop) << flowlog::ToJson(r);
        }
        EXPECT_FALSE(r.audit_policies.empty())
            << "an audit record names what would have decided: " << flowlog::ToJson(r);
      }
    }
    if (got_audit != want_audit) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string missing, extra;
  for (const auto& p : want_audit) {
    if (!got_audit.contains(p)) missing += "  " + p.first + " -> " + p.second + "\n";
  }
  for (const auto& p : got_audit) {
    if (!want_audit.contains(p)) extra += "  " + p.first + " -> " + p.second + "\n";
  }
  EXPECT_TRUE(missing.empty() && extra.empty()) << GetParam() << ": pairs without their audit record:\n"
                                                << missing << "audit records of pairs that do not differ:\n"
                                                << extra << "audit records:\n"
                                                << records;

  // What enforcing the policies in audit would do, replayed on the traffic the agents recorded:
  // `netfencectl diff --flows` over the node's log must list exactly those pairs, cut where the
  // packets flowed, admitted where they were dropped.
  ManifestDir change;
  for (const char* f : {"cluster.yaml", "policies.yaml"}) {
    std::string text = ReadFile(dir / f);
    for (size_t at; (at = text.find("enforcement: audit")) != std::string::npos;)
      text.replace(at, 18, "enforcement: enforce");
    change.Write(f, text);
  }
  std::vector<std::string> args = {BinDir() + "/netfencectl",
                                   "diff",
                                   "--manifests",
                                   manifests.path(),
                                   "-f",
                                   change.path(),
                                   "--protocol",
                                   "TCP",
                                   "--port",
                                   std::to_string(c.port),
                                   "-o",
                                   "json"};
  for (const auto& node : cluster->nodes()) {
    args.push_back("--flows");
    args.push_back(cluster->FlowLogPath(node));
  }
  auto diff = RunProcess(args, {}, "");
  ASSERT_TRUE(diff.ok()) << diff.status().message();
  ASSERT_EQ(diff->exit_code, 0) << diff->err;
  const auto out = nlohmann::json::parse(diff->out);
  std::set<std::pair<std::string, std::string>> observed;
  for (const auto& f : out.at("observed")) {
    const auto pair = std::make_pair(f.at("from").get<std::string>(), f.at("to").get<std::string>());
    observed.insert(pair);
    const size_t i = std::find(probed.pods.begin(), probed.pods.end(), pair.first) - probed.pods.begin();
    const size_t j = std::find(probed.pods.begin(), probed.pods.end(), pair.second) - probed.pods.begin();
    ASSERT_TRUE(i < n && j < n) << f.dump();
    EXPECT_EQ(f.at("change").get<std::string>(), c.allowed[i][j] ? "cut" : "admitted") << f.dump();
    EXPECT_GE(f.at("records").get<int>(), 1) << f.dump();
  }
  EXPECT_EQ(observed, want_audit) << diff->out;
  EXPECT_EQ(out.at("flips").size(), want_audit.size()) << diff->out;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, E2eAudit, ::testing::ValuesIn(AuditScenarios()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name = p.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return "audit" + name;
                         });

// Probes src -> dst until the answer is `want`; false after 10 s.
bool WaitForVerdict(Cluster& c, const std::string& src, const std::string& dst, uint16_t port, bool want) {
  for (int i = 0; i < 200; ++i) {
    if (c.ProbeOnce(src, dst, kTCP, port, 50) == want) return true;
  }
  return false;
}

std::string NamespaceWithMode(const std::string& mode) {
  return "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {ns: x}, annotations: "
         "{netfence.io/enforcement: " +
         mode + "}}\n---\n";
}

TEST(E2eAuditSwitch, ANamespaceSwitchedFromAuditToEnforceCutsTheConnectionsItNowDenies) {
  ManifestDir dir;
  dir.Write("namespace.yaml", NamespaceWithMode("audit"));
  dir.Write("pods.yaml", PodYaml("x", "client", "app: client", "10.79.1.10") +
                             PodYaml("x", "server", "app: server", "10.79.1.20") +
                             PodYaml("x", "other", "app: other", "10.79.1.30"));
  // The server takes only the client, on port 80.
  dir.Write("policy.yaml", PolicyYaml("x", "server-in",
                                      "  podSelector: {matchLabels: {app: server}}\n"
                                      "  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], "
                                      "ports: [{protocol: TCP, port: 80}]}]"));
  ClusterOptions options;
  options.manifests = dir.path();
  options.bin_dir = BinDir();
  options.server_ports = {80, 81};
  NETFENCE_E2E_CLUSTER(c, options);

  // In audit: everything connects, the connections the policy would deny included.
  auto open = [&](const char* from, uint16_t port) {
    auto s = nettest::TcpSession::Open(c->PodNetns(from), c->PodAddress("x/server"), port);
    EXPECT_TRUE(s.ok()) << from << " -> server:" << port << ": " << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  };
  auto allowed = open("x/client", 80);  // the policy admits it
  auto cut81 = open("x/client", 81);    // it would not: wrong port
  auto cut80 = open("x/other", 80);     // it would not: wrong peer
  ASSERT_TRUE(allowed && cut81 && cut80);
  EXPECT_TRUE(allowed->Echo() && cut81->Echo() && cut80->Echo());

  // Enforce: the two connections the policy denies are cut at their next packet; new ones
  // follow; the allowed connection carries on.
  dir.Write("namespace.yaml", NamespaceWithMode("enforce"));
  ASSERT_TRUE(WaitForVerdict(*c, "x/other", "x/server", 80, false)) << c->AgentLog("node-1");
  EXPECT_FALSE(cut81->Echo(300)) << "a connection the enforced policy denies survived the switch";
  EXPECT_FALSE(cut80->Echo(300)) << "a connection the enforced policy denies survived the switch";
  EXPECT_TRUE(allowed->Echo()) << "an allowed connection was broken by the switch";
  EXPECT_TRUE(c->ProbeOnce("x/client", "x/server", kTCP, 80));
  EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kTCP, 81, 300));

  // Back to audit: allowed again (new connections).
  dir.Write("namespace.yaml", NamespaceWithMode("audit"));
  EXPECT_TRUE(WaitForVerdict(*c, "x/other", "x/server", 80, true)) << c->AgentLog("node-1");
}

}  // namespace
}  // namespace netfence::e2e
