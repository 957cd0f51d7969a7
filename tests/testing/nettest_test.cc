// SPDX-License-Identifier: Apache-2.0
// Real packets through the nettest helpers: a server namespace and a client namespace joined by a
// veth pair (10.99.0.0/24 and fd00:99::/64), a ProbeServer on the server side, and the TCP, UDP and
// SCTP probes and sessions from the client side. Needs root; skips otherwise (fails in CI).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/netns.h"
#include "tests/testing/probes.h"
#include "tests/testing/require_netns.h"
#include "tests/testing/sctp_packet.h"

namespace netfence::nettest {
namespace {

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    ::netfence::Status status_ = (expr);                             \
    ASSERT_TRUE(status_.ok()) << #expr << ": " << status_.message(); \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                       \
  do {                                                                        \
    auto result_ = (expr);                                                    \
    ASSERT_TRUE(result_.ok()) << #expr << ": " << result_.status().message(); \
    lhs = std::move(result_).value();                                         \
  } while (0)

constexpr uint16_t kPort = 7000;
constexpr uint16_t kClosedPort = 7001;
constexpr int kFailMs = 300;  // timeout of probes expected to fail: they always wait this long

struct Family {
  const char* name;
  const char* server;
  const char* client;
  const char* absent;  // in the subnet, but no host has it
  const char* prefix;
};
const Family kFamilies[] = {{"IPv4", "10.99.0.1", "10.99.0.2", "10.99.0.3", "/24"},
                            {"IPv6", "fd00:99::1", "fd00:99::2", "fd00:99::3", "/64"}};

// Names `ip netns list` shows (the first word of each line).
std::set<std::string> ListedNetns() {
  std::set<std::string> names;
  auto out = RunCommand({"ip", "netns", "list"});
  std::istringstream lines(out.ok() ? *out : "");
  for (std::string line; std::getline(lines, line);) names.insert(line.substr(0, line.find(' ')));
  return names;
}

TEST(SctpPacketTest, Crc32cMatchesKnownVectors) {
  const std::string digits = "123456789";
  EXPECT_EQ(Crc32c({reinterpret_cast<const uint8_t*>(digits.data()), digits.size()}), 0xE3069283u);
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xFF);
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43u);
}

TEST(SctpPacketTest, InitAckRoundTripsAndCorruptionIsRejected) {
  SctpPacket ack{.src_port = 7000,
                 .dst_port = 50000,
                 .vtag = 0x01020304,
                 .chunk = kSctpInitAck,
                 .initiate_tag = 0x0A0B0C0D,
                 .initial_tsn = 42,
                 .cookie = ResponderCookie(7)};
  std::vector<uint8_t> bytes = BuildSctp(ack);
  EXPECT_EQ(bytes.size() % 4, 0u);
  auto parsed = ParseSctp(bytes);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->src_port, 7000);
  EXPECT_EQ(parsed->dst_port, 50000);
  EXPECT_EQ(parsed->vtag, 0x01020304u);
  EXPECT_EQ(parsed->chunk, kSctpInitAck);
  EXPECT_EQ(parsed->initiate_tag, 0x0A0B0C0Du);
  EXPECT_EQ(parsed->initial_tsn, 42u);
  EXPECT_EQ(parsed->cookie, ResponderCookie(7));
  bytes[20] ^= 1;
  EXPECT_FALSE(ParseSctp(bytes).has_value());
}

TEST(NetnsTest, UniqueNamesAreShortAndDistinct) {
  std::set<std::string> names;
  for (int i = 0; i < 100; ++i) {
    std::string name = UniqueName("averylongprefix");
    EXPECT_LE(name.size(), 15u) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 100u);
}

// Two namespaces, a veth pair between them with both families' addresses, and a ProbeServer per
// family on the server side. TearDown destroys everything and checks the namespaces are gone.
class NettestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETFENCE_REQUIRE_NETNS();
    ASSERT_OK_AND_ASSIGN(server_ns_, Netns::Create(UniqueName("nfs")));
    ASSERT_OK_AND_ASSIGN(client_ns_, Netns::Create(UniqueName("nfc")));
    ASSERT_OK_AND_ASSIGN(veth_,
                         VethPair::Create(UniqueName("nfa"), server_ns_.get(), UniqueName("nfb"), client_ns_.get()));
    for (const Family& f : kFamilies) {
      ASSERT_OK(veth_->AddAddress(VethPair::Side::kA, f.server + std::string(f.prefix)));
      ASSERT_OK(veth_->AddAddress(VethPair::Side::kB, f.client + std::string(f.prefix)));
      std::unique_ptr<ProbeServer> server;
      ASSERT_OK_AND_ASSIGN(server, ProbeServer::Start(*server_ns_, f.server, kPort));
      servers_.push_back(std::move(server));
    }
  }

  void TearDown() override {
    std::vector<std::string> names;
    for (const auto* ns : {server_ns_.get(), client_ns_.get()}) {
      if (ns) names.push_back(ns->name());
    }
    servers_.clear();
    veth_.reset();
    server_ns_.reset();
    client_ns_.reset();
    const std::set<std::string> listed = ListedNetns();
    for (const auto& name : names) EXPECT_EQ(listed.count(name), 0u) << name << " still listed";
  }

  void SetServerLink(bool up) { ASSERT_OK(veth_->SetUp(VethPair::Side::kA, up)); }

  std::unique_ptr<Netns> server_ns_, client_ns_;
  std::unique_ptr<VethPair> veth_;
  std::vector<std::unique_ptr<ProbeServer>> servers_;
};

TEST_F(NettestTest, ProbesSucceedOverIpv4AndIpv6) {
  for (const Family& f : kFamilies) {
    SCOPED_TRACE(f.name);
    EXPECT_TRUE(ProbeTcp(*client_ns_, f.server, kPort));
    EXPECT_TRUE(ProbeUdp(*client_ns_, f.server, kPort));
    EXPECT_TRUE(ProbeSctp(*client_ns_, f.server, kPort));
  }
}

TEST_F(NettestTest, ProbesFailWhereNothingListens) {
  for (const Family& f : kFamilies) {
    SCOPED_TRACE(f.name);
    EXPECT_FALSE(ProbeTcp(*client_ns_, f.server, kClosedPort, kFailMs));
    EXPECT_FALSE(ProbeUdp(*client_ns_, f.server, kClosedPort, kFailMs));
    EXPECT_FALSE(ProbeSctp(*client_ns_, f.server, kClosedPort, kFailMs));
    EXPECT_FALSE(ProbeTcp(*client_ns_, f.absent, kPort, kFailMs));
    EXPECT_FALSE(ProbeUdp(*client_ns_, f.absent, kPort, kFailMs));
    EXPECT_FALSE(ProbeSctp(*client_ns_, f.absent, kPort, kFailMs));
  }
}

TEST_F(NettestTest, ProbesFailWhileLinkDownAndRecover) {
  SetServerLink(false);
  for (const Family& f : kFamilies) {
    SCOPED_TRACE(f.name);
    EXPECT_FALSE(ProbeTcp(*client_ns_, f.server, kPort, kFailMs));
    EXPECT_FALSE(ProbeUdp(*client_ns_, f.server, kPort, kFailMs));
    EXPECT_FALSE(ProbeSctp(*client_ns_, f.server, kPort, kFailMs));
  }
  SetServerLink(true);
  for (const Family& f : kFamilies) {
    SCOPED_TRACE(f.name);
    EXPECT_TRUE(ProbeTcp(*client_ns_, f.server, kPort));
    EXPECT_TRUE(ProbeUdp(*client_ns_, f.server, kPort));
    EXPECT_TRUE(ProbeSctp(*client_ns_, f.server, kPort));
  }
}

TEST_F(NettestTest, SessionsEchoAcrossALinkFlap) {
  struct Sessions {
    std::unique_ptr<TcpSession> tcp;
    std::unique_ptr<UdpSession> udp;
    std::unique_ptr<SctpSession> sctp;
  };
  std::vector<Sessions> sessions(std::size(kFamilies));
  for (size_t i = 0; i < std::size(kFamilies); ++i) {
    const Family& f = kFamilies[i];
    SCOPED_TRACE(f.name);
    ASSERT_OK_AND_ASSIGN(sessions[i].tcp, TcpSession::Open(*client_ns_, f.server, kPort));
    ASSERT_OK_AND_ASSIGN(sessions[i].udp, UdpSession::Open(*client_ns_, f.server, kPort));
    ASSERT_OK_AND_ASSIGN(sessions[i].sctp, SctpSession::Open(*client_ns_, f.server, kPort));
    EXPECT_TRUE(sessions[i].tcp->Echo());
    EXPECT_TRUE(sessions[i].udp->Echo());
    EXPECT_TRUE(sessions[i].sctp->Echo());
  }
  SetServerLink(false);
  for (size_t i = 0; i < std::size(kFamilies); ++i) {
    SCOPED_TRACE(kFamilies[i].name);
    EXPECT_FALSE(sessions[i].tcp->Echo(kFailMs));
    EXPECT_FALSE(sessions[i].udp->Echo(kFailMs));
    EXPECT_FALSE(sessions[i].sctp->Echo(kFailMs));
  }
  SetServerLink(true);
  for (size_t i = 0; i < std::size(kFamilies); ++i) {
    SCOPED_TRACE(kFamilies[i].name);
    // TCP still holds the bytes sent while the link was down and retransmits them with
    // exponential backoff (200 ms, 400 ms, ...): give it time to get them (and then ours) through.
    EXPECT_TRUE(sessions[i].tcp->Echo(5000));
    EXPECT_TRUE(sessions[i].udp->Echo());
    EXPECT_TRUE(sessions[i].sctp->Echo());
  }
}

TEST_F(NettestTest, ExecReportsCommandAndStderr) {
  ASSERT_OK(client_ns_->Exec({"true"}));
  Status failed = client_ns_->Exec({"sh", "-c", "echo oops >&2; exit 3"});
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("exited with 3"), std::string::npos) << failed.message();
  EXPECT_NE(failed.message().find("oops"), std::string::npos) << failed.message();
  EXPECT_NE(failed.message().find("ip netns exec " + client_ns_->name()), std::string::npos) << failed.message();
}

TEST_F(NettestTest, IfindexMatchesSysfsInsideTheNamespace) {
  int ifindex = 0;
  ASSERT_OK_AND_ASSIGN(ifindex, veth_->Ifindex(VethPair::Side::kB));
  const std::string dev = veth_->name(VethPair::Side::kB);
  auto sysfs = RunCommand({"ip", "netns", "exec", client_ns_->name(), "cat", "/sys/class/net/" + dev + "/ifindex"});
  ASSERT_TRUE(sysfs.ok()) << sysfs.status().message();
  EXPECT_EQ(std::stoi(*sysfs), ifindex);
}

TEST_F(NettestTest, InNetnsSocketsBelongToThatNamespace) {
  // 10.99.0.1 exists only in the server namespace: binding to it works there and nowhere else.
  auto bind_in = [](const Netns* ns) {
    auto bind_server_addr = []() -> Status {
      int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      ::inet_pton(AF_INET, "10.99.0.1", &addr.sin_addr);
      int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      int err = errno;
      ::close(fd);
      return rc == 0 ? Status::Ok() : Status::Error(std::strerror(err));
    };
    return ns ? InNetns(*ns, bind_server_addr) : bind_server_addr();
  };
  EXPECT_TRUE(bind_in(server_ns_.get()).ok());
  EXPECT_FALSE(bind_in(client_ns_.get()).ok());
  EXPECT_FALSE(bind_in(nullptr).ok());
}

TEST_F(NettestTest, StopIsPromptWithOpenConnections) {
  std::unique_ptr<TcpSession> session;
  ASSERT_OK_AND_ASSIGN(session, TcpSession::Open(*client_ns_, kFamilies[0].server, kPort));
  ASSERT_TRUE(session->Echo());
  const auto start = std::chrono::steady_clock::now();
  servers_[0]->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_FALSE(session->Echo(kFailMs));  // the server closed the connection
  EXPECT_FALSE(ProbeUdp(*client_ns_, kFamilies[0].server, kPort, kFailMs));
  EXPECT_TRUE(ProbeUdp(*client_ns_, kFamilies[1].server, kPort));  // the other server still runs
}

}  // namespace
}  // namespace netfence::nettest
