// SPDX-License-Identifier: Apache-2.0
// Rule hit counters with real packets: a NetworkPolicy with two ingress rules (TCP 80, TCP 82)
// and an Admin ClusterNetworkPolicy denying TCP 81. Every probe is one new connection: the
// counters must equal the connections made, exactly, per rule, read from the agent
// (`netfencectl stats --agent`) and summed by the controller (`--controller`), and keep
// counting across an agent restart (the fast path's counters outlive the agent). A rule that
// matched nothing is listed by --unused.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/e2e/cluster.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/require_netns.h"

namespace netfence::e2e {
namespace {

using testing::NamespaceYaml;
using testing::PodYaml;
using testing::PolicyYaml;
constexpr auto kTCP = k8s::Protocol::kTCP;

const char* const kDeny81 =
    "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
    "metadata: {name: no-81}\n"
    "spec:\n"
    "  tier: Admin\n"
    "  priority: 10\n"
    "  subject: {namespaces: {matchLabels: {ns: x}}}\n"
    "  ingress:\n"
    "  - name: block-81\n"
    "    action: Deny\n"
    "    from: [{namespaces: {}}]\n"
    "    protocols: [{tcp: {destinationPort: {number: 81}}}]\n";

struct RuleCount {
  uint64_t allowed = 0, denied = 0;
  bool listed = false;
};

// `netfencectl stats ARGS -o json`: the counts of rule `rule` (ingress) of policy `name`.
StatusOr<nlohmann::json> Stats(std::vector<std::string> args) {
  std::vector<std::string> argv = {BinDir() + "/netfencectl", "stats", "-o", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = RunProcess(argv, {}, "");
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) return Status::Error("netfencectl stats: " + run->err);
  return nlohmann::json::parse(run->out, nullptr, false);
}

RuleCount Find(const nlohmann::json& stats, const std::string& name, int rule) {
  RuleCount c;
  for (const auto& r : stats.at("rules")) {
    if (r.at("name") == name && r.at("rule") == rule && r.at("direction") == "ingress") {
      c.allowed = r.at("allowed").get<uint64_t>();
      c.denied = r.at("denied").get<uint64_t>();
      c.listed = true;
    }
  }
  return c;
}

// Waits (the controller hears every --rule-hits-interval) until `args` report the counts.
bool Eventually(const std::vector<std::string>& args, const std::string& name, int rule, uint64_t allowed,
                uint64_t denied, nlohmann::json* last) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = Stats(args);
    if (s.ok() && !s->is_discarded()) {
      *last = *s;
      const RuleCount c = Find(*s, name, rule);
      if (c.allowed == allowed && c.denied == denied) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

TEST(E2eRuleHits, CountersEqualTheConnectionsMadeAcrossAnAgentRestart) {
  ManifestDir dir;
  dir.Write("cluster.yaml", NamespaceYaml("x", "ns: x") + PodYaml("x", "client", "app: client", "10.78.2.10") +
                                PodYaml("x", "server", "app: server", "10.78.2.20"));
  dir.Write("policies.yaml",
            PolicyYaml("x", "server-in",
                       "  podSelector: {matchLabels: {app: server}}\n"
                       "  ingress: [{ports: [{protocol: TCP, port: 80}]}, {ports: [{protocol: TCP, port: 82}]}]") +
                kDeny81);
  ClusterOptions options;
  options.manifests = dir.path();
  options.bin_dir = BinDir();
  options.server_ports = {80, 81, 82};
  options.agent_args = {"--rule-hits-interval", "500ms"};
  NETFENCE_E2E_CLUSTER(c, options);
  const std::string node = c->NodeOf("x/server");
  const std::vector<std::string> agent = {"--agent", c->ObserveTarget(node)};
  const std::vector<std::string> controller = c->CtlControllerArgs();

  // Each probe: one TCP connection (a new source port); a denied one sends its one SYN within
  // the 300 ms it waits (the first retransmission comes after 1 s).
  auto connect = [&](uint16_t port, int times, bool want) {
    for (int i = 0; i < times; ++i) {
      ASSERT_EQ(c->ProbeOnce("x/client", "x/server", kTCP, port, want ? 2000 : 300), want) << "port " << port;
    }
  };
  connect(80, 5, true);
  connect(81, 2, false);
  nlohmann::json last;
  ASSERT_TRUE(Eventually(agent, "server-in", 0, 5, 0, &last)) << last.dump(2);
  ASSERT_TRUE(Eventually(agent, "no-81", 0, 0, 2, &last)) << last.dump(2);
  EXPECT_EQ(last.at("nodes").size(), 1u);

  // The rule nothing matched yet, and only it, is a clean-up candidate.
  std::vector<std::string> unused = agent;
  unused.push_back("--unused");
  auto idle = Stats(unused);
  ASSERT_TRUE(idle.ok()) << idle.status().message();
  ASSERT_EQ(idle->at("rules").size(), 1u) << idle->dump(2);
  EXPECT_EQ(idle->at("rules")[0].at("name"), "server-in");
  EXPECT_EQ(idle->at("rules")[0].at("rule"), 1);

  // The agent goes (SIGKILL: nothing flushed) and comes back: the counts continue.
  ASSERT_TRUE(c->StopAgent(node, SIGKILL).ok());
  ASSERT_TRUE(c->StartAgent(node).ok());
  connect(80, 3, true);
  connect(82, 4, true);
  connect(81, 1, false);
  EXPECT_TRUE(Eventually(agent, "server-in", 0, 8, 0, &last)) << last.dump(2);
  EXPECT_TRUE(Eventually(agent, "server-in", 1, 4, 0, &last)) << last.dump(2);
  EXPECT_TRUE(Eventually(agent, "no-81", 0, 0, 3, &last)) << last.dump(2);
  EXPECT_FALSE(last.at("since").is_null());

  // The controller's sums (every node's last report) say the same.
  if (!controller.empty()) {
    EXPECT_TRUE(Eventually(controller, "server-in", 0, 8, 0, &last)) << last.dump(2);
    EXPECT_TRUE(Eventually(controller, "server-in", 1, 4, 0, &last)) << last.dump(2);
    EXPECT_TRUE(Eventually(controller, "no-81", 0, 0, 3, &last)) << last.dump(2);
    std::vector<std::string> one = controller;
    one.insert(one.end(), {"--policy", "x/server-in"});
    auto only = Stats(one);
    ASSERT_TRUE(only.ok()) << only.status().message();
    EXPECT_EQ(only->at("rules").size(), 2u) << only->dump(2);
    std::vector<std::string> none = controller;
    none.push_back("--unused");
    auto idle_now = Stats(none);
    ASSERT_TRUE(idle_now.ok());
    EXPECT_EQ(idle_now->at("rules").size(), 0u) << idle_now->dump(2);
  }
}

}  // namespace
}  // namespace netfence::e2e
