// SPDX-License-Identifier: Apache-2.0
// The model's semantic helpers: selectors, policyTypes defaulting, endpoints, named ports,
// and the IP prefixes ipBlocks are read into.
#include "controlplane/k8s/model.h"

#include <gtest/gtest.h>

#include "common/base/ip.h"

namespace netfence::k8s {
namespace {

LabelSelector Sel(Labels labels, std::vector<LabelSelectorRequirement> exprs = {}) {
  LabelSelector s;
  s.match_labels = std::move(labels);
  s.match_expressions = std::move(exprs);
  return s;
}

TEST(ModelTest, EmptySelectorMatchesAll) {
  LabelSelector all;
  EXPECT_TRUE(all.empty());
  EXPECT_TRUE(all.Matches({}));
  EXPECT_TRUE(all.Matches({{"app", "web"}}));
  EXPECT_EQ(all.str(), "<all>");
}

TEST(ModelTest, MatchLabelsNeedsEveryPair) {
  auto s = Sel({{"app", "web"}, {"tier", "front"}});
  EXPECT_TRUE(s.Matches({{"app", "web"}, {"tier", "front"}, {"extra", "x"}}));
  EXPECT_FALSE(s.Matches({{"app", "web"}}));
  EXPECT_FALSE(s.Matches({{"app", "web"}, {"tier", "back"}}));
}

TEST(ModelTest, InRequiresKeyWithListedValue) {
  auto s = Sel({}, {{"tier", "In", {"a", "b"}}});
  EXPECT_TRUE(s.Matches({{"tier", "b"}}));
  EXPECT_FALSE(s.Matches({{"tier", "c"}}));
  EXPECT_FALSE(s.Matches({}));
}

TEST(ModelTest, NotInMatchesPodsLackingTheKey) {
  auto s = Sel({}, {{"env", "NotIn", {"dev"}}});
  EXPECT_TRUE(s.Matches({}));
  EXPECT_TRUE(s.Matches({{"env", "prod"}}));
  EXPECT_FALSE(s.Matches({{"env", "dev"}}));
}

TEST(ModelTest, ExistsAndDoesNotExist) {
  auto exists = Sel({}, {{"team", "Exists", {}}});
  EXPECT_TRUE(exists.Matches({{"team", ""}}));
  EXPECT_FALSE(exists.Matches({{"other", "x"}}));
  auto absent = Sel({}, {{"legacy", "DoesNotExist", {}}});
  EXPECT_TRUE(absent.Matches({}));
  EXPECT_TRUE(absent.Matches({{"app", "web"}}));
  EXPECT_FALSE(absent.Matches({{"legacy", "true"}}));
}

TEST(ModelTest, LabelsAndExpressionsAreAnded) {
  auto s = Sel({{"app", "web"}}, {{"env", "NotIn", {"dev"}}, {"team", "Exists", {}}});
  EXPECT_TRUE(s.Matches({{"app", "web"}, {"team", "a"}}));
  EXPECT_FALSE(s.Matches({{"app", "web"}, {"team", "a"}, {"env", "dev"}}));
  EXPECT_FALSE(s.Matches({{"app", "web"}}));
  EXPECT_EQ(s.str(), "app=web,env notin (dev),team");
}

TEST(ModelTest, PolicyTypesDefaulting) {
  NetworkPolicy np;
  EXPECT_TRUE(np.CoversIngress());  // no policyTypes: Ingress always
  EXPECT_FALSE(np.CoversEgress());  // ... and Egress only with egress rules
  np.egress.push_back({});
  EXPECT_TRUE(np.CoversEgress());
  EXPECT_TRUE(np.Covers(Direction::kIngress));

  NetworkPolicy egress_only;
  egress_only.policy_types = {"Egress"};
  EXPECT_FALSE(egress_only.CoversIngress());
  EXPECT_TRUE(egress_only.CoversEgress());  // deny all egress: covered, no rules
  EXPECT_TRUE(egress_only.Rules(Direction::kEgress).empty());

  NetworkPolicy ingress_only;
  ingress_only.policy_types = {"Ingress"};
  ingress_only.egress.push_back({});  // rules of an uncovered direction do not count
  EXPECT_TRUE(ingress_only.CoversIngress());
  EXPECT_FALSE(ingress_only.CoversEgress());
}

TEST(ModelTest, PodIsEndpoint) {
  Pod pod;
  EXPECT_FALSE(pod.IsEndpoint());  // no IP yet
  pod.pod_ips = {"10.0.0.5"};
  EXPECT_TRUE(pod.IsEndpoint());
  pod.phase = "Running";
  EXPECT_TRUE(pod.IsEndpoint());
  pod.phase = "Succeeded";
  EXPECT_FALSE(pod.IsEndpoint());
  pod.phase = "Failed";
  EXPECT_FALSE(pod.IsEndpoint());
  pod.phase = "Pending";
  EXPECT_TRUE(pod.IsEndpoint());
  pod.host_network = true;
  EXPECT_FALSE(pod.IsEndpoint());
}

TEST(ModelTest, ResolveNamedPort) {
  Pod pod;
  pod.ports = {{"http", 8080, "TCP"}, {"dns", 53, "UDP"}, {"dns", 5353, "TCP"}, {"", 9000, "TCP"}};
  EXPECT_EQ(pod.ResolveNamedPort("http", Protocol::kTCP), 8080);
  EXPECT_EQ(pod.ResolveNamedPort("http", Protocol::kUDP), std::nullopt);  // protocol must match
  EXPECT_EQ(pod.ResolveNamedPort("dns", Protocol::kUDP), 53);
  EXPECT_EQ(pod.ResolveNamedPort("dns", Protocol::kTCP), 5353);
  EXPECT_EQ(pod.ResolveNamedPort("metrics", Protocol::kTCP), std::nullopt);
  EXPECT_EQ(pod.ResolveNamedPort("", Protocol::kTCP), 9000);  // callers only ask for real names
}

TEST(ModelTest, ProtocolNames) {
  EXPECT_EQ(ParseProtocol("TCP"), Protocol::kTCP);
  EXPECT_EQ(ParseProtocol("SCTP"), Protocol::kSCTP);
  EXPECT_EQ(ParseProtocol("tcp"), std::nullopt);
  EXPECT_STREQ(ProtocolName(Protocol::kUDP), "UDP");
  EXPECT_STREQ(ProtocolName(uint8_t{58}), "ICMPv6");
  EXPECT_STREQ(DirectionName(Direction::kEgress), "egress");
}

TEST(ModelTest, IpPrefixClearsHostBits) {
  auto p = IpPrefix::Parse("10.0.0.1/4");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str(), "0.0.0.0/4");
  EXPECT_EQ(p->len, 96 + 4);
  EXPECT_EQ(p->family_len(), 4);
  EXPECT_TRUE(p->is_v4());

  auto q = IpPrefix::Parse("10.1.2.3/24");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->str(), "10.1.2.0/24");
  EXPECT_EQ(q->len, 120);

  auto v6 = IpPrefix::Parse("2001:db8::1/32");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->str(), "2001:db8::/32");
  EXPECT_FALSE(v6->is_v4());
}

TEST(ModelTest, IpPrefixRejectsGarbage) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0", "foo/8", "10.0.0.0/", "10.0.0.0/08", "::/129", "::/-1"}) {
    EXPECT_FALSE(IpPrefix::Parse(bad)) << bad;
  }
}

TEST(ModelTest, IpPrefixContains) {
  auto net = *IpPrefix::Parse("10.0.0.0/8");
  EXPECT_TRUE(net.contains(*IpAddr::Parse("10.255.1.2")));
  EXPECT_FALSE(net.contains(*IpAddr::Parse("11.0.0.1")));
  EXPECT_FALSE(net.contains(*IpAddr::Parse("fd00::1")));
  EXPECT_TRUE(net.contains(*IpPrefix::Parse("10.1.0.0/16")));
  EXPECT_TRUE(net.contains(net));                             // contains is not strict
  EXPECT_FALSE(net.contains(*IpPrefix::Parse("0.0.0.0/4")));  // wider prefix
  EXPECT_EQ(net.last().str(), "10.255.255.255");

  auto all_v4 = *IpPrefix::Parse("0.0.0.0/0");
  EXPECT_TRUE(all_v4.contains(*IpAddr::Parse("1.2.3.4")));
  EXPECT_FALSE(all_v4.contains(*IpAddr::Parse("2001:db8::1")));  // /0 of IPv4 is IPv4 only
  auto all_v6 = *IpPrefix::Parse("::/0");
  EXPECT_TRUE(all_v6.contains(*IpAddr::Parse("2001:db8::1")));
}

}  // namespace
}  // namespace netfence::k8s
