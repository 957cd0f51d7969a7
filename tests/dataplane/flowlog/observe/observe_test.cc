// SPDX-License-Identifier: Apache-2.0
// The live stream end to end in one process: the agent's Observe service on a unix socket, fed
// by a RecordHub, and netfencectl's ObserveRecordSource reading it: the history, then the
// records as they are published, filtered on the agent; a bad filter is refused by name.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>

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

// Fault: a slow reader over the socket. One client reads as the records come, another not at
// all while thousands are published: the publisher (the pipeline) never waits for either; each
// stream accounts for every record, delivered or in a `lost` record saying how many (where the
// queue of 100 overflowed: the slow one loses, and knows it; the fast one loses nothing).
TEST_F(ObserveTest, ASlowReaderLosesOnlyItsOwnRecordsAndIsToldHowMany) {
  // Both streams up (they connect at their first read): each reads the warm-up record, from
  // the history, then follows.
  hub_.Write(Emit(In("warm-up", testing::kT0)));
  v1::ObserveRequest q;
  q.set_follow(true);
  ObserveRecordSource fast({.target = target_, .request = q}), slow({.target = target_, .request = q});
  ASSERT_EQ(ReadAll(fast, 1).size(), 1u);
  ASSERT_EQ(ReadAll(slow, 1).size(), 1u);

  // Reads until every record is accounted for, delivered or stated lost: (records, lost).
  // More than the socket and HTTP/2 windows hold for the slow stream (some 4,700 records here).
  constexpr uint64_t kRecords = 20000;
  auto account = [](ObserveRecordSource& src, std::atomic<uint64_t>* seen) {
    uint64_t records = 0, lost = 0;
    FlowRecord r;
    std::string line, error;
    while (records + lost < kRecords && src.Next(&r, &line, &error) == RecordSource::Result::kRecord) {
      (r.event == EventKind::kLost ? lost : records) += r.event == EventKind::kLost ? r.lost_events : 1;
      if (seen != nullptr) *seen = records + lost;
    }
    return std::make_pair(records, lost);
  };
  // Should a stream never account for everything, a watchdog ends both (the test fails, no hang).
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; })) {
      fast.Stop();
      slow.Stop();
    }
  });
  std::pair<uint64_t, uint64_t> fast_got;
  std::atomic<uint64_t> fast_seen{0};
  std::thread reader([&] { fast_got = account(fast, &fast_seen); });
  // Paced by the fast reader (each record published once it has the one before), so that only
  // the slow one falls behind.
  for (uint64_t i = 0; i < kRecords; ++i) {
    hub_.Write(Emit(In("shop", testing::kT0 + 1 + static_cast<int64_t>(i))));
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (fast_seen < i + 1 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  }
  reader.join();
  const auto slow_got = account(slow, nullptr);
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  EXPECT_EQ(fast_got.first + fast_got.second, kRecords) << "the fast stream";
  EXPECT_EQ(fast_got.second, 0u) << "the fast stream lost records to the slow one";
  EXPECT_EQ(slow_got.first + slow_got.second, kRecords) << "the slow stream";
  EXPECT_GT(slow_got.second, 0u) << "the slow stream lost nothing: the test did not make it slow";
  EXPECT_GE(hub_.lost_total(), slow_got.second);
  std::printf("[observe] %llu records: fast stream %llu delivered, %llu lost; slow stream %llu delivered, %llu lost\n",
              static_cast<unsigned long long>(kRecords), static_cast<unsigned long long>(fast_got.first),
              static_cast<unsigned long long>(fast_got.second), static_cast<unsigned long long>(slow_got.first),
              static_cast<unsigned long long>(slow_got.second));
  fast.Stop();
  slow.Stop();
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
