// SPDX-License-Identifier: Apache-2.0
// KubeSource against the fake API server: first sync, watch events in order, bookmarks,
// normal watch ends, 410 (HTTP and in-stream) with the relist difference, invalid objects.
#include "controlplane/kube/kube_source.h"

#include <gtest/gtest.h>

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
constexpr const char* kPolicies = "/apis/networking.k8s.io/v1/networkpolicies";

class KubeSourceTest : public KubeFixture {
 protected:
  // Two namespaces, pods web-0..4 in shop, one policy; remembers each object's RV.
  void Seed() {
    rv_["ns/shop"] = server_->Apply(Namespace("shop"));
    rv_["ns/db"] = server_->Apply(Namespace("db"));
    for (int i = 0; i < 5; ++i) {
      std::string name = "web-" + std::to_string(i);
      rv_[name] = server_->Apply(Pod("shop", name, "10.0.0." + std::to_string(i + 1)));
    }
    rv_["allow"] = server_->Apply(Policy("shop", "allow", 80));
  }

  void WaitForWatches() {
    ASSERT_TRUE(RunUntil(io_, [&] { return server_->OpenWatches() == static_cast<int>(kube::kResourceCount); }));
  }

  // The events delivered since `from` whose description starts with `prefix` ("+Pod", "-Pod", ...
  // or "Pod" for both signs), in delivery order.
  std::vector<std::string> Events(size_t from, const std::string& kind) {
    std::vector<std::string> out;
    for (const auto& e : Describe(observer_.log, from)) {
      if (e.compare(1, kind.size() + 1, kind + " ") == 0) out.push_back(e);
    }
    return out;
  }

  std::map<std::string, std::string> rv_;
};

TEST_F(KubeSourceTest, ListsEveryKindThenSyncsOnce) {
  Seed();
  StartSource();
  EXPECT_EQ(observer_.synced, 1);
  EXPECT_EQ(observer_.events_at_sync, 8u);  // everything was delivered before OnSynced
  EXPECT_EQ(observer_.store.namespaces().size(), 2u);
  EXPECT_EQ(observer_.store.pods().size(), 5u);
  EXPECT_EQ(observer_.store.policies().size(), 1u);
  EXPECT_EQ(observer_.store.pods().at("shop/web-3").pod_ips, std::vector<std::string>{"10.0.0.4"});
  EXPECT_EQ(observer_.store.pods().at("shop/web-3").meta.resource_version, rv_["web-3"]);
  EXPECT_TRUE(Converge());
  EXPECT_EQ(observer_.noop_events, 0);
  EXPECT_TRUE(observer_.rejects.empty());
  // Pods came in pages of 3, then the watch started at the list's RV.
  auto lists = server_->Requests(kPods, false);
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].param("limit"), "3");
  auto watches = server_->Requests(kPods, true);
  ASSERT_EQ(watches.size(), 1u);
  EXPECT_EQ(watches[0].param("watch"), "1");
  EXPECT_EQ(watches[0].param("allowWatchBookmarks"), "true");
  EXPECT_EQ(watches[0].param("resourceVersion"), server_->ResourceVersion());
  int timeout = std::stoi(watches[0].param("timeoutSeconds"));
  EXPECT_GE(timeout, 300);
  EXPECT_LE(timeout, 600);
  auto m = source_->Metrics();
  EXPECT_TRUE(m.synced);
  EXPECT_TRUE(Pods(m).synced);
  EXPECT_TRUE(Pods(m).connected);
  EXPECT_EQ(Pods(m).lists, 1u);
  EXPECT_EQ(Pods(m).relists, 0u);
  EXPECT_EQ(Pods(m).upserts_delivered, 5u);
  EXPECT_EQ(Pods(m).resource_version, server_->ResourceVersion());
  EXPECT_EQ(source_->Describe(), "kubernetes " + server_->url());
}

TEST_F(KubeSourceTest, SyncsAnEmptyCluster) {
  StartSource();
  EXPECT_TRUE(observer_.log.empty());
  EXPECT_EQ(observer_.batches, 0);
  EXPECT_TRUE(source_->Metrics().synced);
}

TEST_F(KubeSourceTest, WatchDeliversAddedModifiedDeletedInOrder) {
  Seed();
  StartSource();
  WaitForWatches();
  const size_t from = observer_.log.size();
  std::string rv1 = server_->Apply(Pod("shop", "new", "10.0.1.1"));
  std::string rv2 = server_->Apply(Pod("shop", "new", "10.0.1.2"));
  server_->Delete("Pod", "shop", "web-0");
  std::string rv4 = server_->Apply(Namespace("shop", {{"env", "prod"}}));
  server_->Delete("Pod", "shop", "new");
  ASSERT_TRUE(Converge());
  // A delete carries the last version the client knew.
  EXPECT_EQ(Events(from, "Pod"), (std::vector<std::string>{"+Pod shop/new@" + rv1, "+Pod shop/new@" + rv2,
                                                           "-Pod shop/web-0@" + rv_["web-0"], "-Pod shop/new@" + rv2}));
  EXPECT_EQ(Events(from, "Namespace"), (std::vector<std::string>{"+Namespace shop@" + rv4}));
  EXPECT_EQ(observer_.store.namespaces().at("shop").meta.labels.at("env"), "prod");
  EXPECT_EQ(observer_.noop_events, 0);
  auto m = source_->Metrics();
  EXPECT_EQ(Pods(m).added, 1u);
  EXPECT_EQ(Pods(m).modified, 1u);
  EXPECT_EQ(Pods(m).deleted, 2u);
  EXPECT_EQ(Pods(m).relists, 0u);
  EXPECT_EQ(server_->Requests(kPods, true).size(), 1u);  // one watch all along
}

TEST_F(KubeSourceTest, BookmarksMoveTheResourceVersionWithoutEvents) {
  Seed();
  StartSource();
  WaitForWatches();
  // Namespaces change: the cluster RV moves past the pods' last event.
  server_->Apply(Namespace("x"));
  server_->Apply(Namespace("y"));
  ASSERT_TRUE(Converge());
  const std::string pods_rv = Pods(source_->Metrics()).resource_version;
  const std::string now = server_->ResourceVersion();
  ASSERT_NE(pods_rv, now);
  const size_t events = observer_.log.size();
  server_->SendBookmark();
  ASSERT_TRUE(RunUntil(io_, [&] { return Pods(source_->Metrics()).resource_version == now; }));
  EXPECT_EQ(observer_.log.size(), events);  // a bookmark changes nothing else
  EXPECT_GE(Pods(source_->Metrics()).bookmarks, 1u);
  // The next watch resumes from the bookmark's RV.
  server_->DropConnections();
  ASSERT_TRUE(RunUntil(io_, [&] {
    return server_->Requests(kPods, true).size() == 2 &&
           server_->OpenWatches() == static_cast<int>(kube::kResourceCount);
  }));
  auto watches = server_->Requests(kPods, true);
  EXPECT_EQ(watches[1].param("resourceVersion"), now);
  EXPECT_EQ(observer_.log.size(), events);
  EXPECT_EQ(Pods(source_->Metrics()).relists, 0u);
}

TEST_F(KubeSourceTest, PeriodicBookmarksFromTheServer) {
  // A server that sends bookmarks by itself (as real ones do about every minute).
  testing::FakeApiServerOptions o;
  o.certs = certs_.get();
  o.tokens = {{"secret", "alice"}};
  o.bookmark_interval = 30ms;
  auto server = testing::FakeApiServer::Start(o);
  ASSERT_TRUE(server.ok());
  server_ = std::move(*server);
  config_.server = server_->url();
  StartSource();
  ASSERT_TRUE(RunUntil(io_, [&] { return Pods(source_->Metrics()).bookmarks >= 3; }));
  EXPECT_TRUE(observer_.log.empty());
}

TEST_F(KubeSourceTest, NormalWatchEndRewatchesAtOnceFromTheLastRv) {
  Seed();
  auto options = testing_util::FastOptions();
  options.reflector.min_watch_timeout = 1s;
  options.reflector.max_watch_timeout = 1s;
  options.reflector.very_short_watch = 100ms;
  StartSource(options);
  WaitForWatches();
  std::string rv = server_->Apply(Pod("shop", "late", "10.0.2.1"));
  ASSERT_TRUE(RunUntil(
      io_, [&] { return server_->Requests(kPods, true).size() >= 2; }, 3s));
  auto watches = server_->Requests(kPods, true);
  EXPECT_EQ(watches[0].param("timeoutSeconds"), "1");
  EXPECT_EQ(watches[1].param("resourceVersion"), rv);
  ASSERT_TRUE(Converge());
  auto m = Pods(source_->Metrics());
  EXPECT_EQ(m.reconnects, 0u);  // a normal end is no failure: no backoff
  EXPECT_EQ(m.lists, 1u);       // and no relist
  EXPECT_EQ(observer_.noop_events, 0);
}

// While the client is cut off, objects change and the history is compacted; its re-watch is
// refused with 410 and the relist must report exactly what changed.
class GoneTest : public KubeSourceTest, public ::testing::WithParamInterface<testing::GoneMode> {};

TEST_P(GoneTest, RelistReportsExactlyWhatChangedWhileDisconnected) {
  Seed();
  StartSource();
  WaitForWatches();
  server_->SetGoneMode(GetParam());
  const std::string before = server_->ResourceVersion();
  const size_t requests_before = server_->Requests(kPods).size();
  server_->DropConnections();  // the client does not run until the changes are made
  server_->Delete("Pod", "shop", "web-1");
  std::string rv_web2 = server_->Apply(Pod("shop", "web-2", "10.9.9.9"));
  std::string rv_web9 = server_->Apply(Pod("shop", "web-9", "10.0.0.9"));
  server_->Apply(Pod("shop", "tmp", "10.0.0.10"));
  server_->Delete("Pod", "shop", "tmp");  // created and deleted meanwhile: never seen
  server_->Delete("Namespace", "", "db");
  std::string rv_deny = server_->Apply(Policy("shop", "deny", 443));
  server_->ExpireHistory(false);
  const size_t from = observer_.log.size();
  ASSERT_TRUE(Converge());
  EXPECT_EQ(Events(from, "Pod"),
            (std::vector<std::string>{"-Pod shop/web-1@" + rv_["web-1"], "+Pod shop/web-2@" + rv_web2,
                                      "+Pod shop/web-9@" + rv_web9}));
  EXPECT_EQ(Events(from, "Namespace"), (std::vector<std::string>{"-Namespace db@" + rv_["ns/db"]}));
  EXPECT_EQ(Events(from, "NetworkPolicy"), (std::vector<std::string>{"+NetworkPolicy shop/deny@" + rv_deny}));
  EXPECT_EQ(observer_.noop_events, 0);
  // The protocol: the re-watch at the old RV was refused, the relist asked for data not
  // older than it, the new watch started at the relist's RV.
  auto all = server_->Requests(kPods);
  std::vector<testing::FakeRequest> pods(all.begin() + static_cast<std::ptrdiff_t>(requests_before), all.end());
  ASSERT_EQ(pods.size(), 4u);  // refused watch, relist in two pages, new watch
  EXPECT_TRUE(pods[0].watch);
  EXPECT_EQ(pods[0].param("resourceVersion"), before);
  EXPECT_EQ(pods[0].status, GetParam() == testing::GoneMode::kHttpStatus ? 410 : 200);
  EXPECT_FALSE(pods[1].watch);
  EXPECT_EQ(pods[1].param("resourceVersion"), before);
  EXPECT_EQ(pods[1].param("resourceVersionMatch"), "NotOlderThan");
  EXPECT_FALSE(pods[2].watch);
  EXPECT_NE(pods[2].param("continue"), "");
  EXPECT_TRUE(pods[3].watch);
  EXPECT_EQ(pods[3].param("resourceVersion"), server_->ResourceVersion());
  auto m = Pods(source_->Metrics());
  EXPECT_EQ(m.gone, 1u);
  EXPECT_EQ(m.relists, 1u);
  EXPECT_EQ(m.deletes_delivered, 1u);
}

INSTANTIATE_TEST_SUITE_P(Modes, GoneTest,
                         ::testing::Values(testing::GoneMode::kHttpStatus, testing::GoneMode::kInStreamError),
                         [](const ::testing::TestParamInfo<testing::GoneMode>& p) {
                           return p.param == testing::GoneMode::kHttpStatus ? "HttpStatus" : "InStreamError";
                         });

TEST_F(KubeSourceTest, GoneOnAnOpenWatchAfterPendingEventsDuplicatesNothing) {
  Seed();
  StartSource();
  WaitForWatches();
  const size_t from = observer_.log.size();
  std::string a = server_->Apply(Pod("shop", "a", "10.0.3.1"));
  server_->Delete("Pod", "shop", "web-4");
  server_->ExpireHistory(true);  // ERROR 410 on every open watch, after the two events
  ASSERT_TRUE(Converge());
  EXPECT_EQ(Events(from, "Pod"), (std::vector<std::string>{"+Pod shop/a@" + a, "-Pod shop/web-4@" + rv_["web-4"]}));
  EXPECT_EQ(observer_.noop_events, 0);
  auto m = Pods(source_->Metrics());
  EXPECT_EQ(m.gone, 1u);
  EXPECT_EQ(m.error_events, 1u);
  EXPECT_EQ(m.relists, 1u);
}

TEST_F(KubeSourceTest, ExpiredContinueTokenDuringARelistRestartsIt) {
  Seed();
  StartSource();
  WaitForWatches();
  server_->DropConnections();
  server_->Delete("Pod", "shop", "web-0");
  server_->ExpireHistory(false);
  server_->FailRequests(kPods, 1, 410, -1, testing::RequestKind::kContinue);
  const size_t from = observer_.log.size();
  ASSERT_TRUE(Converge());
  EXPECT_EQ(Events(from, "Pod"), (std::vector<std::string>{"-Pod shop/web-0@" + rv_["web-0"]}));
  auto m = Pods(source_->Metrics());
  EXPECT_EQ(m.list_restarts, 1u);
  EXPECT_EQ(m.relists, 1u);
  EXPECT_EQ(observer_.noop_events, 0);
}

TEST_F(KubeSourceTest, TooLargeResourceVersionOnAWatchRelistsTheMostRecentState) {
  // The server's storage went back in time (a restore): the client's RV is in its future.
  Seed();
  StartSource();
  WaitForWatches();
  const size_t n = server_->Requests(kPods).size();
  server_->FailRequests(kPods, 1, 504, -1, testing::RequestKind::kWatch);
  server_->DropConnections();
  server_->Delete("Pod", "shop", "web-2");
  const size_t from = observer_.log.size();
  ASSERT_TRUE(Converge());
  auto all = server_->Requests(kPods);
  ASSERT_GE(all.size(), n + 3);
  EXPECT_TRUE(all[n].watch);
  EXPECT_EQ(all[n].status, 504);
  EXPECT_FALSE(all[n + 1].watch);
  EXPECT_EQ(all[n + 1].query.count("resourceVersion"), 0u);  // the most recent state, not "not older than"
  EXPECT_EQ(Events(from, "Pod"), (std::vector<std::string>{"-Pod shop/web-2@" + rv_["web-2"]}));
  EXPECT_EQ(Pods(source_->Metrics()).relists, 1u);
}

TEST_F(KubeSourceTest, InvalidObjectIsRejectedAndItsLastGoodVersionStays) {
  Seed();
  StartSource();
  WaitForWatches();
  const size_t from = observer_.log.size();
  server_->Apply(Policy("shop", "allow", 80, 70));  // endPort below port
  ASSERT_TRUE(RunUntil(io_, [&] { return observer_.rejects.size() == 1; }));
  const k8s::ObjectError& e = observer_.rejects[0];
  EXPECT_EQ(e.source, "watch networkpolicies");
  EXPECT_EQ(e.kind, "NetworkPolicy");
  EXPECT_EQ(e.ns, "shop");
  EXPECT_EQ(e.name, "allow");
  ASSERT_EQ(e.errors.size(), 1u);
  EXPECT_EQ(e.errors[0].path, "spec.ingress[0].ports[0].endPort");
  EXPECT_EQ(observer_.store.policies().at("shop/allow").meta.resource_version, rv_["allow"]);
  EXPECT_EQ(observer_.log.size(), from);

  // A relist sees it invalid again: rejected again, the last good version still stays.
  server_->DropConnections();
  server_->Apply(Namespace("later"));  // the policies' last RV falls behind the compaction
  server_->ExpireHistory(false);
  ASSERT_TRUE(RunUntil(io_, [&] {
    return observer_.rejects.size() == 2 && server_->OpenWatches() == static_cast<int>(kube::kResourceCount);
  }));
  EXPECT_EQ(observer_.rejects[1].source, "list networkpolicies");
  EXPECT_EQ(observer_.rejects[1].errors[0].path, "spec.ingress[0].ports[0].endPort");
  EXPECT_EQ(observer_.store.policies().at("shop/allow").meta.resource_version, rv_["allow"]);
  EXPECT_TRUE(Events(from, "NetworkPolicy").empty());
  EXPECT_EQ(source_->Metrics().resources[2].relists, 1u);

  // Fixed: delivered. Broken again, then deleted: the delete always goes out.
  std::string fixed = server_->Apply(Policy("shop", "allow", 8080));
  server_->Apply(Policy("shop", "allow", 80, 1));
  server_->Delete("NetworkPolicy", "shop", "allow");
  ASSERT_TRUE(Converge());
  EXPECT_EQ(Events(from, "NetworkPolicy"),
            (std::vector<std::string>{"+NetworkPolicy shop/allow@" + fixed, "-NetworkPolicy shop/allow@" + fixed}));
  EXPECT_EQ(observer_.rejects.size(), 3u);
  EXPECT_EQ(source_->Metrics().resources[2].rejected, 3u);
}

TEST_F(KubeSourceTest, InvalidObjectsInTheFirstListAreRejectedOneByOne) {
  Seed();
  server_->Apply(Policy("shop", "broken", 99999));
  nlohmann::json pod = Pod("shop", "bad-ip", "not-an-ip");
  server_->Apply(pod);
  StartSource();
  ASSERT_EQ(observer_.rejects.size(), 2u);
  std::map<std::string, k8s::ObjectError> by_name;
  for (const auto& r : observer_.rejects) by_name[r.name] = r;
  EXPECT_EQ(by_name["broken"].source, "list networkpolicies");
  EXPECT_EQ(by_name["broken"].errors[0].path, "spec.ingress[0].ports[0].port");
  EXPECT_EQ(by_name["bad-ip"].source, "list pods");
  EXPECT_EQ(by_name["bad-ip"].errors[0].path, "status.podIPs[0]");
  EXPECT_EQ(observer_.events_at_sync, 8u);  // the valid ones only
  EXPECT_FALSE(observer_.store.policies().contains("shop/broken"));
  // Never valid, then deleted: nothing to tell.
  server_->Delete("Pod", "shop", "bad-ip");
  ASSERT_TRUE(Converge());
  EXPECT_EQ(observer_.log.size(), 8u);
}

TEST_F(KubeSourceTest, StopEndsDelivery) {
  Seed();
  StartSource();
  WaitForWatches();
  source_->Stop();
  server_->Apply(Pod("shop", "after-stop", "10.0.4.1"));
  RunFor(io_, 100ms);
  EXPECT_EQ(observer_.log.size(), 8u);
  EXPECT_TRUE(RunUntil(io_, [&] { return server_->OpenWatches() == 0; }));  // the streams were closed
}

TEST_F(KubeSourceTest, StartFailsOnBadConfiguration) {
  KubeConfig c = config_;
  c.ca_pem = "garbage";
  KubeSource bad_ca(io_, c);
  Status st = bad_ca.Start(&observer_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("certificate authority"), std::string::npos) << st.message();
  c = config_;
  c.server = "ftp://x";
  KubeSource bad_url(io_, c);
  EXPECT_FALSE(bad_url.Start(&observer_).ok());
}

}  // namespace
}  // namespace netfence::kube
