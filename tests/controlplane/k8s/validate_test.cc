// SPDX-License-Identifier: Apache-2.0
// Validation follows the API server: each rule, its field path and its message.
#include "controlplane/k8s/validate.h"

#include <gtest/gtest.h>

#include <string>
#include "tests/controlplane/k8s/validate_fixtures.h"
#include "tests/testing/field_errors.h"

namespace netfence::k8s {
namespace {

using Type = FieldError::Type;

using testing_helpers::Dump;
using testing_helpers::HasError;
using namespace validate_fixtures;  // NOLINT: Validate overloads, ValidPod

LabelSelector Sel(Labels labels, std::vector<LabelSelectorRequirement> exprs = {}) {
  LabelSelector s;
  s.match_labels = std::move(labels);
  s.match_expressions = std::move(exprs);
  return s;
}

NetworkPolicyPeer PodPeer(LabelSelector s) {
  NetworkPolicyPeer p;
  p.pod_selector = std::move(s);
  return p;
}

NetworkPolicyPeer BlockPeer(std::string cidr, std::vector<std::string> except = {}) {
  NetworkPolicyPeer p;
  p.ip_block = IPBlock{std::move(cidr), std::move(except)};
  return p;
}

NetworkPolicyPort NumPort(int64_t port, std::optional<int64_t> end = std::nullopt) {
  NetworkPolicyPort p;
  p.port = IntOrString{true, port, ""};
  p.end_port = end;
  return p;
}

NetworkPolicyPort NamedPort(std::string name) {
  NetworkPolicyPort p;
  p.port = IntOrString{false, 0, std::move(name)};
  return p;
}

NetworkPolicy Policy() {
  NetworkPolicy np;
  np.meta.name = "allow-web";
  np.meta.ns = "default";
  return np;
}

// A policy with one ingress rule holding `peer`.
NetworkPolicy WithIngressPeer(NetworkPolicyPeer peer) {
  NetworkPolicy np = Policy();
  np.ingress.push_back({{std::move(peer)}, {}});
  return np;
}

NetworkPolicy WithIngressPort(NetworkPolicyPort port) {
  NetworkPolicy np = Policy();
  np.ingress.push_back({{}, {std::move(port)}});
  return np;
}

// ---- valid objects -----------------------------------------------------------------------

TEST(ValidateTest, ValidObjectsHaveNoErrors) {
  Namespace ns;
  ns.meta.name = "prod";
  ns.meta.labels = {{"team", "a"}, {"example.com/tier", ""}};
  EXPECT_TRUE(Validate(ns).empty()) << Dump(Validate(ns));

  EXPECT_TRUE(Validate(ValidPod()).empty()) << Dump(Validate(ValidPod()));

  NetworkPolicy np = Policy();
  np.pod_selector = Sel({{"app", "web"}}, {{"tier", "In", {"a", "b"}}, {"legacy", "DoesNotExist", {}}});
  NetworkPolicyPeer both;
  both.pod_selector = Sel({});
  both.namespace_selector = Sel({}, {{"env", "NotIn", {"dev"}}, {"team", "Exists", {}}});
  NetworkPolicyPort udp = NumPort(1000, 2000);
  udp.protocol = "UDP";
  NetworkPolicyPort sctp;
  sctp.protocol = "SCTP";
  np.ingress.push_back({{both, BlockPeer("10.0.0.0/8", {"10.1.0.0/16", "10.2.3.4/32"})},
                        {NumPort(80), NamedPort("http"), udp, sctp, NumPort(65535, 65535)}});
  np.ingress.push_back({});  // empty rule: everyone, every port
  np.egress.push_back({{BlockPeer("2001:db8::/32", {"2001:db8:1::/48"}), BlockPeer("0.0.0.0/0")}, {}});
  np.policy_types = {"Ingress", "Egress"};
  EXPECT_TRUE(Validate(np).empty()) << Dump(Validate(np));
}

// ---- name and label predicates ----------------------------------------------------------

TEST(ValidateTest, DNS1123Label) {
  EXPECT_TRUE(IsDNS1123Label("prod"));
  EXPECT_TRUE(IsDNS1123Label("a-1"));
  EXPECT_TRUE(IsDNS1123Label("1abc"));
  EXPECT_TRUE(IsDNS1123Label(std::string(63, 'a')));
  EXPECT_FALSE(IsDNS1123Label(std::string(64, 'a')));
  EXPECT_FALSE(IsDNS1123Label(""));
  EXPECT_FALSE(IsDNS1123Label("Prod"));
  EXPECT_FALSE(IsDNS1123Label("-a"));
  EXPECT_FALSE(IsDNS1123Label("a-"));
  EXPECT_FALSE(IsDNS1123Label("a.b"));
  EXPECT_FALSE(IsDNS1123Label("a_b"));
}

TEST(ValidateTest, DNS1123Subdomain) {
  EXPECT_TRUE(IsDNS1123Subdomain("web-0"));
  EXPECT_TRUE(IsDNS1123Subdomain("a.b.example.com"));
  EXPECT_TRUE(IsDNS1123Subdomain(std::string(253, 'a')));
  EXPECT_FALSE(IsDNS1123Subdomain(std::string(254, 'a')));
  EXPECT_FALSE(IsDNS1123Subdomain(""));
  EXPECT_FALSE(IsDNS1123Subdomain("a..b"));
  EXPECT_FALSE(IsDNS1123Subdomain(".a"));
  EXPECT_FALSE(IsDNS1123Subdomain("a."));
  EXPECT_FALSE(IsDNS1123Subdomain("a.-b"));
  EXPECT_FALSE(IsDNS1123Subdomain("Web"));
}

TEST(ValidateTest, QualifiedName) {
  EXPECT_TRUE(IsQualifiedName("app"));
  EXPECT_TRUE(IsQualifiedName("App_Name.v1"));
  EXPECT_TRUE(IsQualifiedName("kubernetes.io/metadata.name"));
  EXPECT_TRUE(IsQualifiedName(std::string(63, 'x')));
  EXPECT_TRUE(IsQualifiedName(std::string(253, 'a') + "/" + std::string(63, 'x')));
  EXPECT_FALSE(IsQualifiedName(std::string(64, 'x')));
  EXPECT_FALSE(IsQualifiedName(std::string(254, 'a') + "/x"));
  EXPECT_FALSE(IsQualifiedName(""));
  EXPECT_FALSE(IsQualifiedName("/app"));
  EXPECT_FALSE(IsQualifiedName("example.com/"));
  EXPECT_FALSE(IsQualifiedName("a/b/c"));
  EXPECT_FALSE(IsQualifiedName("Example.com/app"));
  EXPECT_FALSE(IsQualifiedName("-app"));
  EXPECT_FALSE(IsQualifiedName("app_"));
  EXPECT_FALSE(IsQualifiedName("my app"));
}

TEST(ValidateTest, LabelValue) {
  EXPECT_TRUE(IsValidLabelValue(""));
  EXPECT_TRUE(IsValidLabelValue("v1.2_3-x"));
  EXPECT_TRUE(IsValidLabelValue(std::string(63, 'v')));
  EXPECT_FALSE(IsValidLabelValue(std::string(64, 'v')));
  EXPECT_FALSE(IsValidLabelValue("-v"));
  EXPECT_FALSE(IsValidLabelValue("v."));
  EXPECT_FALSE(IsValidLabelValue("a/b"));
  EXPECT_FALSE(IsValidLabelValue("a b"));
}

TEST(ValidateTest, PortName) {
  EXPECT_TRUE(IsValidPortName("http"));
  EXPECT_TRUE(IsValidPortName("h2c-8080"));
  EXPECT_TRUE(IsValidPortName("a"));
  EXPECT_TRUE(IsValidPortName("12345678901234a"));    // 15 characters
  EXPECT_FALSE(IsValidPortName("123456789012345a"));  // 16 characters
  EXPECT_FALSE(IsValidPortName(""));
  EXPECT_FALSE(IsValidPortName("80"));       // no letter
  EXPECT_FALSE(IsValidPortName("HTTP"));     // upper case
  EXPECT_FALSE(IsValidPortName("my_port"));  // underscore
  EXPECT_FALSE(IsValidPortName("my--port"));
  EXPECT_FALSE(IsValidPortName("-http"));
  EXPECT_FALSE(IsValidPortName("http-"));
}

// ---- metadata ---------------------------------------------------------------------------

TEST(ValidateTest, NameRequired) {
  NetworkPolicy np = Policy();
  np.meta.name.clear();
  EXPECT_TRUE(HasError(Validate(np), Type::kRequired, "metadata.name", "name or generateName is required"));
}

TEST(ValidateTest, PodNameMustBeDNSSubdomain) {
  Pod pod = ValidPod();
  pod.meta.name = "Web_0";
  auto errors = Validate(pod);
  ASSERT_TRUE(HasError(errors, Type::kInvalid, "metadata.name", "lowercase RFC 1123 subdomain"));
  EXPECT_EQ(errors[0].value, "\"Web_0\"");
  // Dots are fine in object names.
  pod.meta.name = "web.0";
  EXPECT_TRUE(Validate(pod).empty());
}

TEST(ValidateTest, PolicyNameTooLong) {
  NetworkPolicy np = Policy();
  np.meta.name = std::string(254, 'a');
  EXPECT_TRUE(HasError(Validate(np), Type::kInvalid, "metadata.name", "must be no more than 253 characters"));
}

TEST(ValidateTest, NamespaceNameMustBeDNSLabel) {
  Namespace ns;
  ns.meta.name = "team.a";
  EXPECT_TRUE(HasError(Validate(ns), Type::kInvalid, "metadata.name", "must not contain dots"));
  ns.meta.name = "Team";
  EXPECT_TRUE(HasError(Validate(ns), Type::kInvalid, "metadata.name", "lowercase RFC 1123 label"));
  ns.meta.name = std::string(64, 'a');
  EXPECT_TRUE(HasError(Validate(ns), Type::kInvalid, "metadata.name", "must be no more than 63 characters"));
}

TEST(ValidateTest, MetadataNamespaceMustBeDNSLabel) {
  NetworkPolicy np = Policy();
  np.meta.ns = "my.ns";
  EXPECT_TRUE(HasError(Validate(np), Type::kInvalid, "metadata.namespace", "must not contain dots"));
  np.meta.ns.clear();
  EXPECT_TRUE(HasError(Validate(np), Type::kRequired, "metadata.namespace"));
}

TEST(ValidateTest, ClusterScopedObjectHasNoNamespace) {
  ObjectMeta meta;
  meta.name = "prod";
  meta.ns = "default";
  FieldErrors errors;
  ValidateObjectMeta(meta, /*namespaced=*/false, &errors);
  EXPECT_TRUE(HasError(errors, Type::kForbidden, "metadata.namespace", "not allowed on this type"));
}

TEST(ValidateTest, LabelKeyMustBeQualifiedName) {
  Pod pod = ValidPod();
  pod.meta.labels = {{"-app", "web"}};
  auto errors = Validate(pod);
  ASSERT_TRUE(HasError(errors, Type::kInvalid, "metadata.labels", "name part must consist of alphanumeric"));
  EXPECT_EQ(errors[0].value, "\"-app\"");

  pod.meta.labels = {{"/app", "web"}};
  EXPECT_TRUE(HasError(Validate(pod), Type::kInvalid, "metadata.labels", "prefix part must be non-empty"));
  pod.meta.labels = {{"Example.com/app", "web"}};
  EXPECT_TRUE(HasError(Validate(pod), Type::kInvalid, "metadata.labels", "prefix part a lowercase RFC 1123 subdomain"));
  pod.meta.labels = {{"a/b/c", "web"}};
  EXPECT_TRUE(HasError(Validate(pod), Type::kInvalid, "metadata.labels", "optional DNS subdomain prefix"));
  pod.meta.labels = {{std::string(64, 'k'), "web"}};
  EXPECT_TRUE(HasError(Validate(pod), Type::kInvalid, "metadata.labels", "name part must be no more than 63"));
}

TEST(ValidateTest, LabelValueMustBeValid) {
  Namespace ns;
  ns.meta.name = "prod";
  ns.meta.labels = {{"app", "web server"}};
  auto errors = Validate(ns);
  ASSERT_TRUE(HasError(errors, Type::kInvalid, "metadata.labels", "a valid label must be an empty string"));
  EXPECT_EQ(errors[0].value, "\"web server\"");
  ns.meta.labels = {{"app", std::string(64, 'v')}};
  EXPECT_TRUE(HasError(Validate(ns), Type::kInvalid, "metadata.labels", "must be no more than 63 characters"));
}

// ---- LabelSelector ----------------------------------------------------------------------

TEST(ValidateTest, SelectorMatchLabels) {
  NetworkPolicy np = Policy();
  np.pod_selector = Sel({{"app", "-web"}});
  EXPECT_TRUE(HasError(Validate(np), Type::kInvalid, "spec.podSelector.matchLabels", "a valid label"));
  np.pod_selector = Sel({{"app/", "web"}});
  EXPECT_TRUE(HasError(Validate(np), Type::kInvalid, "spec.podSelector.matchLabels", "name part must be non-empty"));
}

TEST(ValidateTest, SelectorOperatorMustBeKnown) {
  NetworkPolicy np = Policy();
  np.pod_selector = Sel({}, {{"app", "Equals", {"web"}}});
  auto errors = Validate(np);
  ASSERT_TRUE(HasError(errors, Type::kInvalid, "spec.podSelector.matchExpressions[0].operator",
                       "not a valid selector operator"));
  EXPECT_EQ(errors[0].str(),
            "spec.podSelector.matchExpressions[0].operator: Invalid value: \"Equals\": not a valid selector operator");
  // Operators are case-sensitive.
  np.pod_selector = Sel({}, {{"app", "in", {"web"}}});
  EXPECT_TRUE(HasError(Validate(np), Type::kInvalid, "spec.podSelector.matchExpressions[0].operator"));
}

TEST(ValidateTest, SelectorInNotInNeedValues) {
  NetworkPolicy np = Policy();
  np.pod_selector = Sel({}, {{"app", "In", {"web"}}, {"tier", "NotIn", {}}});
  EXPECT_TRUE(HasError(Validate(np), Type::kRequired, "spec.podSelector.matchExpressions[1].values",
                       "must be specified when `operator` is 'In' or 'NotIn'"));
  np.pod_selector = Sel({}, {{"app", "In", {}}});
  EXPECT_TRUE(HasError(Validate(np), Type::kRequired, "spec.podSelector.matchExpressions[0].values"));
}

TEST(ValidateTest, SelectorExistsForbidsValues) {
  NetworkPolicy np = Policy();
  np.pod_selector = Sel({}, {{"app", "Exists", {"web"}}});
  EXPECT_TRUE(HasError(Validate(np), Type::kForbidden, "spec.podSelector.matchExpressions[0].values",
                       "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
  np.pod_selector = Sel({}, {{"app", "DoesNotExist", {"web"}}});
  EXPECT_TRUE(HasError(Validate(np), Type::kForbidden, "spec.podSelector.matchExpressions[0].values"));
}

TEST(ValidateTest, SelectorExpressionKeyAndValues) {
  NetworkPolicy np = Policy();
  np.pod_selector = Sel({}, {{"bad key", "In", {"ok", "not ok"}}});
  auto errors = Validate(np);
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "spec.podSelector.matchExpressions[0].key", "name part"));
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "spec.podSelector.matchExpressions[0].values[1]", "a valid label"));
  EXPECT_EQ(errors.size(), 2u) << Dump(errors);
  np.pod_selector = Sel({}, {{"", "Exists", {}}});
  EXPECT_TRUE(HasError(Validate(np), Type::kInvalid, "spec.podSelector.matchExpressions[0].key",
                       "name part must be non-empty"));
}

TEST(ValidateTest, SelectorInsidePeerHasFullPath) {
  NetworkPolicy np = Policy();
  NetworkPolicyPeer peer;
  peer.namespace_selector = Sel({}, {{"env", "Exists", {"x"}}});
  np.egress.push_back({{PodPeer(Sel({})), peer}, {}});
  EXPECT_TRUE(
      HasError(Validate(np), Type::kForbidden, "spec.egress[0].to[1].namespaceSelector.matchExpressions[0].values"));
}

// ---- NetworkPolicy ports ----------------------------------------------------------------

TEST(ValidateTest, PortProtocolMustBeSupported) {
  NetworkPolicyPort port = NumPort(80);
  port.protocol = "tcp";
  auto errors = Validate(WithIngressPort(port));
  ASSERT_TRUE(HasError(errors, Type::kUnsupported, "spec.ingress[0].ports[0].protocol",
                       "supported values: \"TCP\", \"UDP\", \"SCTP\""));
  EXPECT_EQ(errors[0].value, "\"tcp\"");
  port.protocol = "ICMP";
  EXPECT_TRUE(HasError(Validate(WithIngressPort(port)), Type::kUnsupported, "spec.ingress[0].ports[0].protocol"));
  port.protocol = "";
  EXPECT_TRUE(HasError(Validate(WithIngressPort(port)), Type::kUnsupported, "spec.ingress[0].ports[0].protocol"));
}

TEST(ValidateTest, NumericPortRange) {
  auto errors = Validate(WithIngressPort(NumPort(0)));
  ASSERT_TRUE(
      HasError(errors, Type::kInvalid, "spec.ingress[0].ports[0].port", "must be between 1 and 65535, inclusive"));
  EXPECT_EQ(errors[0].value, "0");  // numbers are not quoted
  EXPECT_TRUE(HasError(Validate(WithIngressPort(NumPort(65536))), Type::kInvalid, "spec.ingress[0].ports[0].port"));
  EXPECT_TRUE(HasError(Validate(WithIngressPort(NumPort(-1))), Type::kInvalid, "spec.ingress[0].ports[0].port"));
  EXPECT_TRUE(Validate(WithIngressPort(NumPort(1))).empty());
  EXPECT_TRUE(Validate(WithIngressPort(NumPort(65535))).empty());
}

TEST(ValidateTest, NamedPortMustBeIanaSvcName) {
  auto errors = Validate(WithIngressPort(NamedPort("HTTP")));
  ASSERT_TRUE(HasError(errors, Type::kInvalid, "spec.ingress[0].ports[0].port", "must contain only alpha-numeric"));
  EXPECT_EQ(errors[0].value, "\"HTTP\"");
  EXPECT_TRUE(HasError(Validate(WithIngressPort(NamedPort("80"))), Type::kInvalid, "spec.ingress[0].ports[0].port",
                       "must contain at least one letter (a-z)"));
  EXPECT_TRUE(HasError(Validate(WithIngressPort(NamedPort("my--port"))), Type::kInvalid,
                       "spec.ingress[0].ports[0].port", "must not contain consecutive hyphens"));
  EXPECT_TRUE(HasError(Validate(WithIngressPort(NamedPort("-http"))), Type::kInvalid, "spec.ingress[0].ports[0].port",
                       "must not begin or end with a hyphen"));
  EXPECT_TRUE(HasError(Validate(WithIngressPort(NamedPort("a-very-long-port-name"))), Type::kInvalid,
                       "spec.ingress[0].ports[0].port", "must be no more than 15 characters"));
}

TEST(ValidateTest, EndPortWithoutPort) {
  NetworkPolicyPort port;
  port.end_port = 90;
  EXPECT_TRUE(HasError(Validate(WithIngressPort(port)), Type::kInvalid, "spec.ingress[0].ports[0].endPort",
                       "may not be specified when `port` is not specified"));
}

TEST(ValidateTest, EndPortWithNamedPort) {
  NetworkPolicyPort port = NamedPort("http");
  port.end_port = 90;
  auto errors = Validate(WithIngressPort(port));
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "spec.ingress[0].ports[0].endPort",
                       "may not be specified when `port` is non-numeric"));
  EXPECT_EQ(errors.size(), 1u) << Dump(errors);
}

TEST(ValidateTest, EndPortBelowPort) {
  auto errors = Validate(WithIngressPort(NumPort(80, 70)));
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_EQ(errors[0].str(),
            "spec.ingress[0].ports[0].endPort: Invalid value: 70: must be greater than or equal to `port`");
  EXPECT_TRUE(Validate(WithIngressPort(NumPort(80, 80))).empty());
}

TEST(ValidateTest, EndPortAboveMax) {
  NetworkPolicy np = Policy();
  np.egress.push_back({{}, {NumPort(80), NumPort(1000, 70000)}});
  EXPECT_TRUE(HasError(Validate(np), Type::kInvalid, "spec.egress[0].ports[1].endPort",
                       "must be between 1 and 65535, inclusive"));
}

// ---- peers ------------------------------------------------------------------------------

TEST(ValidateTest, PeerMustSpecifySomething) {
  EXPECT_TRUE(HasError(Validate(WithIngressPeer(NetworkPolicyPeer{})), Type::kRequired, "spec.ingress[0].from[0]",
                       "must specify a peer"));
}

TEST(ValidateTest, PeerIpBlockWithSelectorForbidden) {
  NetworkPolicyPeer peer = BlockPeer("10.0.0.0/8");
  peer.namespace_selector = Sel({});
  EXPECT_TRUE(HasError(Validate(WithIngressPeer(peer)), Type::kForbidden, "spec.ingress[0].from[0]",
                       "may not specify both ipBlock and another peer"));
  // podSelector and namespaceSelector together are one peer: pods in those namespaces.
  NetworkPolicyPeer both = PodPeer(Sel({{"app", "db"}}));
  both.namespace_selector = Sel({{"team", "a"}});
  EXPECT_TRUE(Validate(WithIngressPeer(both)).empty());
}

// ---- ipBlock ----------------------------------------------------------------------------

TEST(ValidateTest, IpBlockCidrRequired) {
  EXPECT_TRUE(
      HasError(Validate(WithIngressPeer(BlockPeer(""))), Type::kRequired, "spec.ingress[0].from[0].ipBlock.cidr"));
}

TEST(ValidateTest, IpBlockCidrMustParse) {
  auto errors = Validate(WithIngressPeer(BlockPeer("10.0.0.0/33")));
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_EQ(errors[0].str(),
            "spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, "
            "(e.g. 10.9.8.0/24 or 2001:db8::/64)");
  for (const char* bad : {"foo", "10.0.0.0", "10.0.0/8", "10.0.0.0/", "10.0.0.0/-1", "2001:db8::/129", "::1/1x",
                          "300.0.0.0/8", " 10.0.0.0/8"}) {
    EXPECT_TRUE(HasError(Validate(WithIngressPeer(BlockPeer(bad))), Type::kInvalid,
                         "spec.ingress[0].from[0].ipBlock.cidr", "must be a valid CIDR value"))
        << bad;
  }
}

TEST(ValidateTest, IpBlockCidrMayHaveHostBits) {
  // The API server long accepted 10.0.0.1/4 (meaning 0.0.0.0/4); so do we.
  EXPECT_TRUE(Validate(WithIngressPeer(BlockPeer("10.0.0.1/4"))).empty());
  EXPECT_TRUE(Validate(WithIngressPeer(BlockPeer("10.1.2.3/8", {"10.1.0.0/16"}))).empty());
  EXPECT_TRUE(Validate(WithIngressPeer(BlockPeer("2001:db8::1/32"))).empty());
}

TEST(ValidateTest, IpBlockExceptMustBeStrictSubset) {
  const std::string path = "spec.ingress[0].from[0].ipBlock.except";
  auto errors =
      Validate(WithIngressPeer(BlockPeer("10.0.0.0/16", {"10.0.1.0/24", "10.1.0.0/24", "10.0.0.0/16", "10.0.0.0/8"})));
  EXPECT_TRUE(HasError(errors, Type::kInvalid, path + "[1]", "must be a strict subset of `cidr`"));  // outside
  EXPECT_TRUE(HasError(errors, Type::kInvalid, path + "[2]", "must be a strict subset of `cidr`"));  // equal
  EXPECT_TRUE(HasError(errors, Type::kInvalid, path + "[3]", "must be a strict subset of `cidr`"));  // wider
  EXPECT_EQ(errors.size(), 3u) << Dump(errors);
  EXPECT_EQ(errors[0].value, "\"10.1.0.0/24\"");
}

TEST(ValidateTest, IpBlockExceptMustBeSameFamily) {
  const std::string path = "spec.ingress[0].from[0].ipBlock.except[0]";
  EXPECT_TRUE(HasError(Validate(WithIngressPeer(BlockPeer("0.0.0.0/0", {"fd00::/8"}))), Type::kInvalid, path,
                       "must be a strict subset of `cidr`"));
  EXPECT_TRUE(HasError(Validate(WithIngressPeer(BlockPeer("::/0", {"10.0.0.0/8"}))), Type::kInvalid, path,
                       "must be a strict subset of `cidr`"));
}

TEST(ValidateTest, IpBlockExceptMustParse) {
  NetworkPolicy np = Policy();
  np.egress.push_back({{PodPeer(Sel({})), BlockPeer("10.0.0.0/8", {"10.0.0.0/24", "10.0.0.300/32"})}, {}});
  auto errors = Validate(np);
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "spec.egress[0].to[1].ipBlock.except[1]", "must be a valid CIDR value"));
}

// ---- policyTypes ------------------------------------------------------------------------

TEST(ValidateTest, PolicyTypesMustBeIngressOrEgress) {
  NetworkPolicy np = Policy();
  np.policy_types = {"Ingress", "egress"};
  auto errors = Validate(np);
  ASSERT_TRUE(HasError(errors, Type::kUnsupported, "spec.policyTypes[1]", "supported values: \"Ingress\", \"Egress\""));
  EXPECT_EQ(errors[0].value, "\"egress\"");
}

TEST(ValidateTest, PolicyTypesAtMostTwo) {
  NetworkPolicy np = Policy();
  np.policy_types = {"Ingress", "Egress", "Ingress"};
  auto errors = Validate(np);
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "spec.policyTypes", "may not specify more than two policyTypes"));
}

TEST(ValidateTest, PolicyTypesRepeatedValueAcceptedLikeTheApiServer) {
  // The API server does not reject ["Ingress", "Ingress"]; rejecting it here would drop a
  // policy the cluster enforces.
  NetworkPolicy np = Policy();
  np.policy_types = {"Ingress", "Ingress"};
  EXPECT_TRUE(Validate(np).empty());
}

TEST(ValidateTest, ErrorsAreCollectedAcrossRules) {
  NetworkPolicy np = Policy();
  np.meta.name = "Bad";
  np.ingress.push_back({{NetworkPolicyPeer{}}, {NumPort(0)}});
  np.egress.push_back({{BlockPeer("x")}, {NamedPort("a_b")}});
  np.policy_types = {"Both"};
  auto errors = Validate(np);
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "metadata.name"));
  EXPECT_TRUE(HasError(errors, Type::kRequired, "spec.ingress[0].from[0]"));
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "spec.ingress[0].ports[0].port"));
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "spec.egress[0].to[0].ipBlock.cidr"));
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "spec.egress[0].ports[0].port"));
  EXPECT_TRUE(HasError(errors, Type::kUnsupported, "spec.policyTypes[0]"));
}

}  // namespace
}  // namespace netfence::k8s
