// SPDX-License-Identifier: Apache-2.0
// Paged lists (pager.h) and the one-shot ListCluster of netfencectl.
#include <gtest/gtest.h>

#include "controlplane/kube/list_cluster.h"
#include "controlplane/kube/pager.h"
#include "tests/controlplane/kube/kube_test_util.h"

namespace netfence::kube {
namespace {

using namespace std::chrono_literals;
using testing_util::KubeFixture;
using testing_util::Namespace;
using testing_util::Pod;
using testing_util::Policy;

class ListTest : public KubeFixture {
 protected:
  // ListAll of pods with `request`, on a private io_context.
  ListResult ListPods(ListRequest request, ClientOptions options = {}) {
    auto client = ApiClient::Create(config_, options);
    EXPECT_TRUE(client.ok());
    boost::asio::io_context io;
    ListResult out;
    ConnectionSlot slot;
    boost::asio::co_spawn(
        io, [&]() -> boost::asio::awaitable<void> { out = co_await ListAll(**client, Resources()[1], request, &slot); },
        boost::asio::detached);
    io.run_for(5s);
    return out;
  }

  void AddPods(int n) {
    for (int i = 0; i < n; ++i)
      server_->Apply(Pod("shop", "web-" + std::to_string(i), "10.0.0." + std::to_string(i + 1)));
  }

  static std::vector<std::string> Names(const ListResult& r) {
    std::vector<std::string> out;
    for (const auto& item : r.items) out.push_back(item["metadata"]["name"].get<std::string>());
    return out;
  }
};

TEST_F(ListTest, FollowsContinueTokensAcrossPages) {
  AddPods(7);
  const std::string rv = server_->ResourceVersion();
  ListResult r = ListPods({3, ""});
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.pages, 3);
  EXPECT_EQ(r.resource_version, rv);
  EXPECT_EQ(Names(r), (std::vector<std::string>{"web-0", "web-1", "web-2", "web-3", "web-4", "web-5", "web-6"}));
  EXPECT_EQ(r.items[0]["kind"], "Pod");  // filled in: list items carry no kind
  EXPECT_EQ(r.items[0]["apiVersion"], "v1");
  auto reqs = server_->Requests("/api/v1/pods");
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].param("limit"), "3");
  EXPECT_EQ(reqs[0].param("continue"), "");
  EXPECT_EQ(reqs[0].query.count("resourceVersion"), 0u);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(reqs[i].param("limit"), "3");
    EXPECT_NE(reqs[i].param("continue"), "");
    EXPECT_EQ(reqs[i].query.count("resourceVersion"), 0u) << "continue pages carry no resourceVersion";
  }
}

TEST_F(ListTest, PagesShareTheFirstPagesResourceVersion) {
  AddPods(4);
  const std::string rv = server_->ResourceVersion();
  // A change between pages is not seen: the continue token pins the list's RV.
  auto client = ApiClient::Create(config_);
  ASSERT_TRUE(client.ok());
  boost::asio::io_context io;
  ListResult out;
  ConnectionSlot slot;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        const ListRequest request{2, ""};
        out = co_await ListAll(**client, Resources()[1], request, &slot);
      },
      boost::asio::detached);
  ASSERT_TRUE(testing_util::RunUntil(io, [&] { return server_->Requests("/api/v1/pods").size() >= 1; }));
  server_->Apply(Pod("shop", "web-9", "10.0.0.99"));
  server_->Delete("Pod", "shop", "web-3");
  testing_util::RunUntil(io, [&] { return out.ok; });
  ASSERT_TRUE(out.ok) << out.error.message;
  EXPECT_EQ(out.resource_version, rv);
  EXPECT_EQ(Names(out), (std::vector<std::string>{"web-0", "web-1", "web-2", "web-3"}));
}

TEST_F(ListTest, ExpiredContinueTokenRestartsTheListInPages) {
  AddPods(7);
  server_->FailRequests("/api/v1/pods", 1, 410, -1, testing::RequestKind::kContinue);
  ListResult r = ListPods({3, ""});
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.continue_restarts, 1);
  EXPECT_EQ(r.items.size(), 7u);  // nothing twice: the first page's items were dropped
  auto reqs = server_->Requests("/api/v1/pods");
  ASSERT_EQ(reqs.size(), 5u) << "page 1, page 2 (410), then pages 1 to 3";
  EXPECT_EQ(reqs[1].status, 410);
  EXPECT_NE(reqs[1].param("continue"), "");
  // The list again from scratch, still in pages (memory bounded by one page).
  EXPECT_EQ(reqs[2].param("continue"), "");
  EXPECT_EQ(reqs[2].param("limit"), "3");
  EXPECT_EQ(reqs[2].status, 200);
}

TEST_F(ListTest, APageLargerThanTheBodyLimitFailsTheListWithoutHoldingIt) {
  AddPods(40);
  ClientOptions small;
  small.max_body_bytes = 4096;  // a page of 40 pods is larger
  ListResult r = ListPods({0, ""}, small);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.message.find("4096"), std::string::npos) << r.error.message;
  EXPECT_TRUE(r.items.empty());
  // Pages that fit are read as usual.
  ListResult paged = ListPods({5, ""}, small);
  ASSERT_TRUE(paged.ok) << paged.error.message;
  EXPECT_EQ(paged.items.size(), 40u);
}

TEST_F(ListTest, TokensThatKeepExpiringFailTheListAfterAFewRestarts) {
  AddPods(7);
  server_->FailRequests("/api/v1/pods", 100, 410, -1, testing::RequestKind::kContinue);
  ListResult r = ListPods({3, ""});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.error.gone()) << r.error.message;
  EXPECT_EQ(r.continue_restarts, kMaxContinueRestarts);
  EXPECT_EQ(server_->Requests("/api/v1/pods").size(), 2u * (kMaxContinueRestarts + 1));
}

TEST_F(ListTest, TokensExpiredByTheServerRestartTheList) {
  AddPods(5);
  auto client = ApiClient::Create(config_);
  ASSERT_TRUE(client.ok());
  boost::asio::io_context io;
  ListResult out;
  bool done = false;
  ConnectionSlot slot;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        const ListRequest request{2, ""};
        out = co_await ListAll(**client, Resources()[1], request, &slot);
        done = true;
      },
      boost::asio::detached);
  ASSERT_TRUE(testing_util::RunUntil(io, [&] { return server_->Requests("/api/v1/pods").size() >= 1; }));
  server_->ExpireContinueTokens();
  server_->Apply(Pod("shop", "late", "10.0.1.1"));
  ASSERT_TRUE(testing_util::RunUntil(io, [&] { return done; }));
  ASSERT_TRUE(out.ok) << out.error.message;
  // Either the second page was already fetched before the expiry (5 items at the old RV) or
  // the list restarted at the new RV (6 items); never a mix.
  if (out.continue_restarts == 0) {
    EXPECT_EQ(out.items.size(), 5u);
  } else {
    EXPECT_EQ(out.items.size(), 6u);
    EXPECT_EQ(out.resource_version, server_->ResourceVersion());
  }
}

TEST_F(ListTest, RelistAtATooLargeResourceVersionFallsBackToTheMostRecent) {
  AddPods(2);
  ListResult r = ListPods({500, "999999"});
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.rv_fallbacks, 1);
  auto reqs = server_->Requests("/api/v1/pods");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].param("resourceVersion"), "999999");
  EXPECT_EQ(reqs[0].param("resourceVersionMatch"), "NotOlderThan");
  EXPECT_EQ(reqs[0].status, 504);
  EXPECT_EQ(reqs[1].query.count("resourceVersion"), 0u);
  EXPECT_EQ(r.items.size(), 2u);
}

TEST_F(ListTest, ListClusterReturnsTheThreeKindsValidated) {
  server_->Apply(Namespace("shop", {{"team", "a"}}));
  server_->Apply(Namespace("db"));
  server_->Apply(Pod("shop", "web", "10.0.0.1", {{"app", "web"}}));
  server_->Apply(Pod("db", "pg", "10.0.0.2", {{"app", "pg"}}));
  server_->Apply(Policy("db", "allow-web", 5432));
  server_->Apply(Policy("db", "broken", 5432, 80));  // endPort < port
  ListClusterOptions o;
  o.page_size = 1;  // every kind over several pages
  auto r = ListCluster(config_, 5s, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->state.namespaces.size(), 2u);
  EXPECT_EQ(r->state.namespaces[0].meta.name, "db");
  EXPECT_EQ(r->state.namespaces[1].meta.labels.at("team"), "a");
  ASSERT_EQ(r->state.pods.size(), 2u);
  EXPECT_EQ(r->state.pods[0].key(), "db/pg");
  EXPECT_EQ(r->state.pods[1].pod_ips, std::vector<std::string>{"10.0.0.1"});
  ASSERT_EQ(r->state.policies.size(), 1u);
  EXPECT_EQ(r->state.policies[0].meta.name, "allow-web");
  ASSERT_EQ(r->errors.size(), 1u);
  const k8s::ObjectError& e = r->errors[0];
  EXPECT_EQ(e.source, "list networkpolicies items[1]");
  EXPECT_EQ(e.kind, "NetworkPolicy");
  EXPECT_EQ(e.ns, "db");
  EXPECT_EQ(e.name, "broken");
  ASSERT_EQ(e.errors.size(), 1u);
  EXPECT_EQ(e.errors[0].path, "spec.ingress[0].ports[0].endPort");
  EXPECT_EQ(server_->Requests("/api/v1/pods").size(), 2u);
}

TEST_F(ListTest, ListClusterRetries429And5xxHonouringRetryAfter) {
  server_->Apply(Namespace("shop"));
  server_->FailRequests("/api/v1/namespaces", 2, 500);
  server_->FailRequests("/api/v1/pods", 1, 429, 1);
  ListClusterOptions o;
  o.backoff.initial = 5ms;
  o.backoff.full_jitter = false;
  auto r = ListCluster(config_, 5s, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->state.namespaces.size(), 1u);
  auto ns = server_->Requests("/api/v1/namespaces");
  ASSERT_EQ(ns.size(), 3u);
  EXPECT_GE(ns[1].time - ns[0].time, 5ms);
  EXPECT_GE(ns[2].time - ns[1].time, 10ms);
  auto pods = server_->Requests("/api/v1/pods");
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0].status, 429);
  EXPECT_GE(pods[1].time - pods[0].time, 1s);  // Retry-After: 1, although the backoff says 5 ms
}

TEST_F(ListTest, ListClusterFailsAtOnceOnAuthenticationErrors) {
  KubeConfig c = config_;
  c.token = "wrong";
  auto r = ListCluster(c, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("HTTP 401 Unauthorized"), std::string::npos) << r.status().message();
}

TEST_F(ListTest, ListClusterTimesOutNamingTheLastError) {
  server_->FailRequests("/api/v1/pods", 1000, 503);
  ListClusterOptions o;
  o.backoff.initial = 20ms;
  o.backoff.cap = 20ms;
  auto start = std::chrono::steady_clock::now();
  auto r = ListCluster(config_, 1s, o);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("list pods from " + config_.server + ": timed out after 1s"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("HTTP 503"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace netfence::kube
