// SPDX-License-Identifier: Apache-2.0
// The small parts of the client: base64, server URLs, the token source, backoff, API errors
// and list queries.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "controlplane/kube/api_error.h"
#include "controlplane/kube/backoff.h"
#include "controlplane/kube/base64.h"
#include "controlplane/kube/pager.h"
#include "controlplane/kube/server_url.h"
#include "controlplane/kube/token_source.h"
#include "tests/testing/test_certs.h"

namespace netfence::kube {
namespace {

using namespace std::chrono_literals;

TEST(Base64Test, RoundTripsAndRejectsGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = DecodeBase64(EncodeBase64(s));
    ASSERT_TRUE(back.has_value()) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(EncodeBase64("hello"), "aGVsbG8=");
  EXPECT_EQ(*DecodeBase64("aGVs\nbG8="), "hello");  // wrapped lines
  EXPECT_EQ(*DecodeBase64("aGVsbG8"), "hello");     // padding optional
  EXPECT_FALSE(DecodeBase64("aGVs*G8=").has_value());
  EXPECT_FALSE(DecodeBase64("a").has_value());
  EXPECT_FALSE(DecodeBase64("aGVsbG8=x").has_value());
  EXPECT_FALSE(DecodeBase64("=abc").has_value());
}

TEST(ServerUrlTest, ParsesSchemesHostsPortsAndPrefixes) {
  auto a = ParseServerUrl("https://10.0.0.1:6443");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "10.0.0.1");
  EXPECT_EQ(a->port, 6443);
  EXPECT_TRUE(a->host_is_ip);
  auto b = ParseServerUrl("http://localhost/k8s/clusters/c-1/");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->port, 80);
  EXPECT_EQ(b->prefix, "/k8s/clusters/c-1");
  EXPECT_FALSE(b->host_is_ip);
  auto c = ParseServerUrl("https://[fd00::1]");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "fd00::1");
  EXPECT_EQ(c->port, 443);
  EXPECT_EQ(c->authority(), "[fd00::1]:443");
  EXPECT_EQ(c->str(), "https://[fd00::1]:443");
  auto d = ParseServerUrl("api.example:8443");  // no scheme: https, as client-go
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->tls);
  EXPECT_EQ(d->port, 8443);
  EXPECT_EQ(ParseServerUrl("ftp://h").status().message(), "server URL \"ftp://h\": scheme must be https or http");
  EXPECT_FALSE(ParseServerUrl("https://h:0").ok());
  EXPECT_FALSE(ParseServerUrl("https://h:99999").ok());
  EXPECT_FALSE(ParseServerUrl("https://fd00::1:443").ok());
  EXPECT_FALSE(ParseServerUrl("https://").ok());
}

TEST(TokenSourceTest, StaticTokenAndFileReloads) {
  EXPECT_EQ(TokenSource("static", "").Token(), "static");
  testing::TempDir dir;
  const std::string file = dir.file("token");
  ASSERT_TRUE(testing::WriteTextFile(file, "one\n"));
  TokenSource t("initial", file, 50ms);
  EXPECT_EQ(t.Token(), "one");  // the file wins over the static token once read
  ASSERT_TRUE(testing::WriteTextFile(file, "two"));
  EXPECT_EQ(t.Token(), "one");  // cached within the period
  t.Invalidate();               // a 401
  EXPECT_EQ(t.Token(), "two");
  ASSERT_TRUE(testing::WriteTextFile(file, "three"));
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(t.Token(), "three");  // the period passed
  std::filesystem::remove(file);
  t.Invalidate();
  EXPECT_EQ(t.Token(), "three");  // a failed re-read keeps the last token
  EXPECT_EQ(t.reads(), 3);
}

TEST(BackoffTest, ExactStepsDoubleUpToTheCapAndResetAfterHealth) {
  BackoffPolicy p;
  p.initial = 800ms;
  p.cap = 30s;
  p.full_jitter = false;
  Backoff b(p, 1);
  auto t = Backoff::Clock::time_point{} + 1h;
  std::vector<int64_t> got;
  for (int i = 0; i < 8; ++i) got.push_back(b.Next(t += 1s).count());
  EXPECT_EQ(got, (std::vector<int64_t>{800, 1600, 3200, 6400, 12800, 25600, 30000, 30000}));
  EXPECT_EQ(b.Next(t += 119s).count(), 30000);  // not yet two minutes of health
  EXPECT_EQ(b.Next(t += 120s).count(), 800);    // two minutes without failure: start over
  EXPECT_EQ(b.Next(t += 1s).count(), 1600);
}

TEST(BackoffTest, FullJitterStaysWithinTheStepAndIsSeeded) {
  BackoffPolicy p;
  Backoff a(p, 7), b(p, 7);
  auto t = Backoff::Clock::time_point{} + 1h;
  int64_t step = 800;
  bool varied = false;
  int64_t first = -1;
  for (int i = 0; i < 10; ++i) {
    t += 1s;
    int64_t wa = a.Next(t).count();
    EXPECT_EQ(wa, b.Next(t).count());  // same seed, same waits
    EXPECT_GE(wa, 0);
    EXPECT_LE(wa, step);
    if (first >= 0 && wa != first) varied = true;
    if (first < 0) first = wa;
    step = std::min<int64_t>(step * 2, 30000);
  }
  EXPECT_TRUE(varied);
}

TEST(ApiErrorTest, ReadsStatusObjectsAndRetryAfter) {
  auto e = ErrorFromResponse(
      410,
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","message":"too old","code":410})", "",
      "GET x");
  EXPECT_TRUE(e.gone());
  EXPECT_EQ(e.reason, "Expired");
  EXPECT_EQ(e.message, "GET x: HTTP 410 Expired: too old");
  auto t = ErrorFromResponse(429, R"({"kind":"Status","reason":"TooManyRequests","details":{"retryAfterSeconds":3}})",
                             "2", "GET y");
  EXPECT_TRUE(t.throttled());
  ASSERT_TRUE(t.retry_after.has_value());
  EXPECT_EQ(*t.retry_after, 2s);  // the header wins
  auto big = ErrorFromResponse(
      504, R"({"kind":"Status","reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge"}]}})", "",
      "GET z");
  EXPECT_TRUE(big.resource_version_too_large);
  auto html = ErrorFromResponse(502, "<html>bad gateway</html>", "", "GET w");
  EXPECT_TRUE(html.server_error());
  EXPECT_EQ(html.message, "GET w: HTTP 502: <html>bad gateway</html>");
  auto ev = ErrorFromStatus(nlohmann::json::parse(R"({"kind":"Status","code":410,"reason":"Gone"})"), "watch pods");
  EXPECT_TRUE(ev.gone());
  EXPECT_EQ(ev.http_status, 410);
  EXPECT_FALSE(ParseRetryAfter("soon").has_value());
}

TEST(ListQueryTest, ContinuePagesCarryNoResourceVersion) {
  EXPECT_EQ(ListQuery(500, "", ""), "?limit=500");
  EXPECT_EQ(ListQuery(500, "77", ""), "?limit=500&resourceVersion=77&resourceVersionMatch=NotOlderThan");
  EXPECT_EQ(ListQuery(500, "77", "a+b/c="), "?limit=500&continue=a%2Bb%2Fc%3D");
  EXPECT_EQ(ListQuery(0, "", ""), "");
}

}  // namespace
}  // namespace netfence::kube
