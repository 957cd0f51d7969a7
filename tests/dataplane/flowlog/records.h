// SPDX-License-Identifier: Apache-2.0
// Sample records shared by the flow-log tests.
#pragma once

#include "dataplane/flowlog/flow_record.h"
#include "dataplane/flowlog/time_format.h"

namespace netfence::flowlog::testing {

// 2026-12-01T19:33:34.123456789Z
inline constexpr int64_t kT0 = 1796153614LL * kNsPerSecond + 123456789;

inline Endpoint Pod(const char* ip, uint16_t port, const char* ns, const char* pod, const char* node) {
  Endpoint e;
  e.ip = IpAddr::Parse(ip);
  e.port = port;
  e.ns = ns;
  e.pod = pod;
  e.node = node;
  return e;
}

inline FlowRecord StartRecord() {
  FlowRecord r;
  r.time_ns = kT0;
  r.event = EventKind::kStart;
  r.node = "node-a";
  r.observation_point = "xdp";
  r.ifindex = 7;
  r.verdict = Verdict::kAllowed;
  r.direction = Direction::kIngress;
  r.reason = reason::kPolicy;
  r.proto = 6;
  r.src = Pod("10.0.1.5", 34567, "shop", "frontend", "node-a");
  r.src.labels = {{"app", "frontend"}, {"tier", "web"}};
  r.src.identity = 300;
  r.dst = Pod("10.0.2.9", 5432, "shop", "db", "node-b");
  r.community_id = "1:abc=";
  r.packets = 1;
  r.bytes = 74;
  r.generation = 3;
  r.policies = {{"shop", "allow-db", Direction::kIngress, 0}, {"shop", "frontend-egress", Direction::kEgress, 2}};
  r.flow_id = 42;
  r.src_packets = 1;
  r.src_bytes = 74;
  r.tcp_flags_src = 0x02;
  return r;
}

inline FlowRecord EndRecord() {
  FlowRecord r = StartRecord();
  r.event = EventKind::kEnd;
  r.time_ns = kT0 + 30 * kNsPerSecond;
  r.start_time_ns = kT0;
  r.end_time_ns = kT0 + 29 * kNsPerSecond;
  r.packets = 12;
  r.bytes = 4000;
  r.src_packets = 7;
  r.src_bytes = 1000;
  r.dst_packets = 5;
  r.dst_bytes = 3000;
  r.tcp_flags_src = 0x02 | 0x10 | 0x01 | 0x08;  // SYN ACK FIN PSH
  r.tcp_flags_dst = 0x12 | 0x01;                // SYN ACK FIN
  r.end_reason = "closed";
  return r;
}

inline FlowRecord DropRecord() {
  FlowRecord r;
  r.time_ns = kT0 + 2 * kNsPerSecond;
  r.event = EventKind::kDrop;
  r.node = "node-b";
  r.verdict = Verdict::kDenied;
  r.direction = Direction::kIngress;
  r.reason = reason::kDefaultDeny;
  r.proto = 17;
  r.src = Pod("10.0.1.5", 40000, "shop", "frontend", "node-a");
  Endpoint world;
  world.ip = IpAddr::Parse("fd00::1");
  world.port = 53;
  r.dst = world;
  r.community_id = "1:xyz=";
  r.packets = 3;
  r.bytes = 300;
  r.generation = 4;
  r.policies = {{"shop", "deny-all", Direction::kIngress, std::nullopt}};
  r.count = 3;
  r.first_time_ns = kT0;
  r.last_time_ns = kT0 + kNsPerSecond;
  r.aggregation = Aggregation::kExact;
  return r;
}

// A connection let in that policies in audit would deny by default (the audit block after
// `policies`; the entries show the format: one of a policy in audit, one enforced).
inline FlowRecord AuditStartRecord() {
  FlowRecord r = StartRecord();
  r.verdict = Verdict::kAudit;
  r.enforced = Verdict::kAllowed;
  r.audited = Verdict::kDenied;
  r.audit_reason = reason::kDefaultDeny;
  r.audit_policies = {{"shop", "db-lockdown", Direction::kIngress, std::nullopt},
                      {"shop", "db-base", Direction::kIngress, std::nullopt}};
  r.audit_policies[0].audit = true;
  return r;
}

// Dropped, but an audited rule would allow it.
inline FlowRecord AuditDropRecord() {
  FlowRecord r = DropRecord();
  r.verdict = Verdict::kAudit;
  r.enforced = Verdict::kDenied;
  r.audited = Verdict::kAllowed;
  r.audit_reason = reason::kPolicy;
  PolicyRef rule{"", "dns", Direction::kIngress, 1};
  rule.kind = "ClusterNetworkPolicy";
  rule.tier = "Baseline";
  rule.action = "Accept";
  rule.rule_name = "allow-dns";
  rule.audit = true;
  r.audit_policies = {rule};
  return r;
}

}  // namespace netfence::flowlog::testing
