// SPDX-License-Identifier: Apache-2.0
// The fixture of the connection tracking tests (conntrack_test.cc, conntrack_limits_test.cc):
// a client and a server pod, the client taking no ingress (a reply reaches it only through
// conntrack), the XDP program loaded stateful with an event reader.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/fastpath/conntrack_key.h"
#include "dataplane/xdp/event_reader.h"
#include "dataplane/xdp/xdp_program.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/dataplane/xdp/xdp_harness.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::xdptest {

using testing::PodYaml;
using testing::PolicyYaml;

inline const IpAddr kClient = *IpAddr::Parse("10.0.0.2");
inline const IpAddr kServer = *IpAddr::Parse("10.0.0.1");
inline constexpr uint16_t kEphemeral = 40000;

// The client takes no ingress at all: a reply reaches it only through conntrack. The server
// takes from the client what `server_ports` says ("" = every protocol and port).
inline std::string Yaml(const std::string& server_ports) {
  std::string rule = "  - from: [{podSelector: {matchLabels: {app: client}}}]\n";
  if (!server_ports.empty()) rule += "    ports: " + server_ports + "\n";
  return PodYaml("default", "client", "app: client", kClient.str()) +
         PodYaml("default", "server", "app: server", kServer.str()) +
         PolicyYaml("default", "client-in", "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Ingress]\n") +
         PolicyYaml("default", "server-in",
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n" + rule);
}
inline const char* const kTcpUdp80 = "[{protocol: TCP, port: 80}, {protocol: UDP, port: 80}]";
inline const char* const kUdp80 = "[{protocol: UDP, port: 80}]";

inline std::vector<uint8_t> Tcp(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport, uint8_t flags) {
  return PacketBuilder().Ipv4(src, dst).TcpFlags(flags).Tcp(dport, sport).Build();
}
inline std::vector<uint8_t> Udp(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport) {
  return PacketBuilder().Ipv4(src, dst).Udp(dport, sport).Payload(20).Build();
}
inline constexpr uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kRst = 0x04;

inline xdp::LoadOptions StatefulOptions() {
  xdp::LoadOptions o;
  o.record_decisions = true;
  o.conntrack_entries = 4096;
  o.ring_bytes = 1 << 16;
  return o;
}

class ConntrackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETFENCE_REQUIRE_BPF();
    Load(StatefulOptions());
  }
  void Load(const xdp::LoadOptions& options) {
    reader_.reset();
    harness_.reset();
    program_.reset();
    auto loaded = xdp::XdpProgram::Load(options);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    program_ = std::move(loaded).value();
    harness_ = std::make_unique<Harness>(*program_);
    auto reader = xdp::EventReader::Create(program_->map_fd(xdp::Map::kEvents),
                                           [this](const nf_event& e) { events_.push_back(e); });
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    reader_ = std::move(reader).value();
  }
  void Program(const std::string& server_ports, uint64_t generation, const std::string& extra_yaml = "") {
    clusters_.push_back(std::make_unique<testing::Cluster>(Yaml(server_ports) + extra_yaml));
    v1::RuleTables t = clusters_.back()->tables();
    t.set_generation(generation);
    Status s = program_->Program(t);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  // Runs the packet; expects the action and the path (enum nf_counter) it took.
  RunResult Expect(const std::vector<uint8_t>& p, uint32_t action, uint32_t path, int reason = -1) {
    RunResult r = harness_->Run(p);
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.action, action);
    EXPECT_EQ(r.decision.path, path);
    if (reason >= 0) {
      EXPECT_EQ(r.decision.drop_reason, static_cast<uint32_t>(reason));
    }
    return r;
  }
  bool Entry(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport, uint8_t proto, nf_ct_entry* e) {
    const nf_ct_key k = fastpath::ConntrackKey(src, sport, dst, dport, proto);
    return program_->LookupConntrack(k, e);
  }
  std::vector<nf_event> TakeEvents() {
    auto n = reader_->Drain();
    EXPECT_TRUE(n.ok()) << n.status().message();
    return std::exchange(events_, {});
  }

  std::vector<std::unique_ptr<testing::Cluster>> clusters_;
  std::unique_ptr<xdp::XdpProgram> program_;
  std::unique_ptr<Harness> harness_;
  std::unique_ptr<xdp::EventReader> reader_;
  std::vector<nf_event> events_;
};

}  // namespace netfence::xdptest
