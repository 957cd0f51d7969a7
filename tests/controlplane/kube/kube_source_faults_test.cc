// SPDX-License-Identifier: Apache-2.0
// KubeSource under failures: backoff spacing on 5xx, Retry-After on 429, slow and split
// streams, a connection cut in the middle of a chunk, a rotated token, and a long random
// sequence of changes interleaved with disconnects, 410s, 429s and 500s after which the
// client's store must equal the server's exactly.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "controlplane/kube/kube_source.h"
#include "tests/controlplane/kube/kube_test_util.h"

namespace netfence::kube {
namespace {

using namespace std::chrono_literals;
using testing_util::Describe;
using testing_util::KubeFixture;
using testing_util::Namespace;
using testing_util::Pod;
using testing_util::Policy;
using testing_util::RunFor;
using testing_util::RunUntil;

constexpr const char* kPods = "/api/v1/pods";

class FaultsTest : public KubeFixture {
 protected:
  void SeedAndStart() {
    server_->Apply(Namespace("shop"));
    for (int i = 0; i < 3; ++i)
      server_->Apply(Pod("shop", "web-" + std::to_string(i), "10.0.0." + std::to_string(i + 1)));
    StartSource();
    ASSERT_TRUE(RunUntil(io_, [&] { return server_->OpenWatches() == static_cast<int>(kube::kResourceCount); }));
  }

  std::vector<testing::FakeRequest> PodWatchesSince(size_t n) {
    auto all = server_->Requests(kPods, true);
    return std::vector<testing::FakeRequest>(all.begin() + static_cast<std::ptrdiff_t>(n), all.end());
  }

  std::vector<std::string> PodEventsSince(size_t from) {
    std::vector<std::string> out;
    for (const auto& e : Describe(observer_.log, from)) {
      if (e.compare(1, 4, "Pod ") == 0) out.push_back(e);
    }
    return out;
  }
};

TEST_F(FaultsTest, ServerErrorsBackOffExponentiallyUpToTheCap) {
  SeedAndStart();  // backoff: exactly 10, 20, 40, 80, 80 ms (no jitter)
  const size_t n = server_->Requests(kPods, true).size();
  server_->FailRequests(kPods, 4, 500, -1, testing::RequestKind::kWatch);
  server_->DropConnections();  // failure 1 (10 ms), then four 500s (20, 40, 80, 80 ms)
  ASSERT_TRUE(Converge());
  auto w = PodWatchesSince(n);
  ASSERT_EQ(w.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(w[static_cast<size_t>(i)].status, 500);
  EXPECT_EQ(w[4].status, 200);
  const std::vector<std::chrono::milliseconds> want = {20ms, 40ms, 80ms, 80ms};
  for (size_t i = 1; i < w.size(); ++i) {
    EXPECT_GE(w[i].time - w[i - 1].time, want[i - 1]) << "gap before watch " << i;
    EXPECT_EQ(w[i].param("resourceVersion"), w[0].param("resourceVersion"));  // same RV: no relist
  }
  auto m = Pods(source_->Metrics());
  EXPECT_EQ(m.server_errors, 4u);
  EXPECT_EQ(m.reconnects, 5u);
  EXPECT_EQ(m.relists, 0u);
  EXPECT_NE(m.last_error.find("HTTP 500"), std::string::npos) << m.last_error;
}

TEST_F(FaultsTest, TooManyRequestsHonoursRetryAfter) {
  SeedAndStart();
  const size_t n = server_->Requests(kPods, true).size();
  server_->FailRequests(kPods, 1, 429, 1, testing::RequestKind::kWatch);
  server_->DropConnections();
  ASSERT_TRUE(RunUntil(
      io_, [&] { return PodWatchesSince(n).size() == 2; }, 3s));
  auto w = PodWatchesSince(n);
  EXPECT_EQ(w[0].status, 429);
  EXPECT_GE(w[1].time - w[0].time, 1s);  // Retry-After: 1 although the backoff step is 20 ms
  EXPECT_EQ(Pods(source_->Metrics()).throttled, 1u);
  ASSERT_TRUE(Converge());
}

TEST_F(FaultsTest, SlowStreamStillDeliversEverythingInOrder) {
  SeedAndStart();
  server_->SetChunkDelay(30ms);
  const size_t from = observer_.log.size();
  std::vector<std::string> want;
  for (int i = 0; i < 5; ++i) {
    std::string rv = server_->Apply(Pod("shop", "slow-" + std::to_string(i), "10.0.1." + std::to_string(i + 1)));
    want.push_back("+Pod shop/slow-" + std::to_string(i) + "@" + rv);
  }
  ASSERT_TRUE(Converge());
  EXPECT_EQ(PodEventsSince(from), want);
  EXPECT_EQ(Pods(source_->Metrics()).reconnects, 0u);
}

TEST_F(FaultsTest, EventsSplitAcrossChunksAreReassembled) {
  SeedAndStart();
  server_->SetSplitEvents(true);
  const size_t from = observer_.log.size();
  std::string a = server_->Apply(Pod("shop", "a", "10.0.1.1"));
  std::string b = server_->Apply(Pod("shop", "b", "10.0.1.2"));
  ASSERT_TRUE(Converge());
  EXPECT_EQ(PodEventsSince(from), (std::vector<std::string>{"+Pod shop/a@" + a, "+Pod shop/b@" + b}));
  EXPECT_TRUE(observer_.rejects.empty());
  EXPECT_EQ(Pods(source_->Metrics()).reconnects, 0u);
}

TEST_F(FaultsTest, ConnectionCutMidChunkResumesFromTheLastCompleteEvent) {
  SeedAndStart();
  const size_t from = observer_.log.size();
  std::string a = server_->Apply(Pod("shop", "a", "10.0.1.1"));
  ASSERT_TRUE(Converge());
  const size_t n = server_->Requests(kPods, true).size();
  server_->CutWatchesMidEvent();
  std::string b = server_->Apply(Pod("shop", "b", "10.0.1.2"));  // half of it arrives, then the cut
  ASSERT_TRUE(Converge());
  auto w = PodWatchesSince(n);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].param("resourceVersion"), a);  // not b: its line never completed
  EXPECT_EQ(PodEventsSince(from), (std::vector<std::string>{"+Pod shop/a@" + a, "+Pod shop/b@" + b}));
  EXPECT_EQ(observer_.noop_events, 0);
  EXPECT_EQ(Pods(source_->Metrics()).transport_errors, 1u);
  EXPECT_EQ(Pods(source_->Metrics()).relists, 0u);
}

TEST_F(FaultsTest, RotatedTokenIsPickedUpAfter401) {
  const std::string file = dir_.file("token");
  ASSERT_TRUE(testing::WriteTextFile(file, "secret"));
  config_.token.clear();
  config_.token_file = file;
  SeedAndStart();
  const size_t n = server_->Requests().size();
  server_->SetTokens({{"rotated", "alice"}});
  ASSERT_TRUE(testing::WriteTextFile(file, "rotated"));
  server_->DropConnections();
  std::string rv = server_->Apply(Pod("shop", "after-rotation", "10.0.5.1"));
  ASSERT_TRUE(Converge());
  // The first re-watch (whichever reflector came first) was refused with the cached token;
  // the 401 made the shared token source re-read the file, and every watch is back.
  auto all = server_->Requests();
  ASSERT_GT(all.size(), n);
  EXPECT_EQ(all[n].status, 401);
  EXPECT_EQ(all[n].user, "");
  auto w = server_->Requests(kPods, true);
  EXPECT_EQ(w.back().status, 200);
  EXPECT_EQ(w.back().user, "alice");
  EXPECT_EQ(observer_.store.pods().at("shop/after-rotation").meta.resource_version, rv);
}

// Long random sequences of changes interleaved with every failure the fake can inject. At
// the end the client must mirror the server exactly (same objects, same versions), and no
// delivered event may have been a no-op (a duplicate).
class RandomFaultsTest : public FaultsTest, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(RandomFaultsTest, ChangesAndFailuresConvergeExactly) {
  std::mt19937 rng(GetParam());
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto pod = [&] {
    std::string ns = "ns" + std::to_string(pick(3));
    return Pod(ns, "p" + std::to_string(pick(12)),
               "10.1." + std::to_string(pick(250)) + "." + std::to_string(pick(250)),
               {{"app", "a" + std::to_string(pick(3))}});
  };
  for (int i = 0; i < 3; ++i) server_->Apply(Namespace("ns" + std::to_string(i)));
  for (int i = 0; i < 10; ++i) server_->Apply(pod());
  auto options = testing_util::FastOptions();
  options.reflector.page_size = 2;
  options.reflector.backoff.initial = 2ms;
  options.reflector.backoff.cap = 20ms;
  options.reflector.backoff.full_jitter = true;
  StartSource(options);
  int failures = 0;
  for (int step = 0; step < 300; ++step) {
    const int r = pick(100);
    if (r < 35) {
      server_->Apply(pod());
    } else if (r < 45) {
      server_->Apply(Namespace("ns" + std::to_string(pick(4)), {{"v", std::to_string(pick(5))}}));
    } else if (r < 55) {
      server_->Apply(Policy("ns" + std::to_string(pick(3)), "pol" + std::to_string(pick(4)), 1 + pick(1000)));
    } else if (r < 70) {
      const char* kinds[] = {"Pod", "Pod", "Namespace", "NetworkPolicy"};
      std::string kind = kinds[pick(4)];
      std::string name = kind == "Pod"         ? "p" + std::to_string(pick(12))
                         : kind == "Namespace" ? "ns" + std::to_string(3 + pick(1))
                                               : "pol" + std::to_string(pick(4));
      server_->Delete(kind, kind == "Namespace" ? "" : "ns" + std::to_string(pick(3)), name);
    } else if (r < 76) {
      server_->DropConnections();
      ++failures;
    } else if (r < 80) {
      server_->ExpireHistory(pick(2) == 0);
      ++failures;
    } else if (r < 84) {
      const char* paths[] = {"/api/v1/namespaces", "/api/v1/pods", "/apis/networking.k8s.io/v1/networkpolicies"};
      server_->FailRequests(paths[pick(3)], 1 + pick(2), pick(2) ? 500 : 429, pick(2) ? 0 : -1);
      ++failures;
    } else if (r < 87) {
      server_->CutWatchesMidEvent();
      ++failures;
    } else if (r < 90) {
      server_->SendBookmark();
    } else if (r < 92) {
      server_->ExpireContinueTokens();
    } else if (r < 93) {
      const char* paths[] = {"/api/v1/namespaces", "/api/v1/pods", "/apis/networking.k8s.io/v1/networkpolicies"};
      server_->FailRequests(paths[pick(3)], 1, 410, -1, testing::RequestKind::kContinue);
    } else if (r < 96) {
      server_->SetGoneMode(pick(2) ? testing::GoneMode::kHttpStatus : testing::GoneMode::kInStreamError);
    }
    RunFor(io_, std::chrono::milliseconds(pick(6)));
  }
  server_->SetChunkDelay(0ms);
  ASSERT_TRUE(Converge(8s));
  EXPECT_EQ(observer_.noop_events, 0) << "duplicate events delivered";
  EXPECT_TRUE(observer_.rejects.empty());
  EXPECT_EQ(observer_.synced, 1);
  EXPECT_GT(failures, 30);
  auto m = source_->Metrics();
  uint64_t relists = 0, gone = 0, restarts = 0, reconnects = 0, events = 0;
  for (const auto& r : m.resources) {
    relists += r.relists;
    gone += r.gone;
    restarts += r.list_restarts;
    reconnects += r.reconnects;
    events += r.added + r.modified + r.deleted;
  }
  std::printf(
      "random run: %d injected failures, %llu watch events, %llu relists, %llu 410s, %llu list restarts, "
      "%llu reconnects, %zu events delivered\n",
      failures, static_cast<unsigned long long>(events), static_cast<unsigned long long>(relists),
      static_cast<unsigned long long>(gone), static_cast<unsigned long long>(restarts),
      static_cast<unsigned long long>(reconnects), observer_.log.size());
  EXPECT_GT(relists, 0u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomFaultsTest, ::testing::Values(20240611u, 7u, 424242u));

}  // namespace
}  // namespace netfence::kube
