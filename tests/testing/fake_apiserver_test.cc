// SPDX-License-Identifier: Apache-2.0
// The fake API server itself: its store's list/watch rules, and the wire format seen with a
// raw socket (chunked watch streams, one event per chunk, Status bodies, auth).
#include "tests/testing/fake_apiserver.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <functional>
#include <thread>

#include "tests/testing/fake_apiserver_store.h"

namespace netfence::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json Pod(const std::string& ns, const std::string& name) {
  return {{"kind", "Pod"}, {"apiVersion", "v1"}, {"metadata", {{"name", name}, {"namespace", ns}}}};
}

const FakeResource& Pods() { return *FakeResourceByKind("Pod"); }

TEST(FakeStoreTest, StampsResourceVersionsAndKeepsUidAcrossUpdates) {
  FakeStore s;
  auto a = s.Upsert(Pod("shop", "a"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->event["type"], "ADDED");
  auto b = s.Upsert(Pod("shop", "a"));
  EXPECT_EQ(b->event["type"], "MODIFIED");
  EXPECT_EQ(b->rv, a->rv + 1);
  EXPECT_EQ(b->event["object"]["metadata"]["uid"], a->event["object"]["metadata"]["uid"]);
  auto d = s.Delete("Pod", "shop", "a");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->event["type"], "DELETED");
  EXPECT_EQ(d->event["object"]["metadata"]["resourceVersion"], std::to_string(d->rv));
  EXPECT_FALSE(s.Delete("Pod", "shop", "a").has_value());
  EXPECT_FALSE(s.Upsert({{"kind", "Secret"}, {"metadata", {{"name", "x"}}}}).has_value());
  EXPECT_TRUE(s.Objects("Pod").empty());
}

TEST(FakeStoreTest, ListsInPagesAtTheFirstPagesVersion) {
  FakeStore s;
  for (const char* n : {"c", "a", "b", "d"}) s.Upsert(Pod("ns", n));
  const int64_t rv = s.resource_version();
  FakeAnswer p1 = s.List(Pods(), {{"limit", "3"}});
  ASSERT_EQ(p1.status, 200);
  EXPECT_EQ(p1.body["kind"], "PodList");
  EXPECT_EQ(p1.body["metadata"]["resourceVersion"], std::to_string(rv));
  EXPECT_EQ(p1.body["metadata"]["remainingItemCount"], 1);
  ASSERT_EQ(p1.body["items"].size(), 3u);
  EXPECT_EQ(p1.body["items"][0]["metadata"]["name"], "a");
  EXPECT_FALSE(p1.body["items"][0].contains("kind"));
  s.Delete("Pod", "ns", "d");  // after the first page: not seen by this list
  s.Upsert(Pod("ns", "e"));
  FakeAnswer p2 = s.List(Pods(), {{"limit", "3"}, {"continue", p1.body["metadata"]["continue"]}});
  ASSERT_EQ(p2.status, 200);
  ASSERT_EQ(p2.body["items"].size(), 1u);
  EXPECT_EQ(p2.body["items"][0]["metadata"]["name"], "d");
  EXPECT_FALSE(p2.body["metadata"].contains("continue"));
  EXPECT_EQ(p2.body["metadata"]["resourceVersion"], std::to_string(rv));

  EXPECT_EQ(s.List(Pods(), {{"continue", p1.body["metadata"]["continue"]}, {"resourceVersion", "5"}}).status, 400);
  s.ExpireContinueTokens();
  FakeAnswer gone = s.List(Pods(), {{"limit", "3"}, {"continue", p1.body["metadata"]["continue"]}});
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(gone.body["reason"], "Expired");
}

TEST(FakeStoreTest, ResourceVersionSemanticsOfLists) {
  FakeStore s;
  s.Upsert(Pod("ns", "a"));
  const std::string old = std::to_string(s.resource_version());
  s.Upsert(Pod("ns", "b"));
  const std::string now = std::to_string(s.resource_version());
  // Exact (explicit, or implied by limit): the state at that RV.
  FakeAnswer exact = s.List(Pods(), {{"resourceVersion", old}, {"resourceVersionMatch", "Exact"}});
  EXPECT_EQ(exact.body["items"].size(), 1u);
  EXPECT_EQ(s.List(Pods(), {{"resourceVersion", old}, {"limit", "10"}}).body["items"].size(), 1u);
  // NotOlderThan: the current state.
  FakeAnswer not_older = s.List(Pods(), {{"resourceVersion", old}, {"resourceVersionMatch", "NotOlderThan"}});
  EXPECT_EQ(not_older.body["items"].size(), 2u);
  EXPECT_EQ(not_older.body["metadata"]["resourceVersion"], now);
  // Too large, compacted.
  FakeAnswer large = s.List(Pods(), {{"resourceVersion", "99999"}, {"resourceVersionMatch", "NotOlderThan"}});
  EXPECT_EQ(large.status, 504);
  EXPECT_EQ(large.body["details"]["causes"][0]["reason"], "ResourceVersionTooLarge");
  s.Compact();
  EXPECT_EQ(s.List(Pods(), {{"resourceVersion", old}, {"resourceVersionMatch", "Exact"}}).status, 410);
  EXPECT_EQ(s.List(Pods(), {{"resourceVersion", old}, {"resourceVersionMatch", "NotOlderThan"}}).status, 200);
  EXPECT_EQ(s.List(Pods(), {{"resourceVersionMatch", "NotOlderThan"}}).status, 400);
}

TEST(FakeStoreTest, WatchStartsAtAnExactVersion) {
  FakeStore s;
  s.Upsert(Pod("ns", "a"));
  const std::string from = std::to_string(s.resource_version());
  s.Upsert({{"kind", "Namespace"}, {"metadata", {{"name", "other-kind"}}}});
  s.Upsert(Pod("ns", "b"));
  s.Delete("Pod", "ns", "a");
  FakeWatchStart w = s.StartWatch(Pods(), from);
  ASSERT_FALSE(w.gone);
  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0]["type"], "ADDED");
  EXPECT_EQ(w.events[0]["object"]["metadata"]["name"], "b");
  EXPECT_EQ(w.events[1]["type"], "DELETED");
  FakeWatchStart all = s.StartWatch(Pods(), "");
  ASSERT_EQ(all.events.size(), 1u);  // synthetic ADDED for what exists now
  EXPECT_EQ(all.events[0]["object"]["metadata"]["name"], "b");
  s.Compact();
  EXPECT_TRUE(s.StartWatch(Pods(), from).gone);
  EXPECT_FALSE(s.StartWatch(Pods(), std::to_string(s.resource_version())).gone);
}

// A raw HTTP/1.1 client: sends one GET and reads until the server closes (or `until` shows up).
std::string RawGet(uint16_t port, const std::string& target, const std::string& until = "",
                   const std::function<void()>& after_head = nullptr) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket sock(io);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n";
  boost::asio::write(sock, boost::asio::buffer(req));
  std::string out;
  char buf[4096];
  bool called = false;
  for (;;) {
    boost::system::error_code ec;
    size_t n = sock.read_some(boost::asio::buffer(buf), ec);
    out.append(buf, n);
    if (!called && after_head && out.find("\r\n\r\n") != std::string::npos) {
      called = true;
      after_head();
    }
    if (ec || (!until.empty() && out.find(until) != std::string::npos)) break;
  }
  return out;
}

class FakeWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeApiServerOptions o;
    o.tokens = {{"t", "tester"}};
    auto s = FakeApiServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
  }
  std::unique_ptr<FakeApiServer> server_;
};

TEST_F(FakeWireTest, WatchIsChunkedOneEventPerChunk) {
  server_->Apply(Pod("ns", "a"));
  const std::string rv = server_->ResourceVersion();
  std::string out =
      RawGet(server_->port(), "/api/v1/pods?watch=1&resourceVersion=" + rv + "&timeoutSeconds=1", "0\r\n\r\n", [&] {
        server_->Apply(Pod("ns", "b"));
        server_->Delete("Pod", "ns", "a");
      });
  ASSERT_NE(out.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << out;
  ASSERT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << out;
  std::string body = out.substr(out.find("\r\n\r\n") + 4);
  std::vector<json> events;
  while (!body.empty()) {
    size_t eol = body.find("\r\n");
    ASSERT_NE(eol, std::string::npos);
    size_t size = std::stoul(body.substr(0, eol), nullptr, 16);
    if (size == 0) break;
    std::string chunk = body.substr(eol + 2, size);
    ASSERT_EQ(chunk.back(), '\n');
    ASSERT_EQ(chunk.find('\n'), chunk.size() - 1) << "one event per chunk";
    events.push_back(json::parse(chunk));
    body = body.substr(eol + 2 + size + 2);
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[0]["object"]["metadata"]["name"], "b");
  EXPECT_EQ(events[1]["type"], "DELETED");
  EXPECT_EQ(events[1]["object"]["kind"], "Pod");
}

TEST_F(FakeWireTest, ExpiredHistoryGivesAnInStreamErrorOrHttp410) {
  server_->Apply(Pod("ns", "a"));
  const std::string rv = server_->ResourceVersion();
  server_->Apply(Pod("ns", "b"));
  server_->ExpireHistory();
  server_->SetGoneMode(GoneMode::kInStreamError);
  std::string in_stream = RawGet(server_->port(), "/api/v1/pods?watch=1&resourceVersion=" + rv, "0\r\n\r\n");
  EXPECT_NE(in_stream.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(in_stream.find(R"({"object":{"apiVersion":"v1","code":410,"kind":"Status")"), std::string::npos)
      << in_stream;
  EXPECT_NE(in_stream.find(R"("reason":"Expired")"), std::string::npos);
  server_->SetGoneMode(GoneMode::kHttpStatus);
  std::string http = RawGet(server_->port(), "/api/v1/pods?watch=true&resourceVersion=" + rv);
  EXPECT_NE(http.find("HTTP/1.1 410 Gone"), std::string::npos) << http;
  auto log = server_->Requests("/api/v1/pods", true);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].status, 200);
  EXPECT_EQ(log[1].status, 410);
  EXPECT_EQ(log[1].user, "tester");
}

TEST_F(FakeWireTest, OpenWatchesGetErrorEventsAndBookmarks) {
  std::string out = RawGet(
      server_->port(), "/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=" + server_->ResourceVersion(),
      "0\r\n\r\n", [&] {
        ASSERT_TRUE(server_->WaitForWatches(1, 2s, "/api/v1/pods"));
        EXPECT_FALSE(server_->WaitForWatches(2, 10ms));
        server_->SendBookmark();
        server_->ExpireHistory(true);
      });
  size_t bm = out.find(R"("type":"BOOKMARK")");
  size_t err = out.find(R"("type":"ERROR")");
  ASSERT_NE(bm, std::string::npos) << out;
  ASSERT_NE(err, std::string::npos) << out;
  EXPECT_LT(bm, err);
  EXPECT_EQ(server_->OpenWatches(), 0);
}

TEST_F(FakeWireTest, AuthFailuresAndInjectedErrorsAreStatusObjects) {
  boost::asio::io_context io;
  auto get = [&](const std::string& auth, const std::string& target) {
    boost::asio::ip::tcp::socket sock(io);
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), server_->port()});
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth + "\r\n";
    boost::asio::write(sock, boost::asio::buffer(req));
    std::string out;
    boost::system::error_code ec;
    boost::asio::read(sock, boost::asio::dynamic_buffer(out), ec);
    return out;
  };
  EXPECT_NE(get("", "/api/v1/pods").find("HTTP/1.1 401 Unauthorized"), std::string::npos);
  EXPECT_NE(get("Authorization: Bearer nope\r\n", "/api/v1/pods").find("401"), std::string::npos);
  server_->SetForbiddenUsers({"tester"});
  std::string forbidden = get("Authorization: Bearer t\r\n", "/api/v1/pods");
  EXPECT_NE(forbidden.find("HTTP/1.1 403 Forbidden"), std::string::npos);
  EXPECT_NE(forbidden.find(R"("reason":"Forbidden")"), std::string::npos);
  server_->SetForbiddenUsers({});
  server_->FailRequests("/api/v1/pods", 1, 429, 7);
  std::string throttled = get("Authorization: Bearer t\r\n", "/api/v1/pods");
  EXPECT_NE(throttled.find("HTTP/1.1 429 Too Many Requests"), std::string::npos);
  EXPECT_NE(throttled.find("Retry-After: 7\r\n"), std::string::npos);
  EXPECT_NE(get("Authorization: Bearer t\r\n", "/api/v1/pods").find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(get("Authorization: Bearer t\r\n", "/api/v1/secrets").find("HTTP/1.1 404"), std::string::npos);
}

TEST(FakeKubeconfigTest, WritesAKubeconfigForTokenOrClientCertificate) {
  TempDir dir;
  auto certs = MakeTestCerts(dir.path());
  ASSERT_TRUE(certs.ok());
  FakeApiServerOptions o;
  o.certs = &*certs;
  auto s = FakeApiServer::Start(o);
  ASSERT_TRUE(s.ok());
  KubeconfigCredentials token;
  token.token = "abc";
  ASSERT_TRUE((*s)->WriteKubeconfig(dir.file("kc"), token).ok());
  std::ifstream in(dir.file("kc"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("server: " + (*s)->url()), std::string::npos);
  EXPECT_NE(text.find("certificate-authority-data: "), std::string::npos);
  EXPECT_NE(text.find("token: \"abc\""), std::string::npos);
  KubeconfigCredentials cert;
  cert.client_cert = true;
  cert.cert_files = true;
  ASSERT_TRUE((*s)->WriteKubeconfig(dir.file("kc2"), cert).ok());
  std::ifstream in2(dir.file("kc2"));
  std::string text2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  EXPECT_NE(text2.find("client-certificate: " + certs->client_cert_file), std::string::npos);
  EXPECT_NE(text2.find("certificate-authority: " + certs->ca_cert_file), std::string::npos);
}

}  // namespace
}  // namespace netfence::testing
