// SPDX-License-Identifier: Apache-2.0
// What the flow-log end-to-end tests share (e2e_flowlog_test.cc, e2e_flowlog_stream_test.cc):
// the cluster (a client, a server and a debug pod on one node), the policy that lets the client
// in, and readers of the node's flow log.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/flowlog/community_id.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/flow_logs.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::e2e::flowlog_e2e {

using flowlog::Direction;
using flowlog::EventKind;
using flowlog::FlowRecord;
using flowlog::PolicyRef;
using flowlog::Verdict;
using testing::NamespaceYaml;
using testing::PodYaml;
using testing::PolicyYaml;

constexpr const char* kNode = "node-1";
constexpr const char* kClient = "10.79.0.10";
constexpr const char* kServer = "10.79.0.20";
constexpr const char* kDebug = "10.79.0.30";
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kAck = 0x10;
constexpr uint64_t kEthIp = 14 + 20;  // every frame: Ethernet and an IPv4 header without options

inline std::string ClusterYaml() {
  return NamespaceYaml("shop", "team: shop") + NamespaceYaml("dev", "team: dev") +
         PodYaml("shop", "client", "app: client", kClient) + PodYaml("shop", "server", "app: server", kServer) +
         PodYaml("dev", "debug", "app: debug", kDebug);
}
// The server takes TCP/80 and UDP/53 from the client only.
inline std::string AllowClient(const std::string& name) {
  return PolicyYaml("shop", name,
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                    "    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 53}]\n");
}

inline ClusterOptions Options(const ManifestDir& dir, std::vector<std::string> agent_args = {}) {
  ClusterOptions o;
  o.manifests = dir.path();
  o.bin_dir = BinDir();
  o.server_ports = {80, 53, 81};
  o.agent_args = std::move(agent_args);
  return o;
}

inline uint64_t Generation(Cluster& c) {
  agent::Request status;
  status.op = "status";
  auto r = c.AgentCall(kNode, status);
  return r.ok() ? r->generation : 0;
}

// Re-reads the node's flow log until `done` holds (or 20 s passed); returns the last read.
inline std::vector<FlowRecord> WaitForLog(const Cluster& c, const std::string& node,
                                          const std::function<bool(const std::vector<FlowRecord>&)>& done) {
  std::vector<FlowRecord> log;
  for (int i = 0; i < 200; ++i) {
    auto read = ReadFlowLog(c.FlowLogPath(node));
    EXPECT_TRUE(read.ok()) << read.status().message();
    if (read.ok()) log = std::move(read).value();
    if (done(log)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return log;
}

// The records of a connection (its source port) of one kind.
inline std::vector<FlowRecord> Of(const std::vector<FlowRecord>& log, EventKind kind, uint8_t proto, uint16_t sport) {
  std::vector<FlowRecord> out;
  for (const FlowRecord& r : log) {
    if (r.event == kind && r.proto == proto && r.src.port == sport) out.push_back(r);
  }
  return out;
}
inline bool About(const FlowRecord& r, const std::set<std::string>& ips) {
  return (r.src.ip && ips.contains(r.src.ip->str())) || (r.dst.ip && ips.contains(r.dst.ip->str()));
}
inline std::string Json(const std::vector<FlowRecord>& rs) {
  std::string s;
  for (const auto& r : rs) s += flowlog::ToJson(r) + "\n";
  return s;
}
inline std::string CommunityId(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint8_t proto) {
  return flowlog::CommunityId(*IpAddr::Parse(src), *IpAddr::Parse(dst), proto, sport, dport);
}
// Bytes of `packets` TCP frames carrying `payload` bytes: each has a TCP header of 20 to 60 bytes.
inline void ExpectTcpBytes(uint64_t bytes, uint64_t packets, uint64_t payload, const std::string& what) {
  EXPECT_GE(bytes, payload + packets * (kEthIp + 20)) << what;
  EXPECT_LE(bytes, payload + packets * (kEthIp + 60)) << what;
}

}  // namespace netfence::e2e::flowlog_e2e
