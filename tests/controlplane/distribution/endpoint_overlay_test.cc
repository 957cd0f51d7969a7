// SPDX-License-Identifier: Apache-2.0
#include "controlplane/distribution/endpoint_overlay.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <variant>
#include <vector>

namespace netfence::distribution {
namespace {

k8s::Pod ApiPod(std::string name, std::string node, std::vector<std::string> ips, bool host = false) {
  k8s::Pod p;
  p.meta.ns = "shop";
  p.meta.name = std::move(name);
  p.node_name = std::move(node);
  p.pod_ips = std::move(ips);
  p.host_network = host;
  return p;
}

const k8s::Pod& PodOf(const source::Event& e) { return std::get<k8s::Pod>(e.object); }

TEST(EndpointOverlayTest, ARegisteredPodRunsWhereAndWithTheAddressesItsAgentSays) {
  EndpointOverlay o;
  auto out = o.OnSourceEvents({{source::Op::kUpsert, ApiPod("web", "n1", {})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(PodOf(out[0]).pod_ips.empty());  // scheduled, no address yet: no endpoint

  out = o.SetRegistrations("n1", {{"shop", "web", {*IpAddr::Parse("10.1.0.5")}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(PodOf(out[0]).pod_ips, std::vector<std::string>{"10.1.0.5"});
  EXPECT_EQ(PodOf(out[0]).node_name, "n1");
  EXPECT_TRUE(o.Unknown("n1").empty());

  // The kubelet reports the address later: the compiler's pod does not change.
  out = o.OnSourceEvents({{source::Op::kUpsert, ApiPod("web", "n1", {"10.1.0.5"})}});
  EXPECT_TRUE(out.empty());

  // The agent unregisters (CNI DEL): the API's view is back.
  out = o.SetRegistrations("n1", {});
  EXPECT_TRUE(out.empty());  // equal to what the compiler has
  out = o.OnSourceEvents({{source::Op::kDelete, ApiPod("web", "n1", {"10.1.0.5"})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].op, source::Op::kDelete);
}

TEST(EndpointOverlayTest, RegistrationsOfPodsThatAreNoEndpointAreUnknown) {
  EndpointOverlay o;
  o.OnSourceEvents({{source::Op::kUpsert, ApiPod("host", "n1", {"192.168.0.1"}, true)}});
  auto out = o.SetRegistrations(
      "n1", {{"shop", "ghost", {*IpAddr::Parse("10.1.0.9")}}, {"shop", "host", {*IpAddr::Parse("10.1.0.8")}}});
  EXPECT_TRUE(out.empty());  // nothing to compile for either
  auto unknown = o.Unknown("n1");
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0].second, "ghost");
  EXPECT_EQ(unknown[1].second, "host");

  // The pod object arrives: known now, compiled with the registered address.
  out = o.OnSourceEvents({{source::Op::kUpsert, ApiPod("ghost", "n1", {})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(PodOf(out[0]).pod_ips, std::vector<std::string>{"10.1.0.9"});
  EXPECT_EQ(o.Unknown("n1").size(), 1u);
}

TEST(EndpointOverlayTest, TwoNodesClaimingOnePodTheScheduledNodeWins) {
  EndpointOverlay o;
  o.OnSourceEvents({{source::Op::kUpsert, ApiPod("web", "n2", {})}});
  o.SetRegistrations("n1", {{"shop", "web", {*IpAddr::Parse("10.1.0.1")}}});
  auto out = o.SetRegistrations("n2", {{"shop", "web", {*IpAddr::Parse("10.2.0.1")}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(PodOf(out[0]).node_name, "n2");
  EXPECT_EQ(PodOf(out[0]).pod_ips, std::vector<std::string>{"10.2.0.1"});
  EXPECT_EQ(o.Nodes(), (std::set<std::string>{"n1", "n2"}));
}

TEST(EndpointOverlayTest, ANodeCannotRegisterAPodBoundToAnotherNode) {
  EndpointOverlay o;
  o.OnSourceEvents({{source::Op::kUpsert, ApiPod("web", "n2", {"10.2.0.1"})}});
  // n1 claims n2's pod with an address of its choosing: refused, nothing changes.
  auto out = o.SetRegistrations("n1", {{"shop", "web", {*IpAddr::Parse("10.1.0.66")}}});
  EXPECT_TRUE(out.empty()) << "the compiler keeps the API's pod on n2 at 10.2.0.1";
  EXPECT_EQ(o.refusals().wrong_node, 1u);
  EXPECT_EQ(o.Unknown("n1"), (std::vector<tables::EndpointName>{{"shop", "web"}})) << "n1's ADD for it fails";
  // The node it is bound to registers it as usual.
  out = o.SetRegistrations("n2", {{"shop", "web", {*IpAddr::Parse("10.2.0.1")}}});
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(o.Unknown("n2").empty());
}

TEST(EndpointOverlayTest, ARegistrationMayNotGiveAPodAnAddressTheApiDoesNotReport) {
  EndpointOverlay o;
  o.OnSourceEvents({{source::Op::kUpsert, ApiPod("web", "n1", {"10.1.0.5"})}});
  auto out = o.SetRegistrations("n1", {{"shop", "web", {*IpAddr::Parse("10.9.9.9")}}});
  EXPECT_TRUE(out.empty()) << "the identity does not follow 10.9.9.9";
  EXPECT_EQ(o.refusals().foreign_address, 1u);
  // Before the kubelet reports the address, the registration's is taken (the first packet).
  o.OnSourceEvents({{source::Op::kUpsert, ApiPod("api", "n1", {})}});
  out = o.SetRegistrations(
      "n1", {{"shop", "web", {*IpAddr::Parse("10.9.9.9")}}, {"shop", "api", {*IpAddr::Parse("10.1.0.7")}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(PodOf(out[0]).meta.name, "api");
  EXPECT_EQ(PodOf(out[0]).pod_ips, std::vector<std::string>{"10.1.0.7"});
}

k8s::Node NodeWithPodCidrs(std::string name, std::vector<std::string> cidrs) {
  k8s::Node n;
  n.meta.name = std::move(name);
  n.pod_cidrs = std::move(cidrs);
  return n;
}

TEST(EndpointOverlayTest, BeforeTheApiReportsAnAddressANodeMayRegisterOnlyOneOfItsPodCidrs) {
  EndpointOverlay o;
  auto out = o.OnSourceEvents({{source::Op::kUpsert, NodeWithPodCidrs("n1", {"10.1.0.0/24", "fd00:1::/64"})},
                               {source::Op::kUpsert, ApiPod("web", "n1", {})},
                               {source::Op::kUpsert, ApiPod("api", "n1", {})}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<k8s::Node>(out[0].object)) << "the Node goes on to the compiler";
  // web's address is n1's; api's is another node's range (n1 reaching for its traffic).
  out = o.SetRegistrations("n1", {{"shop", "web", {*IpAddr::Parse("10.1.0.5"), *IpAddr::Parse("fd00:1::5")}},
                                  {"shop", "api", {*IpAddr::Parse("10.2.0.7")}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(PodOf(out[0]).meta.name, "web");
  EXPECT_EQ(PodOf(out[0]).pod_ips, (std::vector<std::string>{"10.1.0.5", "fd00:1::5"}));
  EXPECT_EQ(o.refusals().outside_pod_cidr, 1u);
  EXPECT_EQ(o.refusals().foreign_address, 0u);

  // The node's range grows to take it: api is given its address at once.
  out = o.OnSourceEvents({{source::Op::kUpsert, NodeWithPodCidrs("n1", {"10.1.0.0/24", "10.2.0.0/24"})}});
  ASSERT_EQ(out.size(), 3u);  // the Node, then web (fd00:1::5 is outside now) and api again
  std::map<std::string, std::vector<std::string>> ips;
  for (size_t i = 1; i < out.size(); ++i) ips[PodOf(out[i]).meta.name] = PodOf(out[i]).pod_ips;
  EXPECT_EQ(ips["api"], std::vector<std::string>{"10.2.0.7"});
  EXPECT_TRUE(ips["web"].empty()) << "fd00:1::5 is in none of n1's ranges any more";

  // A Node that declares no range (or is gone) bounds nothing.
  out = o.OnSourceEvents({{source::Op::kDelete, NodeWithPodCidrs("n1", {})}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(PodOf(out[1]).meta.name, "web");
  EXPECT_EQ(PodOf(out[1]).pod_ips, (std::vector<std::string>{"10.1.0.5", "fd00:1::5"}));
}

TEST(EndpointOverlayTest, APodBoundNowhereGoesToTheFirstRegisteringNodeByName) {
  EndpointOverlay o;
  o.OnSourceEvents({{source::Op::kUpsert, ApiPod("web", "", {"10.1.0.5"})}});
  auto out = o.SetRegistrations("n2", {{"shop", "web", {*IpAddr::Parse("10.1.0.5")}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(PodOf(out[0]).node_name, "n2");
  out = o.SetRegistrations("n1", {{"shop", "web", {*IpAddr::Parse("10.1.0.5")}}});
  ASSERT_EQ(out.size(), 1u) << "deterministic whatever the order of the reports";
  EXPECT_EQ(PodOf(out[0]).node_name, "n1");
  EXPECT_TRUE(o.Unknown("n1").empty());
  EXPECT_EQ(o.Unknown("n2"), (std::vector<tables::EndpointName>{{"shop", "web"}}));
  EXPECT_EQ(o.refusals().wrong_node, 0u);
}

}  // namespace
}  // namespace netfence::distribution
