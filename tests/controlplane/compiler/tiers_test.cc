// SPDX-License-Identifier: Apache-2.0
// One test per ClusterNetworkPolicy semantic rule (tiers, priorities, actions, peers, ports,
// the v1alpha1 kinds), each asserted twice: through the compiled tables and the production
// classifier, and through the reference evaluator written from the API's documentation.
#include <gtest/gtest.h>

#include "common/tables/wire.h"
#include "tests/differential/reference_evaluator.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::testing {
namespace {

constexpr uint8_t kTCP = 6, kUDP = 17, kICMP = 1;

// x: a(app=a, http TCP/80) 10.0.1.1, b(app=b) 10.0.1.2; y: a(app=a, dns UDP/53, http TCP/8080)
// 10.0.2.1, b(app=b) 10.0.2.2; mon/prom 10.0.3.1; kube-system/agent on host network at node n1
// (192.168.1.1). Nodes n1 (role=worker) 192.168.1.1, n2 (role=control) 192.168.1.2.
std::string Base() {
  return NamespaceYaml("x", "team: red") + NamespaceYaml("y", "team: blue") + NamespaceYaml("mon", "") +
         PodYaml("x", "a", "app: a", "10.0.1.1", "[{name: http, containerPort: 80}]") +
         PodYaml("x", "b", "app: b", "10.0.1.2") +
         PodYaml("y", "a", "app: a", "10.0.2.1",
                 "[{name: dns, containerPort: 53, protocol: UDP}, {name: http, containerPort: 8080}]") +
         PodYaml("y", "b", "app: b", "10.0.2.2") + PodYaml("mon", "prom", "app: prom", "10.0.3.1") +
         PodYaml("kube-system", "agent", "app: agent", "192.168.1.1", "[]", /*host_network=*/true) +
         "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {role: worker}}\n"
         "status: {addresses: [{type: InternalIP, address: 192.168.1.1}]}\n---\n"
         "apiVersion: v1\nkind: Node\nmetadata: {name: n2, labels: {role: control}}\n"
         "status: {addresses: [{type: InternalIP, address: 192.168.1.2}]}\n---\n";
}

// A v1alpha2 ClusterNetworkPolicy; `body` holds subject and rules, indented two spaces.
std::string Cnp(const std::string& name, const std::string& tier, int priority, const std::string& body) {
  return "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: " + name +
         "}\nspec:\n  tier: " + tier + "\n  priority: " + std::to_string(priority) + "\n" + body + "\n---\n";
}

const v1::Endpoint& EndpointOf(const Cluster& c, const std::string& key) {
  for (const auto& ep : c.tables().endpoints()) {
    if (ep.namespace_() + "/" + ep.name() == key) return ep;
  }
  ADD_FAILURE() << "no endpoint " << key;
  return c.tables().endpoints(0);
}

std::string RuleText(const std::string& kind, const std::string& ns, const std::string& name, uint32_t index) {
  return (kind.empty() ? ns : kind) + "/" + name + "#" + std::to_string(index);
}

// One direction as text: "none" (nothing decided), "default-deny", "allow:POLICY#RULE" or
// "deny:POLICY#RULE" (POLICY: ns/name of a NetworkPolicy, Kind/name of a cluster policy).
std::string Text(const Cluster& c, const classifier::DirectionDecision& d) {
  using classifier::Outcome;
  if (d.outcome == Outcome::kNotIsolated) return "none";
  if (d.outcome == Outcome::kDenied) return "default-deny";
  const auto& dt = c.tables().tables(static_cast<int>(d.table));
  const auto& p = c.tables().policies(static_cast<int>(dt.rule_policy(static_cast<int>(d.rule_bit))));
  return std::string(d.outcome == Outcome::kAllowed ? "allow:" : "deny:") +
         RuleText(p.kind(), p.namespace_(), p.name(), dt.rule_index(static_cast<int>(d.rule_bit)));
}

std::string Text(const reference::RefDirection& d) {
  if (!d.rule) return d.allowed ? "none" : "default-deny";
  return std::string(d.allowed ? "allow:" : "deny:") +
         RuleText(d.rule->kind, d.rule->policy_ns, d.rule->policy_name, d.rule->rule_index);
}

// "egress=... ingress=..." from the tables; the reference evaluator must say the same.
std::string Verdict(const Cluster& c, const std::string& src, const std::string& dst, uint16_t port,
                    uint8_t proto = kTCP) {
  const auto d = c.Decide(src, dst, proto, port);
  const std::string got = "egress=" + Text(c, d.egress) + " ingress=" + Text(c, d.ingress);
  const auto ref = reference::ReferenceEvaluate(c.state(), *IpAddr::Parse(src), *IpAddr::Parse(dst), proto, port);
  const std::string want = "egress=" + Text(ref.egress) + " ingress=" + Text(ref.ingress);
  EXPECT_EQ(got, want) << src << " -> " << dst << ": the tables and the reference evaluator disagree";
  EXPECT_EQ(d.allowed(), ref.allowed());
  return got;
}

TEST(Tiers, AdminDenyOverridesANetworkPolicyAllow) {
  Cluster c(Base() + PolicyYaml("y", "allow-x", "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {}}]") +
            Cnp("no-red", "Admin", 10,
                "  subject: {namespaces: {matchLabels: {team: blue}}}\n  ingress:\n"
                "  - {name: red, action: Deny, from: [{namespaces: {matchLabels: {team: red}}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 80), "egress=none ingress=deny:ClusterNetworkPolicy/no-red#0");
  EXPECT_EQ(Verdict(c, "10.0.3.1", "10.0.2.1", 80), "egress=none ingress=allow:y/allow-x#0");
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.1", 80));
}

TEST(Tiers, AdminAcceptOverridesANetworkPolicyDefaultDeny) {
  Cluster c(Base() + PolicyYaml("y", "deny", "  podSelector: {}\n  ingress: []") +
            Cnp("monitoring", "Admin", 10,
                "  subject: {namespaces: {}}\n  ingress:\n"
                "  - {action: Accept, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: mon}}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.3.1", "10.0.2.2", 9090), "egress=none ingress=allow:ClusterNetworkPolicy/monitoring#0");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.2", 9090), "egress=none ingress=default-deny");
}

TEST(Tiers, LowerPriorityValuesComeFirst) {
  const std::string subject = "  subject: {namespaces: {}}\n  ingress:\n";
  const std::string deny = "  - {action: Deny, from: [{namespaces: {}}]}";
  const std::string accept = "  - {action: Accept, from: [{namespaces: {}}]}";
  Cluster accept_first(Base() + Cnp("deny", "Admin", 10, subject + deny) + Cnp("accept", "Admin", 5, subject + accept));
  EXPECT_EQ(Verdict(accept_first, "10.0.1.1", "10.0.2.1", 80),
            "egress=none ingress=allow:ClusterNetworkPolicy/accept#0");
  Cluster deny_first(Base() + Cnp("deny", "Admin", 4, subject + deny) + Cnp("accept", "Admin", 5, subject + accept));
  EXPECT_EQ(Verdict(deny_first, "10.0.1.1", "10.0.2.1", 80), "egress=none ingress=deny:ClusterNetworkPolicy/deny#0");
}

// Equal priorities: netfence orders by name (then kind), a documented, deterministic choice.
TEST(Tiers, EqualPrioritiesAreOrderedByName) {
  const std::string subject = "  subject: {namespaces: {}}\n  ingress:\n";
  Cluster c(Base() + Cnp("b-deny", "Admin", 7, subject + "  - {action: Deny, from: [{namespaces: {}}]}") +
            Cnp("a-accept", "Admin", 7, subject + "  - {action: Accept, from: [{namespaces: {}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 80), "egress=none ingress=allow:ClusterNetworkPolicy/a-accept#0");
}

TEST(Tiers, TheFirstMatchingRuleOfAPolicyDecides) {
  Cluster c(Base() + Cnp("ordered", "Admin", 1,
                         "  subject: {namespaces: {}}\n  egress:\n"
                         "  - {action: Accept, to: [{pods: {podSelector: {matchLabels: {app: b}}}}]}\n"
                         "  - {action: Deny, to: [{namespaces: {}}]}\n"
                         "  - {action: Accept, to: [{namespaces: {}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.2", 80), "egress=allow:ClusterNetworkPolicy/ordered#0 ingress=none");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 80), "egress=deny:ClusterNetworkPolicy/ordered#1 ingress=none");
}

TEST(Tiers, AdminPassHandsOverToNetworkPolicy) {
  Cluster c(
      Base() +
      PolicyYaml("y", "only-a", "  podSelector: {}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: a}}}]") +
      Cnp("pass", "Admin", 1,
          "  subject: {namespaces: {matchLabels: {team: blue}}}\n  ingress:\n"
          "  - {action: Pass, from: [{namespaces: {}}]}") +
      Cnp("later-accept", "Admin", 2,
          "  subject: {namespaces: {}}\n  ingress:\n  - {action: Accept, from: [{namespaces: {}}]}"));
  // The Pass skips the rest of the Admin tier (the Accept), then NetworkPolicy decides.
  EXPECT_EQ(Verdict(c, "10.0.2.1", "10.0.2.2", 80), "egress=none ingress=allow:y/only-a#0");
  EXPECT_EQ(Verdict(c, "10.0.1.2", "10.0.2.2", 80), "egress=none ingress=default-deny");
  // Where nothing passes, the later Accept decides.
  EXPECT_EQ(Verdict(c, "10.0.2.1", "10.0.1.2", 80), "egress=none ingress=allow:ClusterNetworkPolicy/later-accept#0");
}

TEST(Tiers, AdminPassHandsOverToBaselineWhenNoNetworkPolicyIsolates) {
  Cluster c(
      Base() +
      Cnp("pass", "Admin", 1, "  subject: {namespaces: {}}\n  ingress:\n  - {action: Pass, from: [{namespaces: {}}]}") +
      Cnp("baseline-deny", "Baseline", 1,
          "  subject: {namespaces: {matchLabels: {team: blue}}}\n  ingress:\n"
          "  - {action: Deny, from: [{namespaces: {matchLabels: {team: red}}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 80), "egress=none ingress=deny:ClusterNetworkPolicy/baseline-deny#0");
  EXPECT_EQ(Verdict(c, "10.0.3.1", "10.0.2.1", 80), "egress=none ingress=none");
}

TEST(Tiers, BaselineAppliesOnlyWhereNoNetworkPolicyIsolates) {
  Cluster c(Base() +
            PolicyYaml("y", "a-from-x",
                       "  podSelector: {matchLabels: {app: a}}\n  ingress:\n"
                       "  - from: [{namespaceSelector: {matchLabels: {team: red}}}]") +
            Cnp("default-deny", "Baseline", 100,
                "  subject: {namespaces: {matchLabels: {team: blue}}}\n  ingress:\n"
                "  - {name: all, action: Deny, from: [{namespaces: {}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 80), "egress=none ingress=allow:y/a-from-x#0");  // NetworkPolicy decides
  EXPECT_EQ(Verdict(c, "10.0.3.1", "10.0.2.1", 80), "egress=none ingress=default-deny");        // isolated: no Baseline
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.2", 80), "egress=none ingress=deny:ClusterNetworkPolicy/default-deny#0");
}

TEST(Tiers, ABaselinePassIsNoDecision) {
  Cluster c(Base() +
            Cnp("pass", "Baseline", 1,
                "  subject: {namespaces: {}}\n  ingress:\n  - {action: Pass, from: [{namespaces: {}}]}") +
            Cnp("deny", "Baseline", 2,
                "  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 80), "egress=none ingress=none");
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.1", 80));
}

TEST(Tiers, NamedPortsResolveOnTheDestinationWithItsProtocol) {
  Cluster c(Base() + Cnp("named", "Admin", 1,
                         "  subject: {namespaces: {}}\n  egress:\n"
                         "  - {action: Deny, to: [{namespaces: {}}], protocols: [{destinationNamedPort: dns}]}\n"
                         "  ingress:\n"
                         "  - {action: Accept, from: [{namespaces: {}}], protocols: [{destinationNamedPort: http}]}\n"
                         "  - {action: Deny, from: [{namespaces: {}}]}"));
  // dns is UDP/53 on y/a only.
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 53, kUDP),
            "egress=deny:ClusterNetworkPolicy/named#0 ingress=deny:ClusterNetworkPolicy/named#1");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 53, kTCP), "egress=none ingress=deny:ClusterNetworkPolicy/named#1");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.2", 53, kUDP), "egress=none ingress=deny:ClusterNetworkPolicy/named#1");
  // http is TCP/8080 on y/a, TCP/80 on x/a.
  EXPECT_EQ(Verdict(c, "10.0.1.2", "10.0.2.1", 8080), "egress=none ingress=allow:ClusterNetworkPolicy/named#0");
  EXPECT_EQ(Verdict(c, "10.0.1.2", "10.0.1.1", 80), "egress=none ingress=allow:ClusterNetworkPolicy/named#0");
  EXPECT_EQ(Verdict(c, "10.0.1.2", "10.0.1.1", 8080), "egress=none ingress=deny:ClusterNetworkPolicy/named#1");
}

TEST(Tiers, NetworksMatchPodAddressesToo) {
  Cluster c(Base() + Cnp("no-y", "Admin", 1,
                         "  subject: {namespaces: {matchLabels: {team: red}}}\n  egress:\n"
                         "  - {action: Deny, to: [{networks: [10.0.2.0/24]}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.2", 80), "egress=deny:ClusterNetworkPolicy/no-y#0 ingress=none");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.3.1", 80), "egress=none ingress=none");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.200", 80), "egress=deny:ClusterNetworkPolicy/no-y#0 ingress=none");
}

TEST(Tiers, NodesPeersMatchNodeAddressesAndSoHostNetworkPods) {
  Cluster c(Base() + Cnp("nodes", "Admin", 1,
                         "  subject: {namespaces: {}}\n  egress:\n"
                         "  - {action: Accept, to: [{nodes: {matchLabels: {role: worker}}}]}\n"
                         "  - {action: Deny, to: [{networks: [0.0.0.0/0]}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "192.168.1.1", 10250), "egress=allow:ClusterNetworkPolicy/nodes#0 ingress=none");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "192.168.1.2", 10250), "egress=deny:ClusterNetworkPolicy/nodes#1 ingress=none");
}

TEST(Tiers, HostNetworkPodsAreNeitherSubjectsNorPodPeers) {
  Cluster c(Base() + Cnp("pods-only", "Admin", 1,
                         "  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n"
                         "  egress:\n  - {action: Deny, to: [{namespaces: {}}]}"));
  // The host-network agent is no pod peer (the Deny does not match it) and no subject.
  EXPECT_EQ(Verdict(c, "192.168.1.1", "10.0.1.1", 80), "egress=none ingress=none");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "192.168.1.1", 80), "egress=none ingress=none");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.1.2", 80),
            "egress=deny:ClusterNetworkPolicy/pods-only#0 ingress=deny:ClusterNetworkPolicy/pods-only#0");
}

TEST(Tiers, NoProtocolsMeansEveryProtocol) {
  Cluster c(Base() +
            Cnp("deny", "Admin", 1,
                "  subject: {namespaces: {}}\n  ingress:\n"
                "  - {action: Deny, from: [{namespaces: {}}], protocols: [{tcp: {destinationPort: {number: 22}}}]}\n"
                "  - {action: Deny, from: [{namespaces: {matchLabels: {team: red}}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.3.1", "10.0.2.1", 0, kICMP), "egress=none ingress=none");
  EXPECT_EQ(Verdict(c, "10.0.3.1", "10.0.2.1", 22), "egress=none ingress=deny:ClusterNetworkPolicy/deny#0");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 0, kICMP), "egress=none ingress=deny:ClusterNetworkPolicy/deny#1");
}

TEST(Tiers, PortRangesAndProtocols) {
  Cluster c(Base() + Cnp("ranges", "Baseline", 1,
                         "  subject: {namespaces: {}}\n  ingress:\n"
                         "  - {action: Deny, from: [{namespaces: {}}], protocols: [{udp: {destinationPort: {range: "
                         "{start: 1000, end: 2000}}}}, {sctp: {destinationPort: {number: 9}}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 1000, kUDP), "egress=none ingress=deny:ClusterNetworkPolicy/ranges#0");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 2000, kUDP), "egress=none ingress=deny:ClusterNetworkPolicy/ranges#0");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 2001, kUDP), "egress=none ingress=none");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 1500, kTCP), "egress=none ingress=none");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 9, 132), "egress=none ingress=deny:ClusterNetworkPolicy/ranges#0");
}

TEST(Tiers, PeersOfAnUnknownKindFailClosed) {
  Cluster c(Base() + Cnp("future", "Admin", 1,
                         "  subject: {namespaces: {matchLabels: {team: blue}}}\n  ingress:\n"
                         "  - {action: Accept, from: [{futurePeer: {}}, {namespaces: {matchLabels: {team: red}}}]}\n"
                         "  - {action: Pass, from: [{futurePeer: {}}]}"));
  // Accept: the unknown peer matches nothing, the other one still does.
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 80), "egress=none ingress=allow:ClusterNetworkPolicy/future#0");
  // Pass: treated as "deny all".
  EXPECT_EQ(Verdict(c, "10.0.3.1", "10.0.2.1", 80), "egress=none ingress=deny:ClusterNetworkPolicy/future#1");
  EXPECT_EQ(Verdict(c, "8.8.8.8", "10.0.2.1", 53, kUDP), "egress=none ingress=deny:ClusterNetworkPolicy/future#1");
}

TEST(Tiers, DomainNamesMatchNothing) {
  Cluster c(Base() + Cnp("domains", "Admin", 1,
                         "  subject: {namespaces: {}}\n  egress:\n"
                         "  - {action: Accept, to: [{domainNames: [example.com]}]}\n"
                         "  - {action: Deny, to: [{networks: [8.8.8.8/32]}]}"));
  EXPECT_EQ(Verdict(c, "10.0.1.1", "8.8.8.8", 443), "egress=deny:ClusterNetworkPolicy/domains#1 ingress=none");
}

TEST(Tiers, V1alpha1KindsMapOntoTheTiers) {
  const std::string anp =
      "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: anp}\nspec:\n"
      "  priority: 1\n  subject: {namespaces: {matchLabels: {team: blue}}}\n  ingress:\n"
      "  - {action: Allow, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: mon}}}],"
      " ports: [{portRange: {protocol: TCP, start: 9000, end: 9100}}]}\n---\n";
  const std::string banp =
      "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\n"
      "spec:\n  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n---\n";
  Cluster c(Base() + anp + banp +
            Cnp("anp", "Admin", 2,
                "  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {}}], "
                "protocols: [{tcp: {destinationPort: {number: 9090}}}]}"));
  EXPECT_EQ(Verdict(c, "10.0.3.1", "10.0.2.1", 9090), "egress=none ingress=allow:AdminNetworkPolicy/anp#0");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 9090), "egress=none ingress=deny:ClusterNetworkPolicy/anp#0");
  EXPECT_EQ(Verdict(c, "10.0.1.1", "10.0.2.1", 80), "egress=none ingress=deny:BaselineAdminNetworkPolicy/default#0");
}

// Endpoints no cluster policy selects keep exactly the tables they have without any.
TEST(Tiers, TablesOfEndpointsNoClusterPolicySelectsAreUnchanged) {
  const std::string nps = PolicyYaml("x", "a", "  podSelector: {}\n  ingress:\n  - from: [{podSelector: {}}]") +
                          PolicyYaml("y", "b", "  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8}}]");
  Cluster without(Base() + nps);
  Cluster with(Base() + nps +
               Cnp("mon-only", "Admin", 1,
                   "  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: mon}}}\n"
                   "  egress:\n  - {action: Deny, to: [{networks: [0.0.0.0/0]}]}"));
  auto table_of = [](const Cluster& c, const std::string& pod, bool ingress) {
    for (const auto& ep : c.tables().endpoints()) {
      if (ep.namespace_() + "/" + ep.name() != pod) continue;
      v1::DirectionTable t = c.tables().tables(static_cast<int>(ingress ? ep.ingress_table() : ep.egress_table()));
      // Rows are offsets into the shared arena: compare their words instead.
      return t.SerializeAsString();
    }
    return std::string();
  };
  for (const std::string pod : {"x/a", "x/b", "y/a", "y/b"}) {
    for (bool ingress : {true, false}) {
      EXPECT_EQ(table_of(without, pod, ingress), table_of(with, pod, ingress)) << pod;
    }
  }
  for (const auto& t : without.tables().tables()) EXPECT_EQ(t.rule_flags_size(), 0);
  EXPECT_EQ(with.tables().tables(static_cast<int>(EndpointOf(with, "mon/prom").egress_table())).rule_flags_size(), 1);
}

// The tables say where each tier starts and what each bit does.
TEST(Tiers, TablesCarryActionsAndTierBoundaries) {
  Cluster c(Base() + PolicyYaml("y", "np", "  podSelector: {}\n  ingress:\n  - from: [{podSelector: {}}]\n  - {}") +
            Cnp("admin", "Admin", 1,
                "  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n"
                "  - {action: Pass, from: [{namespaces: {}}]}\n  - {action: Accept, from: [{namespaces: {}}]}") +
            Cnp("base", "Baseline", 1,
                "  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}"));
  const auto& ep = EndpointOf(c, "y/a");
  const auto& dt = c.tables().tables(static_cast<int>(ep.ingress_table()));
  EXPECT_EQ(dt.np_first_bit(), 3u);
  EXPECT_EQ(dt.baseline_first_bit(), 5u);
  EXPECT_EQ(std::vector<uint32_t>(dt.rule_flags().begin(), dt.rule_flags().end()),
            (std::vector<uint32_t>{tables::kRuleDeny, tables::kRulePass, tables::kRuleAccept, tables::kRuleAllow,
                                   tables::kRuleAllow, tables::kRuleDeny}));
  EXPECT_TRUE(dt.isolated());
  const auto& admin = c.tables().policies(static_cast<int>(dt.rule_policy(0)));
  EXPECT_EQ(admin.kind(), "ClusterNetworkPolicy");
  EXPECT_EQ(admin.tier(), v1::TIER_ADMIN);
  EXPECT_EQ(admin.ingress_rule_names_size(), 3);
}

}  // namespace
}  // namespace netfence::testing
