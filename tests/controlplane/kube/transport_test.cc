// SPDX-License-Identifier: Apache-2.0
// The client's transport against the fake API server: TLS verification (CA, host name,
// insecure), client certificates, bearer tokens (401/403, rotation), plain HTTP.
#include <gtest/gtest.h>

#include "controlplane/kube/kube_config.h"
#include "tests/controlplane/kube/kube_test_util.h"

namespace netfence::kube {
namespace {

using namespace std::chrono_literals;
using testing_util::KubeFixture;
using testing_util::SyncGet;

using TransportTest = KubeFixture;

TEST_F(TransportTest, AcceptsTheServerWithTheRightCa) {
  auto r = SyncGet(config_, "/api/v1/namespaces");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  auto list = nlohmann::json::parse(r->body);
  EXPECT_EQ(list["kind"], "NamespaceList");
  auto reqs = server_->Requests("/api/v1/namespaces");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].user, "alice");
}

TEST_F(TransportTest, RefusesAServerWhoseCertificateComesFromAnotherCa) {
  testing::TempDir other_dir;
  auto other = testing::MakeTestCerts(other_dir.path());
  ASSERT_TRUE(other.ok());
  KubeConfig c = config_;
  c.ca_pem = other->ca_cert_pem;
  auto r = SyncGet(c, "/api/v1/namespaces");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("TLS handshake with 127.0.0.1:" + std::to_string(server_->port())),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos) << r.status().message();
  EXPECT_TRUE(server_->Requests().empty());  // no request went out
}

TEST_F(TransportTest, VerifiesTheHostName) {
  KubeConfig by_name = config_;
  by_name.server = "https://localhost:" + std::to_string(server_->port());  // DNS SAN localhost
  auto ok = SyncGet(by_name, "/api/v1/pods");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->status, 200);

  KubeConfig wrong = config_;
  wrong.tls_server_name = "api.example.com";  // not in the certificate
  auto bad = SyncGet(wrong, "/api/v1/pods");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("hostname mismatch"), std::string::npos) << bad.status().message();

  KubeConfig named = config_;
  named.tls_server_name = "localhost";  // connect by IP, verify the name
  EXPECT_TRUE(SyncGet(named, "/api/v1/pods").ok());
}

TEST_F(TransportTest, InsecureSkipTlsVerifyAcceptsAnyCertificate) {
  KubeConfig c = config_;
  c.ca_pem.clear();
  c.insecure_skip_tls_verify = true;
  auto r = SyncGet(c, "/api/v1/pods");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);

  KubeConfig strict = config_;
  strict.ca_pem.clear();  // the system roots do not know the test CA
  EXPECT_FALSE(SyncGet(strict, "/api/v1/pods").ok());
}

TEST_F(TransportTest, ClientCertificateAuthenticatesAsItsCommonName) {
  KubeConfig c = config_;
  c.token.clear();
  c.client_cert_pem = certs_->client_cert_pem;
  c.client_key_pem = certs_->client_key_pem;
  auto r = SyncGet(c, "/api/v1/pods");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server_->Requests().back().user, "netfence-test-client");

  // A certificate from another CA does not get through the handshake.
  testing::TempDir other_dir;
  auto other = testing::MakeTestCerts(other_dir.path());
  ASSERT_TRUE(other.ok());
  c.client_cert_pem = other->client_cert_pem;
  c.client_key_pem = other->client_key_pem;
  EXPECT_FALSE(SyncGet(c, "/api/v1/pods").ok());

  // A key that does not belong to the certificate is refused before connecting.
  c.client_cert_pem = certs_->client_cert_pem;
  auto created = ApiClient::Create(c);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.status().message().find("client key does not match"), std::string::npos)
      << created.status().message();
}

TEST_F(TransportTest, WrongTokenIs401AndForbiddenUserIs403) {
  KubeConfig c = config_;
  c.token = "wrong";
  auto r = SyncGet(c, "/api/v1/pods");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  server_->SetForbiddenUsers({"alice"});
  auto f = SyncGet(config_, "/api/v1/pods");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->status, 403);
  auto e = ErrorFromResponse(f->status, f->body, "", "GET pods");
  EXPECT_EQ(e.message,
            "GET pods: HTTP 403 Forbidden: pods is forbidden: User \"alice\" cannot list resource \"pods\" at the "
            "cluster scope");
}

TEST_F(TransportTest, RotatedTokenFileIsReReadAfter401) {
  const std::string file = dir_.file("token");
  ASSERT_TRUE(testing::WriteTextFile(file, "secret\n"));
  KubeConfig c = config_;
  c.token.clear();
  c.token_file = file;
  auto client = ApiClient::Create(c);  // default reload period: one minute
  ASSERT_TRUE(client.ok());
  boost::asio::io_context io;
  std::vector<int> statuses;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        ConnectionSlot slot;
        auto get = [&]() -> boost::asio::awaitable<void> {
          auto r = co_await (*client)->GetAll("/api/v1/pods", &slot);
          statuses.push_back(r.ok() ? r->status : -1);
        };
        co_await get();
        // The token rotates: the server only knows the new one, the file has it.
        server_->SetTokens({{"rotated", "alice"}});
        testing::WriteTextFile(file, "rotated\n");
        co_await get();  // still the cached token: 401, which invalidates it
        co_await get();  // re-read: accepted
      },
      boost::asio::detached);
  io.run_for(5s);
  EXPECT_EQ(statuses, (std::vector<int>{200, 401, 200}));
  EXPECT_EQ((*client)->tokens().reads(), 2);
}

TEST_F(TransportTest, InClusterConfigTalksToTheServerAndFollowsTokenRotation) {
  ASSERT_TRUE(testing::WriteTextFile(dir_.file("token"), "secret"));
  ASSERT_TRUE(testing::WriteTextFile(dir_.file("ca.crt"), certs_->ca_cert_pem));
  testing_util::ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
  testing_util::ScopedEnv port("KUBERNETES_SERVICE_PORT", std::to_string(server_->port()));
  auto c = InClusterConfig(dir_.path());
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto first = SyncGet(*c, "/api/v1/pods");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->status, 200);
  // The service account token rotates; a client reading the file picks the new one up.
  server_->SetTokens({{"rotated", "alice"}});
  ASSERT_TRUE(testing::WriteTextFile(dir_.file("token"), "rotated"));
  auto second = SyncGet(*c, "/api/v1/pods");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(server_->Requests().back().user, "alice");
}

TEST(PlainHttpTest, ServesAndListsOverHttp) {
  testing::FakeApiServerOptions o;
  o.allow_anonymous = true;
  auto server = testing::FakeApiServer::Start(o);
  ASSERT_TRUE(server.ok());
  EXPECT_EQ((*server)->url().rfind("http://127.0.0.1:", 0), 0u);
  KubeConfig c;
  c.server = (*server)->url();
  auto r = SyncGet(c, "/apis/networking.k8s.io/v1/networkpolicies");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ((*server)->Requests().back().user, "system:anonymous");
}

TEST(ConnectTest, RefusedConnectionIsATransportError) {
  KubeConfig c;
  c.server = "http://127.0.0.1:1";
  auto r = SyncGet(c, "/api/v1/pods");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "GET http://127.0.0.1:1/api/v1/pods: connect 127.0.0.1:1: Connection refused");
}

}  // namespace
}  // namespace netfence::kube
