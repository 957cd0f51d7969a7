// SPDX-License-Identifier: Apache-2.0
// netfencectl flows as a user runs it: the built binary on flow-log files written here (a
// rotated sibling, the live file with a malformed line), every filter, both outputs, the
// summary, errors, and --follow while a FileSink rotates the log under it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "dataplane/flowlog/file_sink.h"
#include "dataplane/flowlog/flow_record.h"
#include "dataplane/flowlog/time_format.h"

namespace netfence::flowlog {
namespace {

// 2026-12-01T19:33:34.123456789Z
constexpr int64_t kT0 = 1796153614LL * kNsPerSecond + 123456789;
constexpr int64_t kSec = kNsPerSecond;

Endpoint Ep(const char* ip, uint16_t port, const char* ns = "", const char* pod = "", const char* node = "") {
  Endpoint e;
  e.ip = IpAddr::Parse(ip);
  e.port = port;
  e.ns = ns;
  e.pod = pod;
  e.node = node;
  return e;
}

FlowRecord Flow(EventKind ev, int64_t t) {
  FlowRecord r;
  r.time_ns = t;
  r.event = ev;
  r.node = "node-a";
  r.verdict = Verdict::kAllowed;
  r.direction = Direction::kIngress;
  r.reason = reason::kPolicy;
  r.proto = 6;
  r.src = Ep("10.0.1.5", 34567, "shop", "frontend", "node-a");
  r.dst = Ep("10.0.2.9", 5432, "shop", "db", "node-b");
  r.community_id = "1:x=";
  r.generation = 3;
  r.policies = {{"shop", "allow-db", Direction::kIngress, 0}};
  r.flow_id = 1;
  return r;
}

// A: start shop/frontend -> shop/db (in the rotated file).
FlowRecord A() {
  FlowRecord r = Flow(EventKind::kStart, kT0);
  r.packets = 1;
  r.bytes = 74;
  return r;
}
// B: 5 drops shop/frontend -> 203.0.113.9:53/UDP (egress default deny).
FlowRecord B() {
  FlowRecord r = Flow(EventKind::kDrop, kT0 + 5 * kSec);
  r.verdict = Verdict::kDenied;
  r.direction = Direction::kEgress;
  r.reason = reason::kDefaultDeny;
  r.proto = 17;
  r.src.port = 40000;
  r.dst = Ep("203.0.113.9", 53);
  r.policies = {{"shop", "deny-egress", Direction::kEgress, std::nullopt}};
  r.packets = r.count = 5;
  r.bytes = 400;
  r.first_time_ns = kT0 + 3 * kSec;
  r.last_time_ns = kT0 + 4 * kSec;
  r.flow_id = 0;
  return r;
}
// C: end of A.
FlowRecord C() {
  FlowRecord r = Flow(EventKind::kEnd, kT0 + 30 * kSec);
  r.packets = 12;
  r.bytes = 4000;
  r.start_time_ns = kT0;
  r.end_time_ns = kT0 + 29 * kSec;
  r.end_reason = "closed";
  return r;
}
// D: 17 events lost.
FlowRecord D() { return LostRecord(17, kT0 + 35 * kSec, kT0 + 36 * kSec, "ring-buffer", kT0 + 40 * kSec, "node-b"); }
// E: start ops/prober -> shop/db over IPv6.
FlowRecord E() {
  FlowRecord r = Flow(EventKind::kStart, kT0 + 50 * kSec);
  r.src = Ep("fd00:3::3", 1111, "ops", "prober", "node-c");
  r.dst = Ep("fd00:2::9", 5432, "shop", "db", "node-b");
  r.policies = {{"shop", "allow-db", Direction::kIngress, 1}};
  r.flow_id = 2;
  r.packets = 2;
  r.bytes = 100;
  return r;
}

std::string Lines(std::initializer_list<FlowRecord> rs) {
  std::string s;
  for (const auto& r : rs) s += ToJson(r) + "\n";
  return s;
}

struct Result {
  int exit = -1;
  std::string out, err;
};

class FlowsCmdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/netfence-flows-cmd-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    live_ = dir_ + "/flows.jsonl";
    std::ofstream(dir_ + "/flows-2026-12-01T19-33-35.000000000Z.jsonl") << Lines({A()});
    std::ofstream(live_) << ToJson(B()) << "\nnot a record\n" << Lines({C(), D(), E()});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result Flows(const std::string& args, const std::string& file = "") {
    std::string out = dir_ + "/.out", err = dir_ + "/.err";
    std::string cmd = std::string(NETFENCECTL) + " flows --file " + (file.empty() ? live_ : file) + " " + args + " >" +
                      out + " 2>" + err;
    Result r;
    int status = std::system(cmd.c_str());
    r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Read(out);
    r.err = Read(err);
    return r;
  }
  static std::string Read(const std::string& f) {
    std::ifstream in(f);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_, live_;
};

TEST_F(FlowsCmdTest, ReadsRotatedThenLiveAndSkipsMalformedLines) {
  Result r = Flows("");
  EXPECT_EQ(r.exit, 0);
  EXPECT_EQ(r.out, Lines({A(), B(), C(), D(), E()}));
  EXPECT_EQ(r.err, "netfencectl flows: skipped 1 malformed line(s); first at " + live_ + ":2: not valid JSON\n");
  r = Flows("--no-rotated");
  EXPECT_EQ(r.out, Lines({B(), C(), D(), E()}));
}

TEST_F(FlowsCmdTest, Filters) {
  EXPECT_EQ(Flows("--namespace ops").out, Lines({D(), E()}));  // lost records always pass
  EXPECT_EQ(Flows("--namespace ops,kube-system --event start").out, Lines({E()}));
  EXPECT_EQ(Flows("--src-namespace shop --event start,end,drop").out, Lines({A(), B(), C()}));
  EXPECT_EQ(Flows("--dst-namespace ops --event start").out, "");
  EXPECT_EQ(Flows("--pod db").out, Lines({A(), C(), D(), E()}));
  EXPECT_EQ(Flows("--pod ops/prober --pod shop/nothing").out, Lines({D(), E()}));
  EXPECT_EQ(Flows("--dst-pod frontend").out, Lines({D()}));
  EXPECT_EQ(Flows("--src-pod shop/frontend --dst-pod shop/db --event end").out, Lines({C()}));
  EXPECT_EQ(Flows("--verdict denied --event drop").out, Lines({B()}));
  EXPECT_EQ(Flows("--verdict allowed --verdict audit --event start").out, Lines({A(), E()}));
  EXPECT_EQ(Flows("--policy shop/allow-db --event start,end").out, Lines({A(), C(), E()}));
  EXPECT_EQ(Flows("--policy shop/deny-egress").out, Lines({B(), D()}));
  EXPECT_EQ(Flows("--since 2026-12-01T19:34:00Z --until 2026-12-01T20:34:20+01:00").out, Lines({C(), D()}));
}

TEST_F(FlowsCmdTest, RelativeSinceAndUntil) {
  const int64_t now = WallNowNs();
  FlowRecord old_one = A(), recent = E();
  old_one.time_ns = now - 2 * 3600 * kSec;
  recent.time_ns = now - 60 * kSec;
  std::string file = dir_ + "/recent.jsonl";
  std::ofstream(file) << Lines({old_one, recent});
  EXPECT_EQ(Flows("--since 10m", file).out, Lines({recent}));
  EXPECT_EQ(Flows("--since 3h --until 1h", file).out, Lines({old_one}));
  EXPECT_EQ(Flows("--since 1h30m", file).out, Lines({recent}));
}

TEST_F(FlowsCmdTest, TableForPeople) {
  Result r = Flows("-o table");
  EXPECT_EQ(r.exit, 0);
  EXPECT_EQ(
      r.out,
      "TIME                            EVENT   VERDICT  DIR      PROTO   SOURCE -> DESTINATION  COUNTERS  REASON  "
      "POLICIES\n"
      "2026-12-01T19:33:34.123456789Z  start   allowed  ingress  TCP     shop/frontend 10.0.1.5:34567 -> shop/db "
      "10.0.2.9:5432  packets=1 bytes=74  policy  shop/allow-db ingress rule 0\n"
      "2026-12-01T19:33:39.123456789Z  drop    denied   egress   UDP     shop/frontend 10.0.1.5:40000 -> "
      "203.0.113.9:53  drops=5 bytes=400  default-deny  shop/deny-egress egress (isolates)\n"
      "2026-12-01T19:34:04.123456789Z  end     allowed  ingress  TCP     shop/frontend 10.0.1.5:34567 -> shop/db "
      "10.0.2.9:5432  packets=12 bytes=4000  policy end=closed  shop/allow-db ingress rule 0\n"
      "2026-12-01T19:34:14.123456789Z  lost    LOST 17 event(s) at ring-buffer between "
      "2026-12-01T19:34:09.123456789Z and 2026-12-01T19:34:10.123456789Z on node-b\n"
      "2026-12-01T19:34:24.123456789Z  start   allowed  ingress  TCP     ops/prober [fd00:3::3]:1111 -> shop/db "
      "[fd00:2::9]:5432  packets=2 bytes=100  policy  shop/allow-db ingress rule 1\n");
}

TEST_F(FlowsCmdTest, Summary) {
  Result r = Flows("--summary");
  EXPECT_EQ(r.exit, 0);
  EXPECT_EQ(r.out,
            "5 records, 2 flows, 5 drops, 17 events lost\n"
            "\n"
            "Top talkers (bytes)\n"
            "  BYTES PACKETS FLOWS SOURCE -> DESTINATION\n"
            "   4000      12     1 shop/frontend -> shop/db\n"
            "    100       2     1 ops/prober -> shop/db\n"
            "\n"
            "Top denied (drops)\n"
            "  DROPS BYTES SOURCE -> DESTINATION PORT/PROTO\n"
            "      5   400 shop/frontend -> 203.0.113.9 53/UDP\n"
            "\n"
            "Policy hits\n"
            "  FLOWS DROPS POLICY\n"
            "      0     5 shop/deny-egress\n"
            "      2     0 shop/allow-db\n");
  EXPECT_EQ(
      Flows("--summary -o json --top 1").out,
      R"({"drops":5,"flows":2,"lost_events":17,"policy_hits":[{"drops":5,"flows":0,"policy":"shop/deny-egress"}],)"
      R"("records":5,"top_denied":[{"bytes":400,"drops":5,"pair":"shop/frontend -> 203.0.113.9 53/UDP"}],)"
      R"("top_talkers":[{"bytes":4000,"flows":1,"packets":12,"pair":"shop/frontend -> shop/db"}]})"
      "\n");
  EXPECT_EQ(Flows("--summary --namespace ops --event start").out.substr(0, 44),
            "1 records, 1 flows, 0 drops, 0 events lost\n\n");
}

TEST_F(FlowsCmdTest, BadArgumentsAndFiles) {
  Result r = Flows("--verdict maybe");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(r.err, "netfencectl flows: --verdict: \"maybe\" is not allowed, denied or audit\n");
  r = Flows("--event begin");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(r.err, "netfencectl flows: --event: \"begin\" is not start, update, end, drop or lost\n");
  r = Flows("--policy just-a-name");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(r.err, "netfencectl flows: --policy: \"just-a-name\" is not NAMESPACE/NAME\n");
  r = Flows("--since yesterday");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(r.err,
            "netfencectl flows: --since: \"yesterday\" is neither an RFC 3339 time (2026-12-01T19:33:34Z) nor a "
            "duration (10m, 2h)\n");
  r = Flows("--summary --follow");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(r.err,
            "netfencectl flows: --summary, --graph and --flow read to the end of the log; they cannot --follow\n");
  r = Flows("--fields src.podd");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(r.err.rfind("netfencectl flows: --fields: \"src.podd\" is not a field of a flow record (fields: schema, "
                        "time, event, node,",
                        0),
            0u)
      << r.err;
  r = Flows("--summary --graph x.svg");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(r.err, "netfencectl flows: --summary, --graph (-o dot) and --flow are different views: choose one\n");
  r = Flows("--graph " + dir_ + "/g.txt");
  EXPECT_EQ(r.exit, 1);
  EXPECT_EQ(r.err,
            "netfencectl flows: --graph " + dir_ +
                "/g.txt: the extension names no format (.svg, .png, .pdf, .jpg, .gif, .json; .dot or .gv for the "
                "DOT text)\n");
  r = Flows("", dir_ + "/none.jsonl");
  EXPECT_EQ(r.exit, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "netfencectl flows: cannot read " + dir_ + "/none.jsonl: No such file or directory\n");
  r = Flows("-o yaml");
  EXPECT_NE(r.exit, 0);
}

TEST_F(FlowsCmdTest, FieldMasksInEveryShape) {
  const std::string fields = "--event start,drop,lost --fields src.pod,dst.pod,verdict,policies.name,count ";
  Result r = Flows(fields + "-o json", "");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            R"({"verdict":"allowed","src":{"pod":"frontend"},"dst":{"pod":"db"},"policies":[{"name":"allow-db"}]})"
            "\n"
            R"({"verdict":"denied","src":{"pod":"frontend"},"dst":{"pod":""},"policies":[{"name":"deny-egress"}],)"
            R"("count":5})"
            "\n" +
                ToJson(D()) + "\n" +  // a lost record is never masked
                R"({"verdict":"allowed","src":{"pod":"prober"},"dst":{"pod":"db"},"policies":[{"name":"allow-db"}]})"
                "\n");
  r = Flows(fields + "-o csv");
  EXPECT_EQ(r.out,
            "src.pod,dst.pod,verdict,policies.name,count\n"
            "frontend,db,allowed,allow-db,\n"
            "frontend,,denied,deny-egress,5\n"
            ",,,,\n"
            "prober,db,allowed,allow-db,\n");
  r = Flows("--event start --fields src.pod,dst.pod,verdict -o table");
  EXPECT_EQ(r.out,
            "SRC.POD           DST.POD           VERDICT\n"
            "frontend          db                allowed\n"
            "prober            db                allowed\n");
  // jsonpb: netfence.v1.Flow in protobuf's JSON mapping (64-bit integers as strings).
  r = Flows("--event drop -o jsonpb");
  EXPECT_EQ(r.out,
            R"({"schema":"netfence.flow/v1","time":"2026-12-01T19:33:39.123456789Z","event":"drop","node":"node-a",)"
            R"("verdict":"denied","direction":"egress","reason":"default-deny","proto":"UDP",)"
            R"("src":{"ip":"10.0.1.5","port":40000,"namespace":"shop","pod":"frontend","node":"node-a"},)"
            R"("dst":{"ip":"203.0.113.9","port":53},"community_id":"1:x=","packets":"5","bytes":"400",)"
            R"("generation":"3","policies":[{"namespace":"shop","name":"deny-egress","direction":"egress",)"
            R"("kind":"NetworkPolicy","tier":"NetworkPolicy"}],)"
            R"("count":"5","first_time":"2026-12-01T19:33:37.123456789Z","last_time":"2026-12-01T19:33:38.123456789Z",)"
            R"("aggregation":"exact"})"
            "\n");
  r = Flows("--event start --fields src.pod,packets -o jsonpb");
  EXPECT_EQ(r.out,
            "{\"src\":{\"pod\":\"frontend\"},\"packets\":\"1\"}\n{\"src\":{\"pod\":\"prober\"},\"packets\":\"2\"}\n");
  r = Flows("--event end -o csv");
  EXPECT_EQ(r.out,
            "time,node,event,verdict,direction,reason,proto,src.namespace,src.pod,src.ip,src.port,dst.namespace,"
            "dst.pod,dst.ip,dst.port,community_id,packets,bytes,count,generation,policies\n"
            "2026-12-01T19:34:04.123456789Z,node-a,end,allowed,ingress,policy,TCP,shop,frontend,10.0.1.5,34567,shop,"
            "db,10.0.2.9,5432,1:x=,12,4000,,3,shop/allow-db ingress rule 0\n");
}

// Two nodes' logs of a known run: the graph has exactly the expected edges, read back by
// Graphviz itself (dot -Tjson0), and the timeline of one connection interleaves both nodes.
class TwoNodesTest : public FlowsCmdTest {
 protected:
  void SetUp() override {
    FlowsCmdTest::SetUp();
    // a (node-a) -> b (node-b): node-a saw it leave, node-b admitted it; c -> b dropped at node-b.
    const Endpoint a = Ep("10.0.1.1", 40000, "x", "a", "node-a"), b = Ep("10.0.2.2", 80, "x", "b", "node-b"),
                   c = Ep("10.0.1.3", 40001, "y", "c", "node-a");
    FlowRecord a_out = Flow(EventKind::kStart, kT0), b_in = a_out, b_end = a_out, c_out = a_out, c_drop = B();
    a_out.src = b_in.src = b_end.src = a;
    a_out.dst = b_in.dst = b_end.dst = b;
    a_out.direction = Direction::kEgress;
    a_out.policies = {};
    a_out.reason = "no-policy";
    a_out.community_id = b_in.community_id = b_end.community_id = kId;
    b_in.node = b_end.node = "node-b";
    b_in.time_ns = kT0 + 1'000'000;
    b_end.event = EventKind::kEnd;
    b_end.time_ns = kT0 + 3 * kSec;
    b_end.packets = 9;
    b_end.end_reason = "closed";
    c_out.src = c_drop.src = c;
    c_out.dst = c_drop.dst = b;
    c_out.community_id = c_drop.community_id = "1:c=";
    c_out.policies = {};
    c_drop.node = "node-b";
    c_drop.direction = Direction::kIngress;
    c_drop.policies = {{"x", "b-in", Direction::kIngress, std::nullopt}};
    c_drop.first_time_ns = kT0 + 2 * kSec;
    c_drop.time_ns = kT0 + 4 * kSec;
    node_a_ = dir_ + "/node-a.jsonl";
    node_b_ = dir_ + "/node-b.jsonl";
    std::ofstream(node_a_) << Lines({a_out, c_out});
    std::ofstream(node_b_) << Lines({b_in, c_drop, b_end});
    records_ = {a_out, b_in, c_out, c_drop, b_end};
  }
  static constexpr const char* kId = "1:ab=";
  std::string node_a_, node_b_;
  std::vector<FlowRecord> records_;
};

TEST_F(TwoNodesTest, TheGraphOfAKnownRunHasExactlyTheExpectedEdges) {
  Result r = Flows("--file " + node_b_ + " -o dot", node_a_);
  ASSERT_EQ(r.exit, 0) << r.err;
  std::ofstream(dir_ + "/g.dot") << r.out;
  const std::string json = dir_ + "/g.json";
  ASSERT_EQ(std::system(("dot -Tjson0 " + dir_ + "/g.dot > " + json).c_str()), 0) << r.out;
  const auto g = nlohmann::json::parse(Read(json));
  std::map<int, std::string> names;
  for (const auto& o : g["objects"]) {
    if (!o.contains("nodes")) names[o["_gvid"].get<int>()] = o["name"].get<std::string>();
  }
  std::set<std::tuple<std::string, std::string, std::string, std::string>> edges;
  for (const auto& e : g["edges"]) {
    edges.insert({names[e["tail"].get<int>()], names[e["head"].get<int>()], e["verdict"].get<std::string>(),
                  e["policies"].get<std::string>()});
  }
  EXPECT_EQ(edges, (std::set<std::tuple<std::string, std::string, std::string, std::string>>{
                       {"x/a", "x/b", "allowed", "shop/allow-db"}, {"y/c", "x/b", "denied", "x/b-in"}}))
      << r.out;
  // Namespaces are clusters.
  std::set<std::string> clusters;
  for (const auto& o : g["objects"]) {
    if (o.contains("nodes")) clusters.insert(o["name"].get<std::string>());
  }
  EXPECT_EQ(clusters, (std::set<std::string>{"cluster_x", "cluster_y"}));
  // Rendered by Graphviz into the file named; .dot is the DOT itself.
  r = Flows("--file " + node_b_ + " --graph " + dir_ + "/g.svg", node_a_);
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(Read(dir_ + "/g.svg").find("<svg"), std::string::npos);
  EXPECT_EQ(r.err, "netfencectl flows: 2 edge(s) between 3 vertices from 5 record(s) in " + dir_ + "/g.svg\n");
  r = Flows("--file " + node_b_ + " --graph " + dir_ + "/g2.dot", node_a_);
  EXPECT_EQ(Read(dir_ + "/g2.dot"), Read(dir_ + "/g.dot"));
  // Filters select the records drawn.
  r = Flows("--file " + node_b_ + " -o dot --verdict denied", node_a_);
  EXPECT_EQ(r.out.find("\"x/a\" -> \"x/b\""), std::string::npos);
  EXPECT_NE(r.out.find("\"y/c\" -> \"x/b\""), std::string::npos);
}

TEST_F(TwoNodesTest, SeveralFilesAreMergedInTimeOrderAndAFlowIsItsTimeline) {
  Result r = Flows("--file " + node_b_ + " --event start,end,drop", node_a_);
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, Lines({records_[0], records_[2], records_[1], records_[3], records_[4]}));  // by `time`
  r = Flows("--file " + node_b_ + " --flow " + kId, node_a_);
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "flow 1:ab=  TCP  x/a 10.0.1.1:40000 -> x/b 10.0.2.2:80  (3 record(s))\n"
            "TIME                            OFFSET       NODE          EVENT   VERDICT  DETAILS\n"
            "2026-12-01T19:33:34.123456789Z  +0.000000s   node-a        start   allowed  egress no-policy: 0/0 "
            "packets, 0/0 bytes (sent/replied); generation 3; flow_id 1\n"
            "2026-12-01T19:33:34.124456789Z  +0.001000s   node-b        start   allowed  ingress policy: 0/0 packets, "
            "0/0 bytes (sent/replied); shop/allow-db ingress rule 0; generation 3; flow_id 1\n"
            "2026-12-01T19:33:37.123456789Z  +3.000000s   node-b        end     allowed  ingress policy: 0/0 packets, "
            "0/0 bytes (sent/replied), closed; shop/allow-db ingress rule 0; generation 3; flow_id 1\n");
  r = Flows("--file " + node_b_ + " --flow 1:c= -o json", node_a_);
  EXPECT_EQ(r.out, Lines({records_[2], records_[3]}));  // c's start on node-a, then node-b's drop of it
}

// --follow prints what is there, then every record a rotating FileSink writes, in order,
// until SIGINT (exit 0).
TEST_F(FlowsCmdTest, FollowAcrossRotationsUntilInterrupted) {
  std::string out = dir_ + "/.follow";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    execl(NETFENCECTL, NETFENCECTL, "flows", "--file", live_.c_str(), "--follow", "--event", "start", nullptr);
    _exit(127);
  }
  FileSinkOptions o;
  o.path = live_;
  o.max_file_bytes = 2048;
  o.keep_files = 0;
  o.keep_bytes = 0;
  o.fsync = FsyncPolicy::kNever;
  std::string expected = Lines({A(), E()});
  {
    auto sink = FileSink::Open(o);
    ASSERT_TRUE(sink.ok());
    for (int i = 0; i < 300; ++i) {
      FlowRecord r = E();
      r.flow_id = 100 + static_cast<uint64_t>(i);
      (*sink)->Write(r);
      expected += ToJson(r) + "\n";
      if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::string got;
  for (int i = 0; i < 200 && got.size() < expected.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    got = Read(out);
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_GT(RotatedSiblings(live_).size(), 20u);
  EXPECT_EQ(Read(out), expected);
}

}  // namespace
}  // namespace netfence::flowlog
