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
  EXPECT_EQ(r.err, "netfencectl flows: --summary reads to the end of the log; it cannot --follow\n");
  r = Flows("", dir_ + "/none.jsonl");
  EXPECT_EQ(r.exit, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "netfencectl flows: cannot read " + dir_ + "/none.jsonl: No such file or directory\n");
  r = Flows("-o yaml");
  EXPECT_NE(r.exit, 0);
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
