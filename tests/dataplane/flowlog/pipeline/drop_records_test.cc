// SPDX-License-Identifier: Apache-2.0
// Drops: datapath events -> aggregates -> `drop` records, attributed to the policies that
// isolated the denying side, as of the drop's generation.
#include "dataplane/flowlog/pipeline/drop_records.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "dataplane/flowlog/community_id.h"
#include "dataplane/flowlog/pipeline/attribution.h"
#include "tests/dataplane/flowlog/pipeline/generation_fixture.h"
#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;

const char* kClient = "10.0.0.2";
const char* kServer = "10.0.0.1";

class DropRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::AddGeneration(&history_, g_, 1, 0); }

  nf_event Drop(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint8_t proto) {
    nf_event e = testing::Event(NF_EV_DROP, src, sport, dst, dport, proto, 1, 0);
    e.reason = NF_DROP_POLICY;
    e.verdict = testing::VerdictOf(g_.cluster->Decide(src, dst, proto, dport));
    return e;
  }
  std::vector<FlowRecord> Records(const std::vector<nf_event>& events) {
    DropAggregator agg({.window_ns = 10}, [this] { return now_; });
    for (const nf_event& e : events) agg.Add(DropObservationOf(e, history_, testing::kT0));
    std::vector<FlowRecord> out;
    for (const DropAggregate& a : agg.FlushAll()) out.push_back(DropRecordOf(a, history_, "node-a", testing::kT0 + 5));
    return out;
  }

  GenerationHistory history_;
  testing::Generation g_ = testing::MakeGeneration(
      PodYaml("default", "client", "app: client", kClient) + PodYaml("default", "server", "app: server", kServer) +
          PolicyYaml("default", "server-in",
                     "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                     "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 80}]\n") +
          PolicyYaml("default", "client-out",
                     "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n  egress:\n"
                     "  - to: [{podSelector: {matchLabels: {app: server}}}]\n"),
      1);
  int64_t now_ = 0;
};

TEST_F(DropRecordsTest, ADropSaysWhereItWasSeen) {
  nf_event rx = Drop(kClient, 40000, kServer, 81, 6);
  nf_event tc = Drop(kClient, 40001, kServer, 81, 6);
  tc.hook = NF_HOOK_TC;
  DropAggregator agg({.window_ns = 10}, [this] { return now_; });
  agg.Add(DropObservationOf(rx, history_, testing::kT0));
  agg.Add(DropObservationOf(tc, history_, testing::kT0));
  std::map<uint16_t, std::string> xdp, dpdk;  // by source port
  for (const DropAggregate& a : agg.FlushAll()) {
    xdp[a.sport] = DropRecordOf(a, history_, "node-a", testing::kT0 + 5).observation_point;
    dpdk[a.sport] = DropRecordOf(a, history_, "node-a", testing::kT0 + 5, "dpdk").observation_point;
  }
  EXPECT_EQ(xdp, (std::map<uint16_t, std::string>{{40000, "xdp"}, {40001, "tc-egress"}}));
  EXPECT_EQ(dpdk, (std::map<uint16_t, std::string>{{40000, "dpdk"}, {40001, "tc-egress"}}));
}

TEST_F(DropRecordsTest, APolicyDropNamesThePoliciesIsolatingTheDenyingSide) {
  const auto out = Records({Drop(kClient, 40000, kServer, 81, 6), Drop(kClient, 40000, kServer, 81, 6)});
  ASSERT_EQ(out.size(), 1u);
  FlowRecord want = testing::ClientServerTcp(g_, kClient, 40000, kServer, 81);
  want.event = EventKind::kDrop;
  want.time_ns = testing::kT0 + 5;
  want.verdict = Verdict::kDenied;
  want.direction = Direction::kIngress;  // the client's egress allows it; the server's ingress does not
  want.reason = reason::kDefaultDeny;
  want.packets = want.count = 2;
  want.bytes = 148;
  want.generation = 1;
  want.policies = {{"default", "server-in", Direction::kIngress, std::nullopt}};
  want.first_time_ns = want.last_time_ns = testing::kT0;
  want.aggregation = Aggregation::kExact;
  EXPECT_EQ(out[0], want);
}

TEST_F(DropRecordsTest, DropsOfTheProgrammedGenerationKeepTheirNamesOnceLaterOnesAreRealisedWithoutProgramming) {
  // Generation 2 changes nothing this node's tables say (same epoch: the agent did not program
  // it); the datapath goes on stamping drops with generation 1. Long after generation 2
  // superseded 1 in the history, those drops are still named.
  testing::Generation g2 = testing::MakeGeneration(
      PodYaml("default", "client", "app: client", kClient) + PodYaml("default", "server", "app: server", kServer) +
          PolicyYaml("default", "server-in",
                     "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                     "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 80}]\n") +
          PolicyYaml("default", "client-out",
                     "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n  egress:\n"
                     "  - to: [{podSelector: {matchLabels: {app: server}}}]\n") +
          PodYaml("other", "elsewhere", "app: x", "10.0.9.9"),
      2);
  testing::AddGeneration(&history_, g2, 1, testing::kT0 + 1);
  history_.Retire(testing::kT0 + 100 * kNsPerSecond, nullptr);
  const auto out = Records({Drop(kClient, 40000, kServer, 81, 6)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].generation, 1u);  // what the datapath decided with (and the agent's status says)
  EXPECT_EQ(out[0].src.pod, "client") << ToJson(out[0]);
  EXPECT_EQ(out[0].dst.pod, "server");
  EXPECT_EQ(out[0].dst.ns, "default");
  EXPECT_EQ(out[0].policies, (std::vector<PolicyRef>{{"default", "server-in", Direction::kIngress, std::nullopt}}));
}

TEST_F(DropRecordsTest, ADropOfAGenerationNoLongerKnownStillNamesItsAddresses) {
  // An event of a generation this history never saw (an earlier agent's): the addresses are
  // named as the live generation knows them; no rule is guessed.
  nf_event e = Drop(kClient, 40000, kServer, 81, 6);
  e.generation = 99;
  const auto out = Records({e});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].generation, 99u);
  EXPECT_EQ(out[0].src.pod, "client");
  EXPECT_EQ(out[0].dst.pod, "server");
  EXPECT_TRUE(out[0].policies.empty());
}

TEST_F(DropRecordsTest, AnEgressDenialIsTheSendersAndNamesItsPolicies) {
  // The client's egress isolates it: a packet from the client to the world is its own denial.
  const auto world = Records({Drop(kClient, 5000, "192.0.2.1", 53, 17)});
  ASSERT_EQ(world.size(), 1u);
  EXPECT_EQ(world[0].direction, Direction::kEgress);
  EXPECT_EQ(world[0].policies, (std::vector<PolicyRef>{{"default", "client-out", Direction::kEgress, std::nullopt}}));
  EXPECT_EQ(world[0].dst.pod, "");
  EXPECT_FALSE(world[0].dst.identity.has_value());
}

TEST_F(DropRecordsTest, IcmpDropsHaveNoPortsAndTheCommunityIdOfTheirTypeAndCode) {
  nf_event e = Drop(kClient, 99, "192.0.2.1", 99, 1);  // echo id 99 as both ports
  e.icmp_type = 8;
  const auto out = Records({e});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].proto, 1);
  EXPECT_FALSE(out[0].src.port.has_value());
  EXPECT_FALSE(out[0].dst.port.has_value());
  EXPECT_EQ(out[0].community_id, CommunityId(*IpAddr::Parse(kClient), *IpAddr::Parse("192.0.2.1"), 1, 8, 0));
}

TEST_F(DropRecordsTest, MalformedPacketsKeepWhatWasParsed) {
  nf_event e = testing::Event(NF_EV_DROP, "::", 0, "::", 0, 0, 0, 0);
  e.reason = NF_DROP_ETH_TRUNC;
  e.parsed = 0;
  nf_event spoofed = testing::Event(NF_EV_DROP, "10.9.9.9", 1, kServer, 80, 6, 1, 0);
  spoofed.reason = NF_DROP_SPOOFED;
  const auto out = Records({e, spoofed});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].reason, reason::kMalformed);
  EXPECT_FALSE(out[0].src.ip.has_value());
  EXPECT_FALSE(out[0].dst.ip.has_value());
  EXPECT_EQ(out[0].community_id, "");
  EXPECT_TRUE(out[0].policies.empty());
  EXPECT_EQ(out[1].reason, reason::kSpoofed);
  EXPECT_EQ(out[1].direction, Direction::kEgress);
  EXPECT_EQ(out[1].dst.pod, "server");
}

// ---- ClusterNetworkPolicy tiers ----------------------------------------------------------------

// A drop by a Deny rule names the rule (reason "policy") with its kind, tier, action and name;
// a connection an Accept rule let in names that rule.
class TieredRecordsTest : public DropRecordsTest {
 protected:
  void SetUp() override { testing::AddGeneration(&history_, tiered_, 1, 0); }

  nf_event TieredDrop(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint8_t proto) {
    nf_event e = testing::Event(NF_EV_DROP, src, sport, dst, dport, proto, 1, 0);
    e.reason = NF_DROP_POLICY;
    e.verdict = testing::VerdictOf(tiered_.cluster->Decide(src, dst, proto, dport));
    return e;
  }

  testing::Generation tiered_ = testing::MakeGeneration(
      PodYaml("default", "client", "app: client", kClient) + PodYaml("default", "server", "app: server", kServer) +
          PolicyYaml("default", "server-in",
                     "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                     "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 80}]\n") +
          "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: guard}\n"
          "spec:\n  tier: Admin\n  priority: 3\n  subject: {pods: {podSelector: {matchLabels: {app: server}}}}\n"
          "  ingress:\n  - {name: no-ssh, action: Deny, from: [{namespaces: {}}], protocols: [{tcp: "
          "{destinationPort: {number: 22}}}]}\n"
          "  - {name: admin-port, action: Accept, from: [{namespaces: {}}], protocols: [{tcp: {destinationPort: "
          "{number: 9000}}}]}\n---\n",
      1);
};

TEST_F(TieredRecordsTest, ADenyRuleDropNamesTheRule) {
  DropAggregator agg({.window_ns = 10}, [this] { return now_; });
  agg.Add(DropObservationOf(TieredDrop(kClient, 40000, kServer, 22, 6), history_, testing::kT0));
  agg.Add(DropObservationOf(TieredDrop(kClient, 40000, kServer, 81, 6), history_, testing::kT0));
  std::vector<FlowRecord> out;
  for (const DropAggregate& a : agg.FlushAll()) out.push_back(DropRecordOf(a, history_, "node-a", testing::kT0 + 5));
  ASSERT_EQ(out.size(), 2u);
  const FlowRecord& deny = out[0].dst.port == 22 ? out[0] : out[1];
  const FlowRecord& isolated = out[0].dst.port == 22 ? out[1] : out[0];
  EXPECT_EQ(deny.reason, reason::kPolicy);
  EXPECT_EQ(deny.direction, Direction::kIngress);
  PolicyRef rule{"", "guard", Direction::kIngress, 0};
  rule.kind = "ClusterNetworkPolicy";
  rule.tier = "Admin";
  rule.action = "Deny";
  rule.rule_name = "no-ssh";
  EXPECT_EQ(deny.policies, std::vector<PolicyRef>{rule});
  EXPECT_NE(ToJson(deny).find(R"("policies":[{"namespace":"","name":"guard","direction":"ingress","rule":0,)"
                              R"("kind":"ClusterNetworkPolicy","tier":"Admin","action":"Deny","rule_name":"no-ssh"}])"),
            std::string::npos)
      << ToJson(deny);
  // Port 81: the Admin tier has no rule for it; the NetworkPolicy isolating the server denies.
  EXPECT_EQ(isolated.reason, reason::kDefaultDeny);
  EXPECT_EQ(isolated.policies, (std::vector<PolicyRef>{{"default", "server-in", Direction::kIngress, std::nullopt}}));
}

TEST_F(TieredRecordsTest, AnAcceptRuleNamesTheRule) {
  const nf_verdict v = testing::VerdictOf(tiered_.cluster->Decide(kClient, kServer, 6, 9000));
  FlowRecord r;
  AttributeAllowed(history_.Find(1), v, *IpAddr::Parse(kClient), &r);
  EXPECT_EQ(r.reason, reason::kPolicy);
  ASSERT_EQ(r.policies.size(), 1u);
  EXPECT_EQ(r.policies[0].kind, "ClusterNetworkPolicy");
  EXPECT_EQ(r.policies[0].tier, "Admin");
  EXPECT_EQ(r.policies[0].action, "Accept");
  EXPECT_EQ(r.policies[0].rule_name, "admin-port");
  EXPECT_EQ(r.policies[0].rule, 1u);
  // And the record reads back the same.
  auto back = ParseRecord(ToJson(r));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->policies, r.policies);
}

}  // namespace
}  // namespace netfence::flowlog
