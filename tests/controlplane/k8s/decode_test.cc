// SPDX-License-Identifier: Apache-2.0
// Decoding API objects from JSON: shapes, types, defaults, kinds and apiVersions.
#include "controlplane/k8s/decode.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include "tests/testing/field_errors.h"

namespace netfence::k8s {
namespace {

using nlohmann::json;
using Type = FieldError::Type;

using testing_helpers::Dump;
using testing_helpers::HasError;

struct Decoded {
  std::optional<Object> obj;
  FieldErrors errors;
  std::string ignored;
};

Decoded Decode(const std::string& text) {
  Decoded d;
  d.obj = DecodeObject(json::parse(text), &d.errors, &d.ignored);
  return d;
}

template <typename T>
const T& As(const Decoded& d) {
  EXPECT_TRUE(d.obj.has_value()) << Dump(d.errors);
  EXPECT_TRUE(std::holds_alternative<T>(*d.obj));
  return std::get<T>(*d.obj);
}

// ---- Namespace --------------------------------------------------------------------------

TEST(DecodeTest, Namespace) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Namespace",
    "metadata":{"name":"prod","labels":{"team":"a"},"resourceVersion":"7","uid":"u-1"}})");
  ASSERT_TRUE(d.obj) << Dump(d.errors);
  EXPECT_EQ(KindOf(*d.obj), "Namespace");
  const auto& ns = As<Namespace>(d);
  EXPECT_EQ(ns.meta.name, "prod");
  EXPECT_EQ(ns.meta.ns, "");
  EXPECT_EQ(ns.meta.labels, (Labels{{"team", "a"}}));
  EXPECT_EQ(ns.meta.resource_version, "7");
  EXPECT_EQ(ns.meta.uid, "u-1");
  EXPECT_EQ(ns.EffectiveLabels(), (Labels{{"team", "a"}, {"kubernetes.io/metadata.name", "prod"}}));
  EXPECT_EQ(&MetaOf(*d.obj), &std::get<Namespace>(*d.obj).meta);
}

TEST(DecodeTest, NamespaceIgnoresMetadataNamespace) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"prod","namespace":"x"}})");
  EXPECT_EQ(As<Namespace>(d).meta.ns, "");
}

// ---- Pod --------------------------------------------------------------------------------

TEST(DecodeTest, PodDefaults) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},
    "spec":{"containers":[{"name":"c","ports":[{"containerPort":80}]}]},
    "status":{"podIP":"10.0.0.5"}})");
  const auto& pod = As<Pod>(d);
  EXPECT_EQ(pod.meta.ns, "default");
  EXPECT_EQ(pod.key(), "default/web");
  ASSERT_EQ(pod.ports.size(), 1u);
  EXPECT_EQ(pod.ports[0].protocol, "TCP");
  EXPECT_EQ(pod.ports[0].container_port, 80);
  EXPECT_EQ(pod.ports[0].name, "");
  EXPECT_FALSE(pod.host_network);
  EXPECT_EQ(pod.pod_ips, (std::vector<std::string>{"10.0.0.5"}));
  EXPECT_TRUE(pod.IsEndpoint());
}

TEST(DecodeTest, PodIPsPreferredOverPodIP) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"prod"},
    "status":{"podIP":"10.0.0.5","podIPs":[{"ip":"10.0.0.5"},{"ip":"fd00::5"}],"phase":"Running"}})");
  const auto& pod = As<Pod>(d);
  EXPECT_EQ(pod.pod_ips, (std::vector<std::string>{"10.0.0.5", "fd00::5"}));
  EXPECT_EQ(pod.phase, "Running");
  EXPECT_EQ(pod.meta.ns, "prod");
}

TEST(DecodeTest, PodWithoutIP) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"status":{"podIP":""}})");
  const auto& pod = As<Pod>(d);
  EXPECT_TRUE(pod.pod_ips.empty());
  EXPECT_FALSE(pod.IsEndpoint());
}

TEST(DecodeTest, PodHostNetworkAndNode) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"agent","namespace":"kube-system"},
    "spec":{"hostNetwork":true,"nodeName":"node-1"},"status":{"podIP":"192.168.1.10"}})");
  const auto& pod = As<Pod>(d);
  EXPECT_TRUE(pod.host_network);
  EXPECT_EQ(pod.node_name, "node-1");
  EXPECT_FALSE(pod.IsEndpoint());
}

TEST(DecodeTest, PodPortsOfEveryContainerInOrder) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},
    "spec":{"containers":[
      {"name":"app","ports":[{"name":"http","containerPort":8080},{"name":"dns","containerPort":53,"protocol":"UDP"}]},
      {"name":"sidecar"},
      {"name":"proxy","ports":[{"name":"admin","containerPort":15000,"protocol":"SCTP"}]}]}})");
  const auto& pod = As<Pod>(d);
  ASSERT_EQ(pod.ports.size(), 3u);
  EXPECT_EQ(pod.ports[0].name, "http");
  EXPECT_EQ(pod.ports[1].protocol, "UDP");
  EXPECT_EQ(pod.ports[2].container_port, 15000);
  EXPECT_EQ(pod.ResolveNamedPort("admin", Protocol::kSCTP), 15000);
}

TEST(DecodeTest, PodTypeMismatches) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":7}},
    "spec":{"hostNetwork":"yes","containers":[{"ports":[{"containerPort":"80"}]}]},
    "status":{"podIPs":["10.0.0.5"]}})");
  EXPECT_FALSE(d.obj);
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "metadata.labels.app", "expected string, got number"));
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "spec.hostNetwork", "expected boolean, got string"));
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "spec.containers[0].ports[0].containerPort",
                       "expected integer, got string"));
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "status.podIPs[0]", "expected object, got string"));
}

TEST(DecodeTest, PodValidationRunsAfterDecoding) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},
    "spec":{"containers":[{"ports":[{"containerPort":80,"protocol":"HTTP"}]}]},"status":{"podIP":"10.0.0.999"}})");
  EXPECT_FALSE(d.obj);
  EXPECT_TRUE(HasError(d.errors, Type::kUnsupported, "spec.containers[0].ports[0].protocol"));
  EXPECT_TRUE(HasError(d.errors, Type::kInvalid, "status.podIPs[0]", "must be a valid IP address"));
}

// ---- NetworkPolicy ----------------------------------------------------------------------

TEST(DecodeTest, NetworkPolicyFull) {
  auto d = Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
    "metadata":{"name":"allow","namespace":"prod"},
    "spec":{
      "podSelector":{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]},
      "ingress":[{"from":[{"podSelector":{}},{"namespaceSelector":{"matchLabels":{"team":"a"}},"podSelector":{}},
                          {"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}],
                  "ports":[{"port":80},{"protocol":"UDP","port":1000,"endPort":2000},{"port":"http"},{"protocol":"SCTP"}]}],
      "egress":[{}],
      "policyTypes":["Ingress","Egress"]}})");
  const auto& np = As<NetworkPolicy>(d);
  EXPECT_EQ(np.meta.ns, "prod");
  EXPECT_EQ(np.pod_selector.str(), "app=web,tier in (a,b)");
  ASSERT_EQ(np.ingress.size(), 1u);
  const auto& rule = np.ingress[0];
  ASSERT_EQ(rule.peers.size(), 3u);
  EXPECT_TRUE(rule.peers[0].pod_selector && rule.peers[0].pod_selector->empty());
  EXPECT_FALSE(rule.peers[0].namespace_selector);
  EXPECT_TRUE(rule.peers[1].namespace_selector && rule.peers[1].pod_selector);
  ASSERT_TRUE(rule.peers[2].ip_block);
  EXPECT_EQ(rule.peers[2].ip_block->except, (std::vector<std::string>{"10.1.0.0/16"}));
  ASSERT_EQ(rule.ports.size(), 4u);
  EXPECT_FALSE(rule.ports[0].protocol);  // absent: TCP by default
  EXPECT_EQ(rule.ports[0].protocol_or_default(), Protocol::kTCP);
  EXPECT_EQ(rule.ports[0].str(), "TCP/80");
  EXPECT_EQ(rule.ports[1].str(), "UDP/1000-2000");
  EXPECT_FALSE(rule.ports[2].port->is_int);
  EXPECT_EQ(rule.ports[2].str(), "TCP/http");
  EXPECT_EQ(rule.ports[3].str(), "SCTP/*");
  ASSERT_EQ(np.egress.size(), 1u);
  EXPECT_TRUE(np.egress[0].peers.empty());
  EXPECT_TRUE(np.CoversEgress());
}

TEST(DecodeTest, NetworkPolicyDefaults) {
  auto d = Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
    "metadata":{"name":"deny"},"spec":{"podSelector":{}}})");
  const auto& np = As<NetworkPolicy>(d);
  EXPECT_EQ(np.meta.ns, "default");
  EXPECT_TRUE(np.pod_selector.empty());
  EXPECT_TRUE(np.ingress.empty());
  EXPECT_TRUE(np.policy_types.empty());
  EXPECT_TRUE(np.CoversIngress());
  EXPECT_FALSE(np.CoversEgress());
}

TEST(DecodeTest, NetworkPolicyTypeMismatches) {
  auto d = Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"x"},
    "spec":{"podSelector":{"matchLabels":["app"]},
            "ingress":[{"from":[{"ipBlock":{"cidr":10}}],"ports":[{"port":true,"endPort":"90"}]}],
            "egress":{"to":[]},
            "policyTypes":"Ingress"}})");
  EXPECT_FALSE(d.obj);
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "spec.podSelector.matchLabels", "expected map of strings"));
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "spec.ingress[0].from[0].ipBlock.cidr", "expected string"));
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "spec.ingress[0].ports[0].port", "expected integer or string"));
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "spec.ingress[0].ports[0].endPort", "expected integer"));
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "spec.egress", "expected array, got object"));
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "spec.policyTypes", "expected array, got string"));
}

TEST(DecodeTest, NetworkPolicyFloatPortIsTypeMismatch) {
  auto d = Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"x"},
    "spec":{"podSelector":{},"ingress":[{"ports":[{"port":80.5}]}]}})");
  EXPECT_FALSE(d.obj);
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "spec.ingress[0].ports[0].port"));
}

TEST(DecodeTest, NetworkPolicyValidationRunsAfterDecoding) {
  auto d = Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"x"},
    "spec":{"podSelector":{},"ingress":[{"ports":[{"port":80,"endPort":70}]}]}})");
  EXPECT_FALSE(d.obj);
  ASSERT_EQ(d.errors.size(), 1u) << Dump(d.errors);
  EXPECT_EQ(d.errors[0].str(),
            "spec.ingress[0].ports[0].endPort: Invalid value: 70: must be greater than or equal to `port`");
}

TEST(DecodeTest, NullFieldsAreAbsent) {
  auto d = Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"x","labels":null},
    "spec":{"podSelector":{},"ingress":[{"from":null,"ports":[{"port":null,"protocol":null}]}]}})");
  const auto& np = As<NetworkPolicy>(d);
  ASSERT_EQ(np.ingress.size(), 1u);
  EXPECT_TRUE(np.ingress[0].peers.empty());
  ASSERT_EQ(np.ingress[0].ports.size(), 1u);
  EXPECT_FALSE(np.ingress[0].ports[0].port);
  EXPECT_FALSE(np.ingress[0].ports[0].protocol);
}

// ---- kinds and apiVersions --------------------------------------------------------------

TEST(DecodeTest, UnknownKindIgnored) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}})");
  EXPECT_FALSE(d.obj);
  EXPECT_TRUE(d.errors.empty()) << Dump(d.errors);
  EXPECT_EQ(d.ignored, "Service");
}

TEST(DecodeTest, WrongApiVersionRejected) {
  auto d = Decode(R"({"apiVersion":"extensions/v1beta1","kind":"NetworkPolicy","metadata":{"name":"x"}})");
  EXPECT_FALSE(d.obj);
  ASSERT_TRUE(HasError(d.errors, Type::kUnsupported, "apiVersion", "supported values: \"networking.k8s.io/v1\""));
  EXPECT_EQ(d.errors[0].value, "\"extensions/v1beta1\"");

  d = Decode(R"({"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"x"}})");
  EXPECT_TRUE(HasError(d.errors, Type::kUnsupported, "apiVersion", "supported values: \"v1\""));
  d = Decode(R"({"kind":"Namespace","metadata":{"name":"x"}})");
  EXPECT_TRUE(HasError(d.errors, Type::kUnsupported, "apiVersion"));
}

TEST(DecodeTest, KindRequired) {
  auto d = Decode(R"({"apiVersion":"v1","metadata":{"name":"x"}})");
  EXPECT_FALSE(d.obj);
  EXPECT_TRUE(HasError(d.errors, Type::kRequired, "kind"));
  d = Decode(R"({"apiVersion":"v1","kind":3})");
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "kind", "expected string"));
}

TEST(DecodeTest, RootMustBeObject) {
  auto d = Decode(R"([1,2])");
  EXPECT_FALSE(d.obj);
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "<root>", "expected object, got array"));
}

TEST(DecodeTest, MetadataMustBeObject) {
  auto d = Decode(R"({"apiVersion":"v1","kind":"Namespace","metadata":"prod"})");
  EXPECT_FALSE(d.obj);
  EXPECT_TRUE(HasError(d.errors, Type::kTypeMismatch, "metadata", "expected object, got string"));
}

TEST(DecodeTest, IdentifyObject) {
  std::string kind, ns, name;
  IdentifyObject(json::parse(R"({"kind":"Pod","metadata":{"namespace":"prod","name":"web","labels":7}})"), &kind, &ns,
                 &name);
  EXPECT_EQ(kind, "Pod");
  EXPECT_EQ(ns, "prod");
  EXPECT_EQ(name, "web");
  std::string k2, n2, m2;
  IdentifyObject(json::parse(R"({"kind":1,"metadata":[]})"), &k2, &n2, &m2);  // best effort: nothing
  EXPECT_EQ(k2 + n2 + m2, "");
}

}  // namespace
}  // namespace netfence::k8s
