// SPDX-License-Identifier: Apache-2.0
// netfence-controller as a process, across loopback with mTLS: an agent with a certificate
// of the cluster CA whose common name is its node gets its tables; an agent claiming another
// node's name, one with a certificate of another CA, and one without TLS get nothing;
// `netfencectl status` and /metrics show what was realised.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "common/grpc/tls_credentials.h"
#include "tests/e2e/process.h"
#include "tests/testing/sim_agent.h"
#include "tests/testing/test_certs.h"

namespace netfence::controller {
namespace {

const char* kCluster = R"(apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.3.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: shop, labels: {app: db}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 10.3.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
)";

// The first match of `re` in the daemon's log (group 1), waiting up to 10 s.
std::string WaitForLog(const e2e::Daemon& d, const std::string& re) {
  const std::regex pattern(re);
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in(d.log_path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::smatch m;
    if (std::regex_search(text, m, pattern)) return m.size() > 1 ? m[1].str() : m[0].str();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

class ControllerProcessTest : public ::testing::Test {
 protected:
  bool RunUntil(const std::function<bool()>& done) { return testing::RunUntil(io_, done); }
  std::unique_ptr<testing::SimAgent> Agent(const std::string& node, std::shared_ptr<grpc::ChannelCredentials> creds) {
    agent::ControllerClientOptions o;
    o.target = "127.0.0.1:" + port_;
    o.node = node;
    o.credentials = std::move(creds);
    o.backoff_min = std::chrono::milliseconds(50);
    o.backoff_max = std::chrono::milliseconds(200);
    return std::make_unique<testing::SimAgent>(io_, o);
  }
  std::shared_ptr<grpc::ChannelCredentials> Creds(const std::string& cn, const testing::TestCerts& ca) {
    auto issued = testing::IssueClientCert(ca, cn);
    EXPECT_TRUE(issued.ok());
    const std::string cert = dir_.file(cn + "-" + std::to_string(++n_) + ".crt");
    const std::string key = dir_.file(cn + "-" + std::to_string(n_) + ".key");
    testing::WriteTextFile(cert, issued->cert_pem);
    testing::WriteTextFile(key, issued->key_pem);
    auto creds = tls::ClientCredentials({cert, key, certs_.ca_cert_file}, false);
    EXPECT_TRUE(creds.ok()) << creds.status().message();
    return *creds;
  }

  testing::TempDir dir_;
  testing::TestCerts certs_;
  std::string port_;
  int n_ = 0;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
};

TEST_F(ControllerProcessTest, MtlsAdmitsNodesByTheirCertificateOnly) {
  auto certs = testing::MakeTestCerts(dir_.path());
  ASSERT_TRUE(certs.ok()) << certs.status().message();
  certs_ = *certs;
  ::mkdir(dir_.file("cluster").c_str(), 0755);
  ASSERT_TRUE(testing::WriteTextFile(dir_.file("cluster/cluster.yaml"), kCluster));
  auto daemon =
      e2e::Daemon::Start({NETFENCE_BIN_DIR "/netfence-controller", "--manifests", dir_.file("cluster"), "--listen",
                          "127.0.0.1:0", "--tls-cert", certs_.server_cert_file, "--tls-key", certs_.server_key_file,
                          "--tls-ca", certs_.ca_cert_file, "--metrics-address", "127.0.0.1:0"},
                         dir_.file("controller.log"));
  ASSERT_TRUE(daemon.ok()) << daemon.status().message();
  port_ = WaitForLog(*daemon, R"(serving agents on 127\.0\.0\.1:(\d+))");
  ASSERT_FALSE(port_.empty()) << daemon->LogTail();
  const std::string metrics_port = WaitForLog(*daemon, R"(metrics on port (\d+))");

  // The right certificate: tables for n1.
  auto n1 = Agent("n1", Creds("n1", certs_));
  n1->Start();
  ASSERT_TRUE(RunUntil([&] { return n1->generation() != 0; })) << daemon->LogTail();
  EXPECT_EQ(n1->set().endpoints.size(), 1u);
  EXPECT_EQ(n1->set().ipcache.size(), 2u);

  // A certificate of n1 used to ask for n2's view: refused.
  auto liar = Agent("n2", Creds("n1", certs_));
  liar->Start();
  EXPECT_NE(WaitForLog(*daemon, "refused an agent saying it is node n2"), "");
  // A certificate of another CA, and no TLS at all: no connection.
  testing::TempDir other_dir;
  auto other = testing::MakeTestCerts(other_dir.path());
  ASSERT_TRUE(other.ok());
  auto stranger = Agent("n2", Creds("n2", *other));
  stranger->Start();
  auto plain = Agent("n2", grpc::InsecureChannelCredentials());
  plain->Start();
  io_.run_for(std::chrono::milliseconds(600));
  EXPECT_EQ(liar->updates(), 0u);
  EXPECT_EQ(stranger->updates(), 0u);
  EXPECT_FALSE(stranger->connected());
  EXPECT_EQ(plain->updates(), 0u);
  EXPECT_FALSE(plain->connected());

  // netfencectl status (a separate process with an admin certificate) shows n1 realised.
  auto admin = testing::IssueClientCert(certs_, "admin");
  ASSERT_TRUE(admin.ok());
  testing::WriteTextFile(dir_.file("admin.crt"), admin->cert_pem);
  testing::WriteTextFile(dir_.file("admin.key"), admin->key_pem);
  ASSERT_TRUE(RunUntil([&] { return n1->updates() >= 1; }));
  nlohmann::json st;
  for (int i = 0; i < 50; ++i) {  // until the ack has reached the controller
    io_.run_for(std::chrono::milliseconds(20));
    auto r = e2e::RunProcess(
        {NETFENCE_BIN_DIR "/netfencectl", "status", "--controller", "127.0.0.1:" + port_, "--tls-cert",
         dir_.file("admin.crt"), "--tls-key", dir_.file("admin.key"), "--tls-ca", certs_.ca_cert_file, "-o", "json"},
        {}, "");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->exit_code, 0) << r->err;
    st = nlohmann::json::parse(r->out);
    bool acked = false;
    for (const auto& n : st["nodes"]) acked |= n["node"] == "n1" && n["acked_generation"] == st["generation"];
    if (acked) break;
  }
  ASSERT_TRUE(st["synced"].get<bool>());
  bool n1_ok = false, n2_disconnected = false;
  for (const auto& n : st["nodes"]) {
    if (n["node"] == "n1") n1_ok = n["connected"].get<bool>() && n["acked_generation"] == st["generation"];
    if (n["node"] == "n2") n2_disconnected = !n["connected"].get<bool>() && n["acked_generation"] == 0;
  }
  EXPECT_TRUE(n1_ok) << st.dump(2);
  EXPECT_TRUE(n2_disconnected) << st.dump(2);
  ASSERT_EQ(st["policies"].size(), 1u);
  EXPECT_EQ(st["policies"][0]["nodes_needed"], 1);    // db-1 runs on n2
  EXPECT_EQ(st["policies"][0]["nodes_realised"], 0);  // and n2 has no agent

  const std::string metrics = HttpGet(std::stoi(metrics_port), "/metrics");
  EXPECT_NE(metrics.find("netfence_controller_agents_connected 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("netfence_controller_source_synced 1\n"), std::string::npos);
  EXPECT_NE(HttpGet(std::stoi(metrics_port), "/readyz").find("200 OK"), std::string::npos);
  n1.reset();
  liar.reset();
  stranger.reset();
  plain.reset();
  EXPECT_EQ(daemon->Stop(SIGTERM), 0) << daemon->LogTail();
}

}  // namespace
}  // namespace netfence::controller
