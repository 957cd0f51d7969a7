// SPDX-License-Identifier: Apache-2.0
// A recorded flow log replayed against a change (controlplane/reach/replay.h): records written
// by the flow log's own serializer into a live file and a rotated sibling; exactly the observed
// connections the change cuts or newly admits, with their records, connections and last time
// seen; ends resolved by name and by address; unknown ends, port-less records, lost events and
// malformed lines (with FILE:LINE) counted, never dropped silently.
#include "controlplane/reach/replay.h"

#include <gtest/gtest.h>

#include <string>

#include "dataplane/flowlog/time_format.h"
#include "tests/controlplane/reach/reach_fixture.h"
#include "tests/testing/test_certs.h"

namespace netfence::reach {
namespace {

using flowlog::EventKind;
using flowlog::FlowRecord;
using flowlog::Verdict;
using testing::After;
using testing::Base;
using testing::CompileState;
using testing::kWebIn;
using testing::Load;

constexpr int64_t kSec = flowlog::kNsPerSecond;
constexpr int64_t kT0 = 1796153614LL * kSec;  // 2026-12-01T19:33:34Z

// A record between two addresses (named when ns/pod are given) on TCP `dport`.
FlowRecord Record(EventKind event, Verdict verdict, int64_t time_ns, const std::string& src_ip,
                  const std::string& dst_ip, uint16_t dport, const std::string& community_id,
                  const std::string& src_name = "", const std::string& dst_name = "") {
  FlowRecord r;
  r.event = event;
  r.verdict = verdict;
  r.time_ns = time_ns;
  r.proto = 6;
  r.src.ip = IpAddr::Parse(src_ip);
  r.src.port = 40000;
  r.dst.ip = IpAddr::Parse(dst_ip);
  r.dst.port = dport;
  for (auto [name, end] : {std::pair{&src_name, &r.src}, std::pair{&dst_name, &r.dst}}) {
    if (name->empty()) continue;
    end->ns = name->substr(0, name->find('/'));
    end->pod = name->substr(name->find('/') + 1);
  }
  r.community_id = community_id;
  return r;
}

std::string Lines(const std::vector<FlowRecord>& records) {
  std::string out;
  for (const FlowRecord& r : records) out += flowlog::ToJson(r) + "\n";
  return out;
}

// Before: a/client is isolated for ingress with no rule (client-in). The change deletes
// client-in (b/other -> a/client is newly admitted) and adds web-in (b/other -> a/web is cut;
// a/client -> a/web stays allowed).
TEST(Replay, ObservedConnectionsTheChangeCutsOrAdmits) {
  const auto before = Load(Base() + netfence::testing::PolicyYaml("a", "client-in",
                                                                  "  podSelector: {matchLabels: {app: client}}\n"
                                                                  "  policyTypes: [Ingress]"));
  const Change change{Load(kWebIn), {"NetworkPolicy/a/client-in"}};
  const k8s::ClusterState after = After(before, change);
  const testing::Compiled b = CompileState(before), a = CompileState(after);

  netfence::testing::TempDir dir;
  const std::string live = dir.file("flows.jsonl");
  const std::string rotated = dir.file("flows-" + flowlog::FormatTimeForFileName(kT0 + 50 * kSec) + ".jsonl");
  // The rotated file: a/client -> a/web (stays allowed), b/other -> a/web by name (start, end).
  FlowRecord end = Record(EventKind::kEnd, Verdict::kAllowed, kT0 + 40 * kSec, "10.9.1.1", "10.9.0.1", 80, "1:bbb",
                          "b/other", "a/web");
  end.end_time_ns = kT0 + 41 * kSec;
  ASSERT_TRUE(netfence::testing::WriteTextFile(
      rotated,
      Lines({Record(EventKind::kStart, Verdict::kAllowed, kT0, "10.9.0.2", "10.9.0.1", 80, "1:aaa", "a/client", "a/web"),
             Record(EventKind::kStart, Verdict::kAllowed, kT0 + 10 * kSec, "10.9.1.1", "10.9.0.1", 80, "1:bbb",
                    "b/other", "a/web"),
             end})));
  // The live file: b/other -> a/web by address only (another connection); a drop
  // aggregate b/other -> a/client on 8080; an unknown source; ICMP; a lost record; a bad line.
  FlowRecord drop =
      Record(EventKind::kDrop, Verdict::kDenied, kT0 + 60 * kSec, "10.9.1.1", "10.9.0.2", 8080, "1:ddd", "b/other",
             "a/client");
  drop.count = 5;
  drop.last_time_ns = kT0 + 59 * kSec;
  FlowRecord icmp = Record(EventKind::kStart, Verdict::kAllowed, kT0 + 61 * kSec, "10.9.0.2", "10.9.0.1", 0, "1:eee",
                           "a/client", "a/web");
  icmp.proto = 1;
  icmp.src.port.reset();
  icmp.dst.port.reset();
  const FlowRecord lost = flowlog::LostRecord(7, kT0, kT0 + 62 * kSec, "ring-buffer", kT0 + 62 * kSec, "node-1");
  ASSERT_TRUE(netfence::testing::WriteTextFile(
      live, Lines({Record(EventKind::kStart, Verdict::kAllowed, kT0 + 55 * kSec, "10.9.1.1", "10.9.0.1", 80, "1:ccc"),
                   drop,
                   Record(EventKind::kStart, Verdict::kAllowed, kT0 + 56 * kSec, "192.0.2.7", "10.9.0.1", 80, "1:fff",
                          "", "a/web"),
                   icmp, lost}) +
                "{\"schema\":\"netfence.flow/v1\",\"time\":\n"));

  FlowReplay replay(before);
  ASSERT_TRUE(ReadFlowLogs({.files = {live}}, &replay).ok());
  const ReplayStats& s = replay.stats();
  const ReplayResult r = replay.Judge(*b.classifier, after, *a.classifier, {});

  ASSERT_EQ(r.flips.size(), 2u);
  // Sorted as Flips sorts: source b/other, then destination a/client before a/web.
  const ObservedFlip& admitted = r.flips[0];
  EXPECT_EQ(admitted.from, "b/other");
  EXPECT_EQ(admitted.to, "a/client");
  EXPECT_EQ(admitted.port, (ProtoPort{k8s::Protocol::kTCP, 8080}));
  EXPECT_FALSE(admitted.before.allowed);
  EXPECT_TRUE(admitted.after.allowed);
  EXPECT_EQ(admitted.records, 1u);
  EXPECT_EQ(admitted.connections, 1u);
  EXPECT_EQ(admitted.recorded_denied, 1u);
  EXPECT_EQ(admitted.last_seen_ns, kT0 + 60 * kSec);  // the record's time: after its last drop
  const ObservedFlip& cut = r.flips[1];
  EXPECT_EQ(cut.from, "b/other");
  EXPECT_EQ(cut.to, "a/web");
  EXPECT_EQ(cut.port, (ProtoPort{k8s::Protocol::kTCP, 80}));
  EXPECT_TRUE(cut.before.allowed);
  EXPECT_FALSE(cut.after.allowed);
  EXPECT_EQ(cut.records, 3u);      // start and end of 1:bbb (by name), start of 1:ccc (by address)
  EXPECT_EQ(cut.connections, 2u);  // 1:bbb, 1:ccc
  EXPECT_EQ(cut.recorded_allowed, 3u);
  EXPECT_EQ(cut.last_seen_ns, kT0 + 55 * kSec);

  EXPECT_EQ(r.pairs, 3u);  // a/client -> a/web on 80 too
  EXPECT_EQ(r.unchanged_pairs, 1u);
  EXPECT_EQ(s.records, 7u);
  EXPECT_EQ(s.judged_records, 5u);
  EXPECT_EQ(s.unknown_records, 1u);
  EXPECT_EQ(s.unknown, (std::map<std::string, uint64_t>{{"192.0.2.7", 1}}));
  EXPECT_EQ(s.no_port_records, 1u);
  EXPECT_EQ(s.lost_events, 7u);
  ASSERT_EQ(s.malformed_lines, 1u);
  EXPECT_EQ(s.malformed[0].rfind(live + ":6: ", 0), 0u) << s.malformed[0];

  const nlohmann::json j = ObservedJson(r, s, *b.tables, *a.tables);
  ASSERT_EQ(j["observed"].size(), 2u) << j.dump(2);
  const auto& jc = j["observed"][1];
  EXPECT_EQ(jc["from"], "b/other");
  EXPECT_EQ(jc["to"], "a/web");
  EXPECT_EQ(jc["protocol"], "TCP");
  EXPECT_EQ(jc["port"], 80);
  EXPECT_EQ(jc["records"], 3);
  EXPECT_EQ(jc["connections"], 2);
  EXPECT_EQ(jc["last_seen"], flowlog::FormatTime(kT0 + 55 * kSec));
  EXPECT_EQ(jc["before"], true);
  EXPECT_EQ(jc["after"], false);
  EXPECT_EQ(jc["change"], "cut");
  EXPECT_EQ(jc["decided_by"]["after"]["ingress"]["isolated_by"], nlohmann::json::array({"a/web-in"}));
  EXPECT_EQ(j["observed"][0]["change"], "admitted");
  EXPECT_EQ(j["observed_summary"]["unknown"]["records"], 1);
  EXPECT_EQ(j["observed_summary"]["malformed"]["lines"], 1);
  const std::string table = ObservedTable(r, s, *a.tables);
  EXPECT_NE(table.find("- b/other -> a/web TCP/80  cut  3 records, 2 connections"), std::string::npos) << table;
  EXPECT_NE(table.find("192.0.2.7: 1"), std::string::npos) << table;
  EXPECT_NE(table.find("malformed lines skipped: 1 (first at " + live + ":6: "), std::string::npos) << table;
}

TEST(Replay, WithoutRotatedSiblingsOnlyTheLiveFileIsRead) {
  const auto before = Load(Base());
  netfence::testing::TempDir dir;
  const std::string live = dir.file("flows.jsonl");
  ASSERT_TRUE(netfence::testing::WriteTextFile(
      dir.file("flows-" + flowlog::FormatTimeForFileName(kT0) + ".jsonl"),
      Lines({Record(EventKind::kStart, Verdict::kAllowed, kT0, "10.9.1.1", "10.9.0.1", 80, "1:a")})));
  ASSERT_TRUE(netfence::testing::WriteTextFile(live, ""));
  FlowReplay with(before), without(before);
  ASSERT_TRUE(ReadFlowLogs({.files = {live}}, &with).ok());
  ASSERT_TRUE(ReadFlowLogs({.files = {live}, .include_rotated = false}, &without).ok());
  EXPECT_EQ(with.stats().records, 1u);
  EXPECT_EQ(without.stats().records, 0u);
  Status missing = ReadFlowLogs({.files = {dir.file("nope.jsonl")}}, &without);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("nope.jsonl"), std::string::npos) << missing.message();
}

}  // namespace
}  // namespace netfence::reach
