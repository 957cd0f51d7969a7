// SPDX-License-Identifier: Apache-2.0
// FlowGraph: two nodes' records of a known run give exactly the expected edges (a connection
// between nodes counted once, from the receiver's node; a flow the sender logged as started
// and the receiver dropped is denied), and the DOT says them by name.
#include "dataplane/flowlog/flow_graph.h"

#include <gtest/gtest.h>

#include "dataplane/flowlog/community_id.h"
#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::kT0;

Endpoint Pod(const char* ip, uint16_t port, const char* pod, const char* node) {
  return testing::Pod(ip, port, "x", pod, node);
}

FlowRecord Conn(EventKind kind, const char* node, const Endpoint& src, const Endpoint& dst,
                Verdict v = Verdict::kAllowed) {
  FlowRecord r;
  r.time_ns = kT0;
  r.event = kind;
  r.node = node;
  r.verdict = v;
  r.proto = 6;
  r.src = src;
  r.dst = dst;
  r.community_id = CommunityId(*src.ip, *dst.ip, 6, *src.port, *dst.port);
  r.flow_id = std::hash<std::string>{}(std::string(node) + r.community_id);
  return r;
}

FlowRecord Drop(const char* node, const Endpoint& src, const Endpoint& dst, uint64_t count) {
  FlowRecord r = Conn(EventKind::kDrop, node, src, dst, Verdict::kDenied);
  r.reason = reason::kDefaultDeny;
  r.count = r.packets = count;
  r.flow_id = 0;
  r.policies = {{"x", "deny", Direction::kIngress, std::nullopt}};
  return r;
}

struct Want {
  std::string from, to;
  Verdict verdict;
  uint64_t flows, packets;
  bool operator==(const Want&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Want& w) {
  return os << w.from << "->" << w.to << " " << VerdictName(w.verdict) << " flows=" << w.flows
            << " packets=" << w.packets;
}
std::vector<Want> Edges(const FlowGraph& g) {
  std::vector<Want> out;
  for (const auto& e : g.Edges()) out.push_back({e.from, e.to, e.verdict, e.flows, e.packets});
  return out;
}

TEST(FlowGraphTest, EachPairOnceWithTheVerdictItGotEndToEnd) {
  const Endpoint a = Pod("10.0.0.1", 80, "a", "node-a"), b = Pod("10.0.0.2", 40000, "b", "node-a"),
                 c = Pod("10.0.0.3", 40001, "c", "node-b");
  const Endpoint c80 = Pod("10.0.0.3", 80, "c", "node-b"), a_client = Pod("10.0.0.1", 40002, "a", "node-a");
  Endpoint world;
  world.ip = IpAddr::Parse("192.0.2.7");
  world.port = 443;
  FlowGraph g({});
  // b -> a on node-a: started and ended there (the receiver's node).
  FlowRecord ba_end = Conn(EventKind::kEnd, "node-a", b, a);
  ba_end.packets = 10;
  g.Add(Conn(EventKind::kStart, "node-a", b, a));
  g.Add(ba_end);
  // c -> a: node-b saw it leave (c's egress), node-a dropped it (a's ingress), twice.
  g.Add(Conn(EventKind::kStart, "node-b", c, a));
  g.Add(Drop("node-a", c, a, 2));
  g.Add(Drop("node-a", c, a, 1));  // the next window, same tuple
  // a -> c: both nodes saw it start; counted once, with the receiver's counters.
  FlowRecord ac_sender = Conn(EventKind::kUpdate, "node-a", a_client, c80), ac_receiver = ac_sender;
  ac_sender.packets = 7;
  ac_receiver.node = "node-b";
  ac_receiver.packets = 6;
  g.Add(Conn(EventKind::kStart, "node-a", a_client, c80));
  g.Add(Conn(EventKind::kStart, "node-b", a_client, c80));
  g.Add(ac_sender);
  g.Add(ac_receiver);
  // b -> c: b's egress denied it at node-a.
  g.Add(Drop("node-a", b, c80, 4));
  // a -> the world, allowed; the world -> a, denied; a lost record changes nothing.
  g.Add(Conn(EventKind::kStart, "node-a", a_client, world));
  g.Add(Drop("node-a", world, a, 1));
  g.Add(LostRecord(5, kT0, kT0, "ring-buffer", kT0, "node-a"));
  EXPECT_NE(g.ToDot().find("label=\"5 event(s) could not be logged in this period: edges may be missing\""),
            std::string::npos);
  EXPECT_EQ(Edges(g), (std::vector<Want>{
                          {"192.0.2.7", "x/a", Verdict::kDenied, 1, 1},
                          {"x/a", "192.0.2.7", Verdict::kAllowed, 1, 0},
                          {"x/a", "x/c", Verdict::kAllowed, 1, 6},
                          {"x/b", "x/a", Verdict::kAllowed, 1, 10},
                          {"x/b", "x/c", Verdict::kDenied, 1, 4},
                          {"x/c", "x/a", Verdict::kDenied, 1, 3},
                      }));
}

TEST(FlowGraphTest, TheSendersRecordAloneCountsWhenNothingDroppedTheFlow) {
  // Only node-a's log is read: its start of a -> c (c on node-b) is all there is.
  FlowGraph g({});
  g.Add(Conn(EventKind::kStart, "node-a", Pod("10.0.0.1", 40002, "a", "node-a"), Pod("10.0.0.3", 80, "c", "node-b")));
  EXPECT_EQ(Edges(g), (std::vector<Want>{{"x/a", "x/c", Verdict::kAllowed, 1, 0}}));
}

TEST(FlowGraphTest, FoldedDropsCountTheirTuples) {
  FlowGraph g({});
  FlowRecord folded = Drop("node-a", Pod("10.0.0.2", 0, "b", "node-a"), Pod("10.0.0.1", 80, "a", "node-a"), 300);
  folded.aggregation = Aggregation::kFolded;
  folded.src.port.reset();
  folded.community_id.clear();
  folded.folded_tuples = 96;
  g.Add(folded);
  g.Add(Drop("node-a", Pod("10.0.0.2", 1000, "b", "node-a"), Pod("10.0.0.1", 80, "a", "node-a"), 3));
  EXPECT_EQ(Edges(g), (std::vector<Want>{{"x/b", "x/a", Verdict::kDenied, 97, 303}}));
}

TEST(FlowGraphTest, WorkloadsFromLabelsOrGeneratedNames) {
  auto w = [](const char* pod, std::vector<std::pair<std::string, std::string>> labels = {}) {
    Endpoint e;
    e.ns = "shop";
    e.pod = pod;
    e.labels = std::move(labels);
    return FlowGraph::Workload(e);
  };
  EXPECT_EQ(w("api-7d9f8c6b5d-x2k4z"), "api");
  EXPECT_EQ(w("node-exporter-4xk2p"), "node-exporter");
  EXPECT_EQ(w("db-0"), "db");
  EXPECT_EQ(w("frontend"), "frontend");
  EXPECT_EQ(w("my-service-v2"), "my-service-v2");
  EXPECT_EQ(w("whatever-1", {{"app", "web"}}), "web");
  EXPECT_EQ(w("whatever-1", {{"app", "web"}, {"app.kubernetes.io/name", "shop-web"}}), "shop-web");
}

TEST(FlowGraphTest, DotNamesEveryVertexAndEdge) {
  FlowGraph g({.by = FlowGraph::By::kWorkload, .title = "t"});
  FlowRecord r =
      Conn(EventKind::kStart, "node-a", testing::Pod("10.0.0.2", 40000, "shop", "api-7d9f8c6b5d-x2k4z", "node-a"),
           testing::Pod("10.0.0.1", 5432, "shop", "db-0", "node-a"));
  r.policies = {{"shop", "allow-db", Direction::kIngress, 0}};
  g.Add(r);
  EXPECT_EQ(
      g.ToDot(),
      "digraph flows {\n"
      "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, nodesep=0.3, ranksep=1.2, newrank=true, labelloc=t, "
      "label=\"t\"];\n"
      "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", color=\"#5b7db1\", "
      "fontname=\"Helvetica\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=9];\n"
      "  subgraph \"cluster_shop\" {\n"
      "    label=\"shop\"; style=\"rounded,filled\"; fillcolor=\"#f7f7f7\"; color=\"#9e9e9e\";\n"
      "    \"shop/api\" [label=\"api\"];\n"
      "    \"shop/db\" [label=\"db\"];\n"
      "  }\n"
      "  \"shop/api\" -> \"shop/db\" [verdict=\"allowed\", color=\"#2e7d32\", fontcolor=\"#2e7d32\", "
      "style=\"solid\", label=\"TCP/5432\\n1 flow\", tooltip=\"allowed: shop/api -> shop/db (TCP/5432)\\nallowed "
      "by shop/allow-db\", flows=1, packets=0, bytes=0, ports=\"TCP/5432\", policies=\"shop/allow-db\"];\n"
      "}\n");
}

}  // namespace
}  // namespace netfence::flowlog
