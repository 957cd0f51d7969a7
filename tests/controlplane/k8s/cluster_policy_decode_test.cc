// SPDX-License-Identifier: Apache-2.0
// ClusterNetworkPolicy (v1alpha2), AdminNetworkPolicy and BaselineAdminNetworkPolicy
// (v1alpha1) and Node: decoding into the model, and one test per rule of the CRDs (OpenAPI
// bounds and CEL rules) with the message asserted.
#include "controlplane/k8s/cluster_policy_decode.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "controlplane/k8s/decode.h"
#include "controlplane/k8s/manifests.h"
#include "tests/testing/field_errors.h"

namespace netfence::k8s {
namespace {

using nlohmann::json;
using testing_helpers::Dump;
using testing_helpers::HasError;
using Type = FieldError::Type;
using Kind = ClusterPeer::Kind;

// A valid ClusterNetworkPolicy to break one field of at a time.
json ValidCnp() {
  return json::parse(R"({
    "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
    "metadata": {"name": "guardrails"},
    "spec": {
      "tier": "Admin", "priority": 10,
      "subject": {"pods": {"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": {}}},
      "ingress": [
        {"name": "monitoring", "action": "Accept", "from": [{"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
         "protocols": [{"tcp": {"destinationPort": {"number": 9090}}}, {"destinationNamedPort": "metrics"}]},
        {"action": "Pass", "from": [{"pods": {"podSelector": {"matchLabels": {"app": "web"}}}}]}
      ],
      "egress": [
        {"name": "imds", "action": "Deny", "to": [{"networks": ["169.254.169.254/32", "fd00:ec2::254/128"]}]},
        {"name": "nodes", "action": "Accept", "to": [{"nodes": {"matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]}}],
         "protocols": [{"udp": {"destinationPort": {"range": {"start": 1000, "end": 2000}}}}, {"sctp": {"destinationPort": {"number": 9}}}]},
        {"action": "Accept", "to": [{"domainNames": ["*.example.com", "kubernetes.io"]}]}
      ]
    }})");
}

struct Decoded {
  std::optional<Object> obj;
  FieldErrors errors;
};

Decoded Decode(const json& j) {
  Decoded d;
  d.obj = DecodeObject(j, &d.errors);
  return d;
}

// A copy: callers often decode a temporary.
ClusterNetworkPolicy Cnp(const Decoded& d) {
  EXPECT_TRUE(d.obj.has_value()) << Dump(d.errors);
  EXPECT_TRUE(d.obj && std::holds_alternative<ClusterNetworkPolicy>(*d.obj));
  return d.obj && std::holds_alternative<ClusterNetworkPolicy>(*d.obj) ? std::get<ClusterNetworkPolicy>(*d.obj)
                                                                       : ClusterNetworkPolicy{};
}

// The errors of ValidCnp() after `edit`.
FieldErrors ErrorsAfter(void (*edit)(json&)) {
  json j = ValidCnp();
  edit(j);
  Decoded d = Decode(j);
  EXPECT_FALSE(d.obj.has_value());
  return d.errors;
}

TEST(ClusterPolicyDecodeTest, V1alpha2IntoTheModel) {
  Decoded d = Decode(ValidCnp());
  const ClusterNetworkPolicy& c = Cnp(d);
  EXPECT_EQ(KindOf(*d.obj), "ClusterNetworkPolicy");
  EXPECT_EQ(c.key(), "ClusterNetworkPolicy/guardrails");
  EXPECT_EQ(c.meta.ns, "");
  EXPECT_EQ(c.tier, Tier::kAdmin);
  EXPECT_EQ(c.priority, 10);
  EXPECT_TRUE(c.subject_is_pods);
  EXPECT_EQ(c.subject.namespace_selector.match_labels, (Labels{{"team", "a"}}));
  EXPECT_TRUE(c.subject.pod_selector.empty());
  ASSERT_EQ(c.ingress.size(), 2u);
  EXPECT_EQ(c.ingress[0].name, "monitoring");
  EXPECT_EQ(c.ingress[0].action, RuleAction::kAccept);
  ASSERT_EQ(c.ingress[0].peers.size(), 1u);
  EXPECT_EQ(c.ingress[0].peers[0].kind, Kind::kNamespaces);
  ASSERT_EQ(c.ingress[0].ports.size(), 2u);
  EXPECT_EQ(c.ingress[0].ports[0].str(), "TCP/9090");
  EXPECT_EQ(c.ingress[0].ports[1].named_port, "metrics");
  EXPECT_EQ(c.ingress[1].action, RuleAction::kPass);
  EXPECT_EQ(c.ingress[1].peers[0].kind, Kind::kPods);
  EXPECT_TRUE(c.ingress[1].peers[0].pods.namespace_selector.empty());  // absent: every namespace
  EXPECT_EQ(c.ingress[1].peers[0].pods.pod_selector.match_labels, (Labels{{"app", "web"}}));
  ASSERT_EQ(c.egress.size(), 3u);
  EXPECT_EQ(c.egress[0].action, RuleAction::kDeny);
  EXPECT_EQ(c.egress[0].peers[0].kind, Kind::kNetworks);
  EXPECT_EQ(c.egress[0].peers[0].values, (std::vector<std::string>{"169.254.169.254/32", "fd00:ec2::254/128"}));
  EXPECT_EQ(c.egress[1].peers[0].kind, Kind::kNodes);
  EXPECT_EQ(c.egress[1].ports[0].str(), "UDP/1000-2000");
  EXPECT_EQ(c.egress[1].ports[1].str(), "SCTP/9");
  EXPECT_EQ(c.egress[2].peers[0].kind, Kind::kDomainNames);
  EXPECT_TRUE(c.egress[2].ports.empty());
  EXPECT_FALSE(c.egress[0].FailsClosed());
}

TEST(ClusterPolicyDecodeTest, RequiredFields) {
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"].erase("tier"); }), Type::kRequired, "spec.tier"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"].erase("priority"); }), Type::kRequired, "spec.priority"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"].erase("subject"); }), Type::kRequired, "spec.subject"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j.erase("spec"); }), Type::kRequired, "spec"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][0].erase("action"); }), Type::kRequired,
                       "spec.ingress[0].action"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][0].erase("from"); }), Type::kRequired,
                       "spec.ingress[0].from"));
  EXPECT_TRUE(
      HasError(ErrorsAfter([](json& j) { j["spec"]["egress"][0].erase("to"); }), Type::kRequired, "spec.egress[0].to"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["subject"]["pods"].erase("podSelector"); }), Type::kRequired,
                       "spec.subject.pods.podSelector"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][1]["from"][0]["pods"].erase("podSelector"); }),
                       Type::kRequired, "spec.ingress[1].from[0].pods.podSelector"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["metadata"].erase("name"); }), Type::kRequired, "metadata.name"));
}

TEST(ClusterPolicyDecodeTest, Enums) {
  auto tier = ErrorsAfter([](json& j) { j["spec"]["tier"] = "NetworkPolicy"; });
  EXPECT_TRUE(HasError(tier, Type::kUnsupported, "spec.tier", "supported values: \"Admin\", \"Baseline\""));
  EXPECT_EQ(tier[0].str(),
            "spec.tier: Unsupported value: \"NetworkPolicy\": supported values: \"Admin\", \"Baseline\"");
  // v1alpha2 says Accept; v1alpha1's Allow is not a v1alpha2 action.
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][0]["action"] = "Allow"; }), Type::kUnsupported,
                       "spec.ingress[0].action", "supported values: \"Accept\", \"Deny\", \"Pass\""));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["tier"] = 1; }), Type::kTypeMismatch, "spec.tier"));
}

TEST(ClusterPolicyDecodeTest, PriorityBounds) {
  auto high = ErrorsAfter([](json& j) { j["spec"]["priority"] = 1001; });
  ASSERT_TRUE(HasError(high, Type::kInvalid, "spec.priority"));
  EXPECT_EQ(high[0].str(),
            "spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000");
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["priority"] = -1; }), Type::kInvalid, "spec.priority",
                       "greater than or equal to 0"));
  EXPECT_TRUE(
      HasError(ErrorsAfter([](json& j) { j["spec"]["priority"] = "high"; }), Type::kTypeMismatch, "spec.priority"));
  json j = ValidCnp();
  j["spec"]["priority"] = 1000;
  EXPECT_EQ(Cnp(Decode(j)).priority, 1000);
}

TEST(ClusterPolicyDecodeTest, ExactlyOneSubject) {
  auto both = ErrorsAfter([](json& j) { j["spec"]["subject"]["namespaces"] = json::object(); });
  EXPECT_TRUE(HasError(both, Type::kTooMany, "spec.subject", "must have at most 1 items"));
  auto none = ErrorsAfter([](json& j) { j["spec"]["subject"] = json::object(); });
  EXPECT_TRUE(HasError(none, Type::kInvalid, "spec.subject", "should have at least 1 properties"));
  json j = ValidCnp();
  j["spec"]["subject"] = {{"namespaces", {{"matchLabels", {{"team", "b"}}}}}};
  const ClusterNetworkPolicy& c = Cnp(Decode(j));
  EXPECT_FALSE(c.subject_is_pods);
  EXPECT_EQ(c.subject.namespace_selector.match_labels, (Labels{{"team", "b"}}));
  EXPECT_TRUE(c.subject.pod_selector.empty());
}

TEST(ClusterPolicyDecodeTest, ListBounds) {
  auto many_rules = ErrorsAfter([](json& j) {
    for (int i = 0; i < 24; ++i) j["spec"]["ingress"].push_back(j["spec"]["ingress"][1]);
  });
  ASSERT_TRUE(HasError(many_rules, Type::kTooMany, "spec.ingress"));
  EXPECT_EQ(many_rules[0].str(), "spec.ingress: Too many: 26: must have at most 25 items");
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][0]["from"] = json::array(); }), Type::kInvalid,
                       "spec.ingress[0].from", "spec.ingress[0].from in body should have at least 1 items"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][0]["protocols"] = json::array(); }),
                       Type::kInvalid, "spec.ingress[0].protocols", "should have at least 1 items"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) {
                         for (int i = 0; i < 25; ++i)
                           j["spec"]["egress"][0]["to"].push_back(j["spec"]["egress"][1]["to"][0]);
                       }),
                       Type::kTooMany, "spec.egress[0].to", "must have at most 25 items"));
  EXPECT_TRUE(HasError(
      ErrorsAfter([](json& j) {
        for (int i = 0; i < 24; ++i) {
          j["spec"]["ingress"][0]["protocols"].push_back({{"udp", {{"destinationPort", {{"number", i + 1}}}}}});
        }
      }),
      Type::kTooMany, "spec.ingress[0].protocols"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][0]["name"] = std::string(101, 'n'); }),
                       Type::kTooLong, "spec.ingress[0].name", "may not be more than 100 bytes"));
}

TEST(ClusterPolicyDecodeTest, PeersHoldExactlyOneKind) {
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["egress"][0]["to"][0]["namespaces"] = json::object(); }),
                       Type::kTooMany, "spec.egress[0].to[0]"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["egress"][0]["to"][0] = json::object(); }), Type::kInvalid,
                       "spec.egress[0].to[0]", "should have at least 1 properties"));
}

// A peer with only fields of a later version: the API asks implementations to fail closed.
TEST(ClusterPolicyDecodeTest, PeersOfAnUnknownKindFailClosed) {
  json j = ValidCnp();
  j["spec"]["ingress"][0]["from"].push_back({{"networks", {"10.0.0.0/8"}}});  // not an ingress peer in v1alpha2
  j["spec"]["egress"][0]["to"].push_back({{"serviceAccounts", json::object()}});
  const ClusterNetworkPolicy& c = Cnp(Decode(j));
  EXPECT_EQ(c.ingress[0].peers[1].kind, Kind::kUnknown);
  EXPECT_TRUE(c.ingress[0].FailsClosed());
  EXPECT_TRUE(c.egress[0].FailsClosed());
  EXPECT_FALSE(c.egress[1].FailsClosed());
}

TEST(ClusterPolicyDecodeTest, Networks) {
  auto bad = ErrorsAfter([](json& j) { j["spec"]["egress"][0]["to"][0]["networks"][1] = "10.0.0.0/33"; });
  ASSERT_TRUE(HasError(bad, Type::kInvalid, "spec.egress[0].to[0].networks[1]", "Invalid CIDR format provided"));
  EXPECT_EQ(bad[0].str(), "spec.egress[0].to[0].networks[1]: Invalid value: \"string\": Invalid CIDR format provided");
  EXPECT_TRUE(
      HasError(ErrorsAfter([](json& j) { j["spec"]["egress"][0]["to"][0]["networks"][1] = "169.254.169.254/32"; }),
               Type::kDuplicate, "spec.egress[0].to[0].networks[1]"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["egress"][0]["to"][0]["networks"] = json::array(); }),
                       Type::kInvalid, "spec.egress[0].to[0].networks", "should have at least 1 items"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) {
                         j["spec"]["egress"][0]["to"][0]["networks"][1] =
                             "2001:0db8:0000:0000:0000:0000:0000:0000/0128";
                       }),
                       Type::kTooLong, "spec.egress[0].to[0].networks[1]", "may not be more than 43 bytes"));
  // Host bits are accepted (isCIDR), as for ipBlock.
  json j = ValidCnp();
  j["spec"]["egress"][0]["to"][0]["networks"][1] = "10.1.2.3/8";
  EXPECT_TRUE(Decode(j).obj.has_value());
}

TEST(ClusterPolicyDecodeTest, DomainNamesPattern) {
  auto bad = ErrorsAfter([](json& j) { j["spec"]["egress"][2]["to"][0]["domainNames"][0] = "*example.com"; });
  EXPECT_TRUE(HasError(bad, Type::kInvalid, "spec.egress[2].to[0].domainNames[0]", "in body should match '^(\\*\\.)?"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["egress"][2]["to"][0]["domainNames"][0] = "localhost"; }),
                       Type::kInvalid, "spec.egress[2].to[0].domainNames[0]"));
}

TEST(ClusterPolicyDecodeTest, Protocols) {
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][0]["protocols"][0]["udp"] = json::object(); }),
                       Type::kTooMany, "spec.ingress[0].protocols[0]"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][0]["protocols"][0] = json::object(); }),
                       Type::kInvalid, "spec.ingress[0].protocols[0]", "should have at least 1 properties"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["spec"]["ingress"][0]["protocols"][0]["tcp"] = json::object(); }),
                       Type::kInvalid, "spec.ingress[0].protocols[0].tcp", "should have at least 1 properties"));
  EXPECT_TRUE(HasError(
      ErrorsAfter([](json& j) {
        j["spec"]["ingress"][0]["protocols"][0]["tcp"]["destinationPort"]["range"] = {{"start", 1}, {"end", 2}};
      }),
      Type::kTooMany, "spec.ingress[0].protocols[0].tcp.destinationPort"));
  EXPECT_TRUE(HasError(
      ErrorsAfter([](json& j) { j["spec"]["ingress"][0]["protocols"][0]["tcp"]["destinationPort"]["number"] = 0; }),
      Type::kInvalid, "spec.ingress[0].protocols[0].tcp.destinationPort.number", "greater than or equal to 1"));
  EXPECT_TRUE(HasError(
      ErrorsAfter([](json& j) { j["spec"]["ingress"][0]["protocols"][0]["tcp"]["destinationPort"]["number"] = 65536; }),
      Type::kInvalid, "spec.ingress[0].protocols[0].tcp.destinationPort.number", "less than or equal to 65535"));
  auto order = ErrorsAfter([](json& j) {
    j["spec"]["egress"][1]["protocols"][0]["udp"]["destinationPort"]["range"] = {{"start", 2000}, {"end", 2000}};
  });
  ASSERT_TRUE(HasError(order, Type::kInvalid, "spec.egress[1].protocols[0].udp.destinationPort.range",
                       "Start port must be less than End port"));
  EXPECT_EQ(order[0].str(),
            "spec.egress[1].protocols[0].udp.destinationPort.range: Invalid value: \"object\": Start port must be less "
            "than End port");
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) {
                         j["spec"]["egress"][1]["protocols"][0]["udp"]["destinationPort"]["range"].erase("end");
                       }),
                       Type::kRequired, "spec.egress[1].protocols[0].udp.destinationPort.range.end"));
}

TEST(ClusterPolicyDecodeTest, NoNamedPortTowardsNetworksNodesOrDomainNames) {
  for (int rule : {0, 1, 2}) {
    json j = ValidCnp();
    j["spec"]["egress"][rule]["protocols"] = {{{"destinationNamedPort", "http"}}};
    Decoded d = Decode(j);
    EXPECT_FALSE(d.obj.has_value());
    EXPECT_TRUE(HasError(d.errors, Type::kInvalid, "spec.egress[" + std::to_string(rule) + "]",
                         "networks/nodes/domainNames peer cannot be set with namedPorts"));
  }
  // Towards pods it is fine.
  json j = ValidCnp();
  j["spec"]["egress"][0]["to"] = {{{"pods", {{"podSelector", json::object()}}}}};
  j["spec"]["egress"][0]["protocols"] = {{{"destinationNamedPort", "http"}}};
  EXPECT_TRUE(Decode(j).obj.has_value());
}

TEST(ClusterPolicyDecodeTest, ClusterScopedAndSelectorsValidated) {
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["metadata"]["namespace"] = "default"; }), Type::kForbidden,
                       "metadata.namespace"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) {
                         j["spec"]["subject"]["pods"]["namespaceSelector"] = {
                             {"matchExpressions", {{{"key", "team"}, {"operator", "Within"}}}}};
                       }),
                       Type::kInvalid, "spec.subject.pods.namespaceSelector.matchExpressions[0].operator"));
  EXPECT_TRUE(HasError(ErrorsAfter([](json& j) { j["apiVersion"] = "policy.networking.k8s.io/v1alpha1"; }),
                       Type::kUnsupported, "apiVersion", "policy.networking.k8s.io/v1alpha2"));
}

// ---- v1alpha1 ---------------------------------------------------------------------------------

json ValidAnp() {
  return json::parse(R"({
    "apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
    "metadata": {"name": "guardrails"},
    "spec": {
      "priority": 3,
      "subject": {"namespaces": {}},
      "ingress": [{"name": "a", "action": "Allow", "from": [{"namespaces": {}}],
                   "ports": [{"portNumber": {"port": 80}}, {"portRange": {"protocol": "UDP", "start": 10, "end": 20}},
                             {"namedPort": "dns"}]}],
      "egress": [{"action": "Pass", "to": [{"networks": ["10.0.0.0/8"]}]}]
    }})");
}

TEST(ClusterPolicyDecodeTest, AdminNetworkPolicyMapsOntoTheModel) {
  Decoded d = Decode(ValidAnp());
  const ClusterNetworkPolicy& c = Cnp(d);
  EXPECT_EQ(c.kind, "AdminNetworkPolicy");
  EXPECT_EQ(KindOf(*d.obj), "AdminNetworkPolicy");
  EXPECT_EQ(c.tier, Tier::kAdmin);
  EXPECT_EQ(c.priority, 3);
  EXPECT_FALSE(c.subject_is_pods);
  ASSERT_EQ(c.ingress.size(), 1u);
  EXPECT_EQ(c.ingress[0].action, RuleAction::kAccept);  // Allow
  ASSERT_EQ(c.ingress[0].ports.size(), 3u);
  EXPECT_EQ(c.ingress[0].ports[0].str(), "TCP/80");  // protocol defaults to TCP
  EXPECT_EQ(c.ingress[0].ports[1].str(), "UDP/10-20");
  EXPECT_EQ(c.ingress[0].ports[2].named_port, "dns");
  EXPECT_EQ(c.egress[0].action, RuleAction::kPass);
}

TEST(ClusterPolicyDecodeTest, AdminNetworkPolicyRules) {
  json j = ValidAnp();
  j["spec"]["ingress"][0]["action"] = "Accept";  // the v1alpha2 word
  Decoded d = Decode(j);
  EXPECT_TRUE(HasError(d.errors, Type::kUnsupported, "spec.ingress[0].action",
                       "supported values: \"Allow\", \"Deny\", \"Pass\""));
  j = ValidAnp();
  j["spec"]["ingress"][0]["ports"][0]["portNumber"]["protocol"] = "ICMP";
  EXPECT_TRUE(HasError(Decode(j).errors, Type::kUnsupported, "spec.ingress[0].ports[0].portNumber.protocol"));
  j = ValidAnp();
  j["spec"]["ingress"][0]["ports"][0]["portRange"] = {{"start", 1}, {"end", 2}};
  EXPECT_TRUE(HasError(Decode(j).errors, Type::kTooMany, "spec.ingress[0].ports[0]"));
  j = ValidAnp();
  j["spec"]["egress"][0]["ports"] = {{{"namedPort", "http"}}};
  EXPECT_TRUE(HasError(Decode(j).errors, Type::kInvalid, "spec.egress[0]",
                       "networks/nodes/domainNames peer cannot be set with namedPorts"));
  // v1alpha1 allows up to 100 rules (v1alpha2: 25), and a range whose start is past its end
  // (valid, and matching nothing).
  j = ValidAnp();
  for (int i = 0; i < 30; ++i) j["spec"]["egress"].push_back(j["spec"]["egress"][0]);
  j["spec"]["ingress"][0]["ports"][1]["portRange"] = {{"start", 20}, {"end", 10}};
  const ClusterNetworkPolicy& c = Cnp(Decode(j));
  EXPECT_EQ(c.egress.size(), 31u);
  EXPECT_EQ(c.ingress[0].ports[1].first, 20);
  for (int i = 0; i < 70; ++i) j["spec"]["egress"].push_back(j["spec"]["egress"][0]);
  EXPECT_TRUE(HasError(Decode(j).errors, Type::kTooMany, "spec.egress", "must have at most 100 items"));
}

TEST(ClusterPolicyDecodeTest, BaselineAdminNetworkPolicy) {
  json j = ValidAnp();
  j["kind"] = "BaselineAdminNetworkPolicy";
  j["metadata"]["name"] = "default";
  j["spec"].erase("priority");
  j["spec"]["egress"][0]["action"] = "Deny";
  const ClusterNetworkPolicy& c = Cnp(Decode(j));
  EXPECT_EQ(c.tier, Tier::kBaseline);
  EXPECT_EQ(c.priority, 1000);
  EXPECT_EQ(c.key(), "BaselineAdminNetworkPolicy/default");

  json pass = j;
  pass["spec"]["egress"][0]["action"] = "Pass";
  EXPECT_TRUE(HasError(Decode(pass).errors, Type::kUnsupported, "spec.egress[0].action",
                       "supported values: \"Allow\", \"Deny\""));
  json named = j;
  named["metadata"]["name"] = "other";
  auto errors = Decode(named).errors;
  ASSERT_TRUE(HasError(errors, Type::kInvalid, "metadata.name", "Only one baseline admin network policy"));
  // domainNames is not a BaselineAdminNetworkPolicy peer: it fails closed.
  json domains = j;
  domains["spec"]["egress"][0]["to"] = {{{"domainNames", {"example.com"}}}};
  EXPECT_TRUE(Cnp(Decode(domains)).egress[0].FailsClosed());
}

// ---- Node -------------------------------------------------------------------------------------

TEST(ClusterPolicyDecodeTest, NodeKeepsLabelsAndInternalIPs) {
  Decoded d = Decode(json::parse(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"zone":"a"}},
    "status":{"addresses":[{"type":"Hostname","address":"n1"},{"type":"InternalIP","address":"10.1.0.1"},
                           {"type":"ExternalIP","address":"203.0.113.1"},{"type":"InternalIP","address":"fd01::1"}]}})"));
  ASSERT_TRUE(d.obj) << Dump(d.errors);
  const Node& n = std::get<Node>(*d.obj);
  EXPECT_EQ(KindOf(*d.obj), "Node");
  EXPECT_EQ(n.meta.labels, (Labels{{"zone", "a"}}));
  EXPECT_EQ(n.internal_ips, (std::vector<std::string>{"10.1.0.1", "fd01::1"}));
  EXPECT_TRUE(n.pod_cidrs.empty());
  Decoded bad = Decode(json::parse(
      R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP","address":"10.1.0"}]}})"));
  EXPECT_TRUE(HasError(bad.errors, Type::kInvalid, "status.addresses[0].address", "must be a valid IP address"));
}

TEST(ClusterPolicyDecodeTest, NodePodCidrs) {
  auto node = [](const char* spec) {
    return Decode(json::parse(std::string(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"spec":)") +
                              spec + "}"));
  };
  Decoded both = node(R"({"podCIDR":"10.244.1.0/24","podCIDRs":["10.244.1.0/24","fd00:1::/64"]})");
  ASSERT_TRUE(both.obj) << Dump(both.errors);
  EXPECT_EQ(std::get<Node>(*both.obj).pod_cidrs, (std::vector<std::string>{"10.244.1.0/24", "fd00:1::/64"}));
  Decoded one = node(R"({"podCIDR":"10.244.2.0/24"})");
  ASSERT_TRUE(one.obj) << Dump(one.errors);
  EXPECT_EQ(std::get<Node>(*one.obj).pod_cidrs, std::vector<std::string>{"10.244.2.0/24"});
  EXPECT_TRUE(HasError(node(R"({"podCIDRs":["10.244.1.0/24","10.244.1.0"]})").errors, Type::kInvalid,
                       "spec.podCIDRs[1]", "must be a valid CIDR"));
  EXPECT_TRUE(HasError(node(R"({"podCIDR":"x"})").errors, Type::kInvalid, "spec.podCIDR", "must be a valid CIDR"));
}

TEST(ClusterPolicyDecodeTest, PodHostIPs) {
  Decoded d =
      Decode(json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"agent","namespace":"kube-system"},
    "spec":{"hostNetwork":true},"status":{"hostIP":"10.1.0.1","podIP":"10.1.0.1"}})"));
  ASSERT_TRUE(d.obj) << Dump(d.errors);
  EXPECT_EQ(std::get<Pod>(*d.obj).host_ips, (std::vector<std::string>{"10.1.0.1"}));
}

// Objects of the three kinds may share a name; the same kind twice is a duplicate.
TEST(ClusterPolicyDecodeTest, ManifestsKeepKindsApart) {
  LoadResult r;
  json cnp = ValidCnp();
  json anp = ValidAnp();
  AddManifestObject({{"apiVersion", "v1"}, {"kind", "List"}, {"items", {cnp, anp}}}, "a.yaml", &r);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.state.cluster_policies.size(), 2u);
  AddManifestObject(cnp, "b.yaml", &r);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(),
            "b.yaml: ClusterNetworkPolicy \"guardrails\" is invalid: metadata.name: Duplicate value: \"guardrails\": "
            "already defined in a.yaml items[0]");
}

}  // namespace
}  // namespace netfence::k8s
