// SPDX-License-Identifier: Apache-2.0
// The XDP program on real interfaces: two network namespaces ("client" and "server" pods)
// joined by a veth pair, netfence attached in native mode to both ends, real TCP and UDP
// connections and SCTP associations (raw INIT/INIT-ACK: this kernel has no SCTP module)
// allowed and denied as the tables say; replies reach the client, which takes no ingress,
// only through conntrack; a policy change mid-flow cuts the revoked connections and keeps
// the allowed one. Everything is torn down by RAII, also when an assertion fails.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "dataplane/xdp/xdp_program.h"
#include "tests/dataplane/xdp/xdp_harness.h"
#include "tests/testing/netns.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/probes.h"
#include "tests/testing/require_netns.h"

namespace netfence::xdptest {
namespace {

using nettest::Netns;
using nettest::ProbeServer;
using nettest::VethPair;
using testing::PodYaml;
using testing::PolicyYaml;

constexpr const char* kClientIp = "10.98.0.2";
constexpr const char* kServerIp = "10.98.0.1";
constexpr int kDeniedMs = 400;  // how long a denied attempt is given

v1::RuleTables Tables(const std::string& server_ports, uint64_t generation) {
  testing::Cluster c(
      PodYaml("default", "client", "app: client", kClientIp) + PodYaml("default", "server", "app: server", kServerIp) +
      PolicyYaml("default", "client-in", "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Ingress]\n") +
      PolicyYaml("default", "server-in",
                 "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n"
                 "  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                 "    ports: " +
                     server_ports + "\n"));
  v1::RuleTables t = c.tables();
  t.set_generation(generation);
  return t;
}
const char* kAll80 = "[{protocol: TCP, port: 80}, {protocol: UDP, port: 80}, {protocol: SCTP, port: 80}]";
const char* kUdp80 = "[{protocol: UDP, port: 80}]";

class XdpLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETFENCE_REQUIRE_BPF();
    NETFENCE_REQUIRE_NETNS();
    auto program = xdp::XdpProgram::Load({});
    ASSERT_TRUE(program.ok()) << program.status().message();
    program_ = std::move(program).value();
    ASSERT_TRUE(program_->Program(Tables(kAll80, 1)).ok());

    auto client = Netns::Create(nettest::UniqueName("nfc"));
    ASSERT_TRUE(client.ok()) << client.status().message();
    client_ = std::move(client).value();
    auto server = Netns::Create(nettest::UniqueName("nfs"));
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
    auto veth = VethPair::Create(nettest::UniqueName("vc"), client_.get(), nettest::UniqueName("vs"), server_.get());
    ASSERT_TRUE(veth.ok()) << veth.status().message();
    veth_ = std::move(veth).value();
    ASSERT_TRUE(veth_->AddAddress(VethPair::Side::kA, std::string(kClientIp) + "/24").ok());
    ASSERT_TRUE(veth_->AddAddress(VethPair::Side::kB, std::string(kServerIp) + "/24").ok());

    // netfence on both ends: the client's packets are seen at the server end's RX and the
    // server's at the client end's, like a pod's host-side veth and a node uplink.
    for (auto [side, ns] :
         {std::pair{VethPair::Side::kA, client_.get()}, std::pair{VethPair::Side::kB, server_.get()}}) {
      auto ifindex = veth_->Ifindex(side);
      ASSERT_TRUE(ifindex.ok()) << ifindex.status().message();
      auto mode = nettest::InNetns(*ns, [&] { return program_->Attach(*ifindex, xdp::AttachMode::kNative); });
      ASSERT_TRUE(mode.ok()) << mode.status().message();
      EXPECT_EQ(*mode, xdp::AttachMode::kNative);
    }
    for (uint16_t port : {80, 81}) {
      auto s = ProbeServer::Start(*server_, kServerIp, port);
      ASSERT_TRUE(s.ok()) << s.status().message();
      servers_.push_back(std::move(s).value());
    }
    auto back = ProbeServer::Start(*client_, kClientIp, 90);
    ASSERT_TRUE(back.ok()) << back.status().message();
    servers_.push_back(std::move(back).value());
  }

  // TCP, UDP and SCTP from the client: allowed to port 80, denied to 81 (as kAll80 says).
  void ExpectClientReachesServerOn80Only() {
    EXPECT_TRUE(nettest::ProbeTcp(*client_, kServerIp, 80));
    EXPECT_TRUE(nettest::ProbeUdp(*client_, kServerIp, 80));
    EXPECT_TRUE(nettest::ProbeSctp(*client_, kServerIp, 80));
    EXPECT_FALSE(nettest::ProbeTcp(*client_, kServerIp, 81, kDeniedMs));
    EXPECT_FALSE(nettest::ProbeUdp(*client_, kServerIp, 81, kDeniedMs));
    EXPECT_FALSE(nettest::ProbeSctp(*client_, kServerIp, 81, kDeniedMs));
  }

  // Declared first: destroyed last, after the servers and namespaces.
  std::unique_ptr<xdp::XdpProgram> program_;
  std::unique_ptr<Netns> client_, server_;
  std::unique_ptr<VethPair> veth_;
  std::vector<std::unique_ptr<ProbeServer>> servers_;
};

TEST_F(XdpLiveTest, RealConnectionsAreAllowedAndDeniedAsTheTablesSay) {
  ExpectClientReachesServerOn80Only();
  // The client takes no ingress: the server cannot open anything to it.
  EXPECT_FALSE(nettest::ProbeTcp(*server_, kClientIp, 90, kDeniedMs));
  EXPECT_FALSE(nettest::ProbeUdp(*server_, kClientIp, 90, kDeniedMs));
  EXPECT_FALSE(nettest::ProbeSctp(*server_, kClientIp, 90, kDeniedMs));

  const xdp::Counters c = program_->ReadCounters();
  EXPECT_GE(c[NF_CNT_PASS_NEW], 3u);     // one per allowed connection at least
  EXPECT_GE(c[NF_CNT_PASS_CT], 3u);      // the replies (and the client's later TCP segments)
  EXPECT_GE(c[NF_CNT_PASS_NOT_IP], 1u);  // ARP
  EXPECT_GE(program_->ReadDropReasons()[NF_DROP_POLICY], 6u);
}

TEST_F(XdpLiveTest, APolicyChangeMidFlowCutsRevokedConnectionsAndKeepsAllowedOnes) {
  auto tcp = nettest::TcpSession::Open(*client_, kServerIp, 80);
  ASSERT_TRUE(tcp.ok()) << tcp.status().message();
  auto udp = nettest::UdpSession::Open(*client_, kServerIp, 80);
  ASSERT_TRUE(udp.ok()) << udp.status().message();
  auto sctp = nettest::SctpSession::Open(*client_, kServerIp, 80);
  ASSERT_TRUE(sctp.ok()) << sctp.status().message();
  EXPECT_TRUE((*tcp)->Echo());
  EXPECT_TRUE((*udp)->Echo());
  EXPECT_TRUE((*sctp)->Echo());

  const uint64_t revoked_before = program_->ReadDropReasons()[NF_DROP_REVOKED];
  ASSERT_TRUE(program_->Program(Tables(kUdp80, 2)).ok());  // TCP and SCTP on 80 revoked
  EXPECT_TRUE((*udp)->Echo());
  EXPECT_FALSE((*tcp)->Echo(kDeniedMs));
  EXPECT_FALSE((*sctp)->Echo(kDeniedMs));
  EXPECT_TRUE((*udp)->Echo());
  EXPECT_FALSE(nettest::ProbeTcp(*client_, kServerIp, 80, kDeniedMs));
  EXPECT_GE(program_->ReadDropReasons()[NF_DROP_REVOKED], revoked_before + 2);

  ASSERT_TRUE(program_->Program(Tables(kAll80, 3)).ok());  // allowed again: new connections work
  EXPECT_TRUE(nettest::ProbeTcp(*client_, kServerIp, 80));
  EXPECT_TRUE(nettest::ProbeSctp(*client_, kServerIp, 80));
  EXPECT_TRUE((*udp)->Echo());
}

TEST_F(XdpLiveTest, TcEgressAloneEnforcesTheTables) {
  // Only TC egress at the client's end: the server's XDP comes off, so every request is
  // judged as it leaves towards the server (as what a node sends to its pod would be).
  auto server_end = veth_->Ifindex(VethPair::Side::kB);
  ASSERT_TRUE(server_end.ok());
  Status detached = nettest::InNetns(*server_, [&] { return program_->Detach(*server_end); });
  ASSERT_TRUE(detached.ok()) << detached.message();
  auto client_end = veth_->Ifindex(VethPair::Side::kA);
  ASSERT_TRUE(client_end.ok());
  Status attached = nettest::InNetns(*client_, [&] { return program_->AttachTcEgress(*client_end); });
  ASSERT_TRUE(attached.ok()) << attached.message();

  const xdp::Counters before = program_->ReadCounters();
  ExpectClientReachesServerOn80Only();
  const xdp::Counters after = program_->ReadCounters();
  EXPECT_GE(after[NF_CNT_PASS_NEW] - before[NF_CNT_PASS_NEW], 3u);
  EXPECT_GE(after[NF_CNT_DROP] - before[NF_CNT_DROP], 3u);
  Status gone = nettest::InNetns(*client_, [&] { return program_->DetachTcEgress(*client_end); });
  EXPECT_TRUE(gone.ok()) << gone.message();
}

}  // namespace
}  // namespace netfence::xdptest
