// SPDX-License-Identifier: Apache-2.0
// One test per NetworkPolicy semantic rule, asserted through compiled tables + classifier.
#include <gtest/gtest.h>

#include "tests/testing/policy_fixture.h"

namespace netfence::testing {
namespace {

constexpr uint8_t kTCP = 6, kUDP = 17, kSCTP = 132, kICMP = 1;

// x: a(app=a) 10.0.1.1, b(app=b) 10.0.1.2; y: a(app=a) 10.0.2.1, b(app=b, role=db) 10.0.2.2
std::string Base() {
  return NamespaceYaml("x", "team: red") + NamespaceYaml("y", "team: blue") + PodYaml("x", "a", "app: a", "10.0.1.1") +
         PodYaml("x", "b", "app: b", "10.0.1.2") + PodYaml("y", "a", "app: a", "10.0.2.1") +
         PodYaml("y", "b", "app: b, role: db", "10.0.2.2");
}

TEST(Semantics, NoPolicyMeansNotIsolated) {
  Cluster c(Base());
  auto d = c.Decide("10.0.1.1", "10.0.2.2", kTCP, 80);
  EXPECT_EQ(d.egress.outcome, classifier::Outcome::kNotIsolated);
  EXPECT_EQ(d.ingress.outcome, classifier::Outcome::kNotIsolated);
  EXPECT_TRUE(d.allowed());
}

TEST(Semantics, EmptyIngressListDeniesAllIngressButNotEgress) {
  Cluster c(Base() + PolicyYaml("y", "deny", "  podSelector: {}\n  ingress: []"));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 80));
  EXPECT_FALSE(c.Allowed("10.0.2.1", "10.0.2.2", 80));
  EXPECT_TRUE(c.Allowed("10.0.2.2", "10.0.1.1", 80));  // egress not covered
}

TEST(Semantics, PolicyTypesEgressWithoutRulesDeniesAllEgress) {
  Cluster c(Base() + PolicyYaml("x", "deny-egress", "  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]"));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 80));
  EXPECT_TRUE(c.Allowed("10.0.1.2", "10.0.2.2", 80));
  EXPECT_TRUE(c.Allowed("10.0.2.2", "10.0.1.1", 80));  // ingress of x/a not covered
}

TEST(Semantics, PolicyTypesDefaultIncludesEgressOnlyWhenEgressRulesExist) {
  Cluster c(Base() +
            PolicyYaml("x", "p", "  podSelector: {matchLabels: {app: a}}\n  egress:\n  - to: [{podSelector: {}}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.1.2", 80));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 80));  // egress isolated, peer is in y
  EXPECT_FALSE(c.Allowed("10.0.2.1", "10.0.1.1", 80));  // Ingress defaulted in, no ingress rules
}

TEST(Semantics, ListedPolicyTypesOverrideRules) {
  // Egress rules exist but policyTypes says Ingress only: egress is not enforced.
  Cluster c(Base() + PolicyYaml("x", "p",
                                "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]\n  egress:\n"
                                "  - to: [{ipBlock: {cidr: 192.0.2.0/24}}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 80));
}

TEST(Semantics, AbsentFromMeansEveryoneAbsentPortsMeansEveryProtocol) {
  Cluster c(Base() + PolicyYaml("y", "open", "  podSelector: {}\n  ingress: [{}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 80));
  EXPECT_TRUE(c.Allowed("198.51.100.7", "10.0.2.2", 1234, kUDP));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 0, kICMP));
}

TEST(Semantics, PodSelectorPeerSelectsOnlyThePolicyNamespace) {
  Cluster c(Base() +
            PolicyYaml("y", "p", "  podSelector: {}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: a}}}]"));
  EXPECT_TRUE(c.Allowed("10.0.2.1", "10.0.2.2", 80));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 80));  // x/a has app=a but lives in x
}

TEST(Semantics, NamespaceSelectorPeerSelectsEveryPodOfMatchingNamespaces) {
  Cluster c(Base() +
            PolicyYaml("y", "p",
                       "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: red}}}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 80));
  EXPECT_TRUE(c.Allowed("10.0.1.2", "10.0.2.2", 80));
  EXPECT_FALSE(c.Allowed("10.0.2.1", "10.0.2.2", 80));
}

TEST(Semantics, NamespaceSelectorSeesTheMetadataNameLabel) {
  Cluster c(Base() + PolicyYaml("y", "p",
                                "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: "
                                "{kubernetes.io/metadata.name: x}}}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 80));
  EXPECT_FALSE(c.Allowed("10.0.2.1", "10.0.2.2", 80));
}

TEST(Semantics, BothSelectorsInOnePeerAreAnd_TwoPeersAreOr) {
  Cluster and_c(
      Base() +
      PolicyYaml("y", "p",
                 "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: red}}\n"
                 "      podSelector: {matchLabels: {app: a}}"));
  EXPECT_TRUE(and_c.Allowed("10.0.1.1", "10.0.2.2", 80));
  EXPECT_FALSE(and_c.Allowed("10.0.1.2", "10.0.2.2", 80));
  EXPECT_FALSE(and_c.Allowed("10.0.2.1", "10.0.2.2", 80));
  Cluster or_c(
      Base() +
      PolicyYaml("y", "p",
                 "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: red}}\n"
                 "    - podSelector: {matchLabels: {app: a}}"));
  EXPECT_TRUE(or_c.Allowed("10.0.1.1", "10.0.2.2", 80));
  EXPECT_TRUE(or_c.Allowed("10.0.1.2", "10.0.2.2", 80));
  EXPECT_TRUE(or_c.Allowed("10.0.2.1", "10.0.2.2", 80));
}

TEST(Semantics, MatchExpressionsOperators) {
  auto with = [](const std::string& expr) {
    return Base() + PolicyYaml("y", "p", "  podSelector: {matchExpressions: [" + expr + "]}\n  ingress: []");
  };
  // Isolated pods are those the selector matches: probe y/a (app=a) and y/b (app=b, role=db).
  auto isolated = [](const Cluster& c, const char* ip) { return !c.Allowed("10.0.1.1", ip, 80); };
  Cluster in(with("{key: app, operator: In, values: [a]}"));
  EXPECT_TRUE(isolated(in, "10.0.2.1"));
  EXPECT_FALSE(isolated(in, "10.0.2.2"));
  Cluster notin(with("{key: role, operator: NotIn, values: [db]}"));
  EXPECT_TRUE(isolated(notin, "10.0.2.1"));  // lacks the key: NotIn matches
  EXPECT_FALSE(isolated(notin, "10.0.2.2"));
  Cluster exists(with("{key: role, operator: Exists}"));
  EXPECT_FALSE(isolated(exists, "10.0.2.1"));
  EXPECT_TRUE(isolated(exists, "10.0.2.2"));
  Cluster dne(with("{key: role, operator: DoesNotExist}"));
  EXPECT_TRUE(isolated(dne, "10.0.2.1"));
  EXPECT_FALSE(isolated(dne, "10.0.2.2"));
}

TEST(Semantics, MatchLabelsAndExpressionsAreAnded) {
  Cluster c(Base() + PolicyYaml("y", "p",
                                "  podSelector: {matchLabels: {app: b}, matchExpressions: [{key: role, operator: "
                                "DoesNotExist}]}\n  ingress: []"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 80));  // y/b has role: not selected
}

TEST(Semantics, IpBlockWithExceptAppliesToPodIps) {
  Cluster c(Base() + PolicyYaml("y", "p",
                                "  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/16, except: "
                                "[10.0.1.2/32]}}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 80));   // a pod IP inside the block
  EXPECT_FALSE(c.Allowed("10.0.1.2", "10.0.2.2", 80));  // the except
  EXPECT_FALSE(c.Allowed("10.1.0.1", "10.0.2.2", 80));  // outside
}

TEST(Semantics, IpBlockHostBitsAreIgnored) {
  Cluster c(Base() +
            PolicyYaml("y", "p", "  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.1.77/24}}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 80));
  EXPECT_FALSE(c.Allowed("10.0.2.1", "10.0.2.2", 80));
}

TEST(Semantics, EgressToIpBlockGovernsExternalAddresses) {
  Cluster c(Base() + PolicyYaml("x", "p",
                                "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to: [{ipBlock: {cidr: "
                                "203.0.113.0/24}}]\n    ports: [{port: 443}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "203.0.113.9", 443));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "203.0.113.9", 80));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "198.51.100.1", 443));
}

TEST(Semantics, NamedPortIngressResolvesOnTheDestinationPod) {
  std::string yaml =
      PodYaml("z", "web1", "app: web", "10.0.3.1", "[{name: http, containerPort: 8080}]") +
      PodYaml("z", "web2", "app: web", "10.0.3.2", "[{name: http, containerPort: 9090}]") +
      PodYaml("z", "client", "app: client", "10.0.3.3") +
      PolicyYaml("z", "p", "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - ports: [{port: http}]");
  Cluster c(yaml);
  EXPECT_TRUE(c.Allowed("10.0.3.3", "10.0.3.1", 8080));
  EXPECT_FALSE(c.Allowed("10.0.3.3", "10.0.3.1", 9090));
  EXPECT_TRUE(c.Allowed("10.0.3.3", "10.0.3.2", 9090));
  EXPECT_FALSE(c.Allowed("10.0.3.3", "10.0.3.2", 8080));
  EXPECT_NE(c.tables().endpoints(1).ingress_table(), c.tables().endpoints(2).ingress_table());  // web1, web2
  EXPECT_EQ(c.tables().endpoints(1).egress_table(), c.tables().endpoints(2).egress_table());
}

TEST(Semantics, NamedPortEgressResolvesOnThePeerPod) {
  std::string yaml = PodYaml("z", "web1", "app: web", "10.0.3.1", "[{name: http, containerPort: 8080}]") +
                     PodYaml("z", "web2", "app: web", "10.0.3.2", "[{name: http, containerPort: 9090}]") +
                     PodYaml("z", "client", "app: client", "10.0.3.3") +
                     PolicyYaml("z", "p",
                                "  podSelector: {matchLabels: {app: client}}\n  egress:\n  - to: [{ipBlock: {cidr: "
                                "10.0.3.0/24}}]\n    ports: [{port: http}]");
  Cluster c(yaml);
  EXPECT_TRUE(c.Allowed("10.0.3.3", "10.0.3.1", 8080));
  EXPECT_FALSE(c.Allowed("10.0.3.3", "10.0.3.1", 9090));
  EXPECT_TRUE(c.Allowed("10.0.3.3", "10.0.3.2", 9090));
  EXPECT_FALSE(c.Allowed("10.0.3.3", "10.0.3.9", 8080));  // no pod there: a named port cannot resolve
}

TEST(Semantics, NamedPortRequiresTheSameProtocol) {
  std::string yaml =
      PodYaml("z", "dns", "app: dns", "10.0.3.1", "[{name: dns, containerPort: 53, protocol: UDP}]") +
      PodYaml("z", "client", "app: client", "10.0.3.3") +
      PolicyYaml("z", "p", "  podSelector: {matchLabels: {app: dns}}\n  ingress:\n  - ports: [{port: dns}]");
  Cluster c(yaml);
  EXPECT_FALSE(c.Allowed("10.0.3.3", "10.0.3.1", 53, kTCP));  // the entry defaults to TCP
  EXPECT_FALSE(c.Allowed("10.0.3.3", "10.0.3.1", 53, kUDP));
}

TEST(Semantics, EndPortRangeIsInclusive) {
  Cluster c(Base() + PolicyYaml("y", "p", "  podSelector: {}\n  ingress:\n  - ports: [{port: 32000, endPort: 32768}]"));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 31999));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 32000));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 32768));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 32769));
}

TEST(Semantics, ProtocolsAreDistinctAndDefaultToTcp) {
  Cluster c(Base() + PolicyYaml("y", "p",
                                "  podSelector: {}\n  ingress:\n  - ports: [{port: 53, protocol: UDP}, {port: 80}, "
                                "{protocol: SCTP}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 53, kUDP));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 53, kTCP));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 80, kTCP));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 80, kUDP));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 7, kSCTP));   // protocol without port: every SCTP port
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 0, kICMP));  // rules with ports never match ICMP
}

TEST(Semantics, PoliciesAreAdditive) {
  Cluster c(Base() + PolicyYaml("y", "deny", "  podSelector: {}\n  ingress: []") +
            PolicyYaml("y", "allow-x",
                       "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{namespaceSelector: "
                       "{matchLabels: {team: red}}}]"));
  EXPECT_TRUE(c.Allowed("10.0.1.1", "10.0.2.2", 80));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.1", 80));
}

TEST(Semantics, ConnectionNeedsEgressOfSourceAndIngressOfDestination) {
  Cluster c(Base() + PolicyYaml("x", "eg", "  podSelector: {}\n  egress:\n  - to: [{podSelector: {}}]") +
            PolicyYaml("y", "in", "  podSelector: {}\n  ingress: [{}]"));
  auto d = c.Decide("10.0.1.1", "10.0.2.2", kTCP, 80);
  EXPECT_EQ(d.egress.outcome, classifier::Outcome::kDenied);
  EXPECT_EQ(d.ingress.outcome, classifier::Outcome::kAllowed);
  EXPECT_FALSE(d.allowed());
}

TEST(Semantics, HostNetworkPodsAndPodsWithoutIpAreNotEndpoints) {
  std::string yaml =
      Base() + PodYaml("x", "node-agent", "app: a", "192.168.50.1", "[]", true) +
      PolicyYaml("x", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]") +
      PolicyYaml(
          "y", "from-a",
          "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: a}}}]");
  Cluster c(yaml);
  // The host-network pod is not isolated by x/deny and not matched by the app=a selector.
  EXPECT_TRUE(c.Allowed("10.0.2.1", "192.168.50.1", 80));
  EXPECT_FALSE(c.Allowed("192.168.50.1", "10.0.2.2", 80));
  EXPECT_EQ(c.classifier().IdentityOf(*IpAddr::Parse("192.168.50.1")), compiler::kHostIdentity);
}

TEST(Semantics, Ipv6PodsAndBlocks) {
  std::string yaml = PodYaml("v6", "a", "app: a", "fd00:77::1") + PodYaml("v6", "b", "app: b", "fd00:77::2") +
                     PolicyYaml("v6", "p",
                                "  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{ipBlock: {cidr: "
                                "\"fd00:77::/64\", except: [\"fd00:77::2/128\"]}}]");
  Cluster c(yaml);
  EXPECT_TRUE(c.Allowed("fd00:77::1", "fd00:77::2", 80));
  EXPECT_FALSE(c.Allowed("fd00:99::1", "fd00:77::2", 80));
}

TEST(Semantics, Ipv6EverywhereBlockDoesNotAdmitIpv4) {
  Cluster c(Base() + PolicyYaml("y", "p", "  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: \"::/0\"}}]"));
  EXPECT_FALSE(c.Allowed("10.0.1.1", "10.0.2.2", 80));
}

TEST(Semantics, ReportedRuleIsTheFirstMatchingInPolicyOrder) {
  Cluster c(Base() + PolicyYaml("y", "b-policy", "  podSelector: {}\n  ingress:\n  - ports: [{port: 81}]\n  - {}") +
            PolicyYaml("y", "a-policy", "  podSelector: {}\n  ingress:\n  - ports: [{port: 80}]"));
  auto d = c.Decide("10.0.1.1", "10.0.2.2", kTCP, 80);
  EXPECT_EQ(c.RuleOf(d.ingress), "y/a-policy#0");
  d = c.Decide("10.0.1.1", "10.0.2.2", kTCP, 443);
  EXPECT_EQ(c.RuleOf(d.ingress), "y/b-policy#1");
}

}  // namespace
}  // namespace netfence::testing
