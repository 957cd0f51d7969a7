// SPDX-License-Identifier: Apache-2.0
// The live stream end to end in one process: the agent's Observe service on a unix socket, fed
// by a RecordHub, and netfencectl's ObserveRecordSource reading it: the history, then the
// records as they are published, filtered on the agent; a bad filter is refused by name.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "dataplane/flowlog/observe/observe_request.h"
#include "dataplane/flowlog/observe/observe_service.h"
#include "dataplane/flowlog/observe/observe_source.h"
#include "tests/dataplane/flowlog/records.h"
#include "tests/dataplane/flowlog/temp_dir.h"

namespace netfence::flowlog {
namespace {

EmittedPtr Emit(FlowRecord r) {
  auto e = std::make_shared<Emitted>();
  e->line = ToJson(r);
  e->record = std::move(r);
  return e;
}
FlowRecord In(const char* ns, int64_t t, Verdict v = Verdict::kAllowed) {
  FlowRecord r = testing::StartRecord();
  r.src.ns = r.dst.ns = ns;
  r.time_ns = t;
  r.verdict = v;
  return r;
}

class ObserveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ObserveServer::Start({target_}, &service_, nullptr);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(s).value();
  }
  std::vector<std::string> ReadAll(ObserveRecordSource& src, size_t n) {
    std::vector<std::string> lines;
    FlowRecord r;
    std::string line, error;
    while (lines.size() < n && src.Next(&r, &line, &error) == RecordSource::Result::kRecord) lines.push_back(line);
    return lines;
  }

  testing::TempDir dir_;
  std::string target_ = "unix:" + (dir_ / "observe.sock");
  RecordHub hub_{{.history = 100, .queue = 100, .node = "node-a"}};
  ObserveService service_{&hub_, "node-a"};
  std::unique_ptr<ObserveServer> server_;
};

TEST_F(ObserveTest, AStreamGivesTheHistoryThenFollowsWithTheAgentsFilter) {
  hub_.Write(Emit(In("shop", testing::kT0)));
  hub_.Write(Emit(In("dev", testing::kT0 + 1)));
  hub_.Write(Emit(In("shop", testing::kT0 + 2, Verdict::kDenied)));
  FlowFilter f;
  f.namespaces = {"shop"};
  v1::ObserveRequest q = RequestFromFilter(f);
  q.set_follow(true);
  ObserveRecordSource src({.target = target_, .request = q});
  auto got = ReadAll(src, 2);
  EXPECT_EQ(got, (std::vector<std::string>{ToJson(In("shop", testing::kT0)),
                                           ToJson(In("shop", testing::kT0 + 2, Verdict::kDenied))}));
  EXPECT_EQ(src.history().node(), "node-a");
  EXPECT_EQ(src.history().records(), 3u);
  EXPECT_FALSE(src.history().truncated());
  // Live: published while the client waits.
  std::thread publisher([&] {
    hub_.Write(Emit(In("dev", testing::kT0 + 3)));
    hub_.Write(Emit(In("shop", testing::kT0 + 4)));
  });
  got = ReadAll(src, 1);
  publisher.join();
  EXPECT_EQ(got, std::vector<std::string>{ToJson(In("shop", testing::kT0 + 4))});
  src.Stop();
  FlowRecord r;
  std::string line, error;
  EXPECT_EQ(src.Next(&r, &line, &error), RecordSource::Result::kEnd);
  EXPECT_TRUE(src.status().ok()) << src.status().message();
  // The agent lets go of the stream.
  for (int i = 0; i < 500 && hub_.subscribers() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(hub_.subscribers(), 0u);
}

TEST_F(ObserveTest, WithoutFollowTheStreamEndsAfterTheHistory) {
  hub_.Write(Emit(In("shop", testing::kT0)));
  hub_.Write(Emit(In("shop", testing::kT0 + 10)));
  FlowFilter f;
  f.since_ns = testing::kT0 + 5;
  ObserveRecordSource src({.target = target_, .request = RequestFromFilter(f)});
  EXPECT_EQ(ReadAll(src, 10), std::vector<std::string>{ToJson(In("shop", testing::kT0 + 10))});
  EXPECT_TRUE(src.status().ok()) << src.status().message();
}

TEST_F(ObserveTest, ABadFilterIsRefusedWithTheFieldNamed) {
  v1::ObserveRequest q;
  q.add_verdicts("maybe");
  ObserveRecordSource src({.target = target_, .request = q});
  EXPECT_TRUE(ReadAll(src, 1).empty());
  EXPECT_EQ(src.status().message(), "agent " + target_ + ": verdicts: \"maybe\" is not allowed, denied or audit");
}

TEST_F(ObserveTest, AFieldMaskShipsOnlyThoseFieldsAndLostRecordsWhole) {
  FlowRecord other = In("shop", testing::kT0 + 1);
  other.community_id = "1:other=";
  hub_.Write(Emit(In("shop", testing::kT0)));
  hub_.Write(Emit(other));
  const FlowRecord lost = LostRecord(4, testing::kT0, testing::kT0 + 1, "ring-buffer", testing::kT0 + 2, "node-a");
  hub_.Write(Emit(lost));
  v1::ObserveRequest q;
  q.add_community_ids("1:abc=");  // filters see the whole record, before the mask
  q.mutable_field_mask()->add_paths("src.pod");
  q.mutable_field_mask()->add_paths("verdict");
  ObserveRecordSource src({.target = target_, .request = q});
  EXPECT_EQ(ReadAll(src, 10),
            (std::vector<std::string>{R"({"verdict":"allowed","src":{"pod":"frontend"}})", ToJson(lost)}));
  EXPECT_TRUE(src.status().ok()) << src.status().message();
  v1::ObserveRequest bad;
  bad.mutable_field_mask()->add_paths("src.podd");
  ObserveRecordSource refused({.target = target_, .request = bad});
  EXPECT_TRUE(ReadAll(refused, 1).empty());
  EXPECT_EQ(refused.status().message().rfind(
                "agent " + target_ + ": field_mask: \"src.podd\" is not a field of a flow record (fields: ", 0),
            0u)
      << refused.status().message();
}

TEST_F(ObserveTest, NoAgentIsAnErrorNamingTheAddress) {
  const std::string nowhere = "unix:" + (dir_ / "nothing.sock");
  ObserveRecordSource src({.target = nowhere, .request = {}, .connect_timeout_ms = 200});
  EXPECT_TRUE(ReadAll(src, 1).empty());
  EXPECT_EQ(src.status().message(), "agent " + nowhere + ": not reachable within 0 s");
}

TEST(ObserveRequestTest, CarriesEveryCriterionOfTheFilter) {
  FlowFilter f;
  f.namespaces = {"a"};
  f.src_namespaces = {"b"};
  f.dst_namespaces = {"c"};
  f.pods = {"a/p"};
  f.src_pods = {"q"};
  f.dst_pods = {"c/r"};
  f.verdicts = {Verdict::kDenied, Verdict::kAudit};
  f.events = {EventKind::kDrop};
  f.policies = {{"a", "allow"}};
  f.community_ids = {"1:x="};
  f.since_ns = 5;
  f.until_ns = 9;
  auto back = FilterFromRequest(RequestFromFilter(f));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->namespaces, f.namespaces);
  EXPECT_EQ(back->src_namespaces, f.src_namespaces);
  EXPECT_EQ(back->dst_namespaces, f.dst_namespaces);
  EXPECT_EQ(back->pods, f.pods);
  EXPECT_EQ(back->src_pods, f.src_pods);
  EXPECT_EQ(back->dst_pods, f.dst_pods);
  EXPECT_EQ(back->verdicts, f.verdicts);
  EXPECT_EQ(back->events, f.events);
  EXPECT_EQ(back->policies, f.policies);
  EXPECT_EQ(back->community_ids, f.community_ids);
  EXPECT_EQ(back->since_ns, f.since_ns);
  EXPECT_EQ(back->until_ns, f.until_ns);
  v1::ObserveRequest bad;
  bad.add_policies("nope");
  EXPECT_EQ(FilterFromRequest(bad).status().message(), "policies: \"nope\" is not NAMESPACE/NAME");
}

}  // namespace
}  // namespace netfence::flowlog
