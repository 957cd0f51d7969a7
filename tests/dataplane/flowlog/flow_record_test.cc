// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/flow_record.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using namespace testing;

TEST(FlowRecordTest, StartRecordExactJson) {
  EXPECT_EQ(
      ToJson(StartRecord()),
      R"({"schema":"netfence.flow/v1","time":"2026-12-01T19:33:34.123456789Z","event":"start","node":"node-a",)"
      R"("observation_point":"xdp","ifindex":7,"verdict":"allowed","direction":"ingress","reason":"policy",)"
      R"("proto":"TCP","src":{"ip":"10.0.1.5","port":34567,"namespace":"shop","pod":"frontend","node":"node-a",)"
      R"("labels":{"app":"frontend","tier":"web"},"identity":300},)"
      R"("dst":{"ip":"10.0.2.9","port":5432,"namespace":"shop","pod":"db","node":"node-b"},)"
      R"("community_id":"1:abc=","packets":1,"bytes":74,"generation":3,)"
      R"("policies":[{"namespace":"shop","name":"allow-db","direction":"ingress","rule":0,"kind":"NetworkPolicy","tier":"NetworkPolicy","action":"Allow"},)"
      R"({"namespace":"shop","name":"frontend-egress","direction":"egress","rule":2,"kind":"NetworkPolicy","tier":"NetworkPolicy","action":"Allow"}],)"
      R"("flow_id":42,"src_packets":1,"src_bytes":74,"dst_packets":0,"dst_bytes":0,)"
      R"("tcp_flags":{"src":["SYN"],"dst":[]}})");
}

TEST(FlowRecordTest, EndRecordExactJson) {
  EXPECT_EQ(
      ToJson(EndRecord()),
      R"({"schema":"netfence.flow/v1","time":"2026-12-01T19:34:04.123456789Z","event":"end","node":"node-a",)"
      R"("observation_point":"xdp","ifindex":7,"verdict":"allowed","direction":"ingress","reason":"policy",)"
      R"("proto":"TCP","src":{"ip":"10.0.1.5","port":34567,"namespace":"shop","pod":"frontend","node":"node-a",)"
      R"("labels":{"app":"frontend","tier":"web"},"identity":300},)"
      R"("dst":{"ip":"10.0.2.9","port":5432,"namespace":"shop","pod":"db","node":"node-b"},)"
      R"("community_id":"1:abc=","packets":12,"bytes":4000,"generation":3,)"
      R"("policies":[{"namespace":"shop","name":"allow-db","direction":"ingress","rule":0,"kind":"NetworkPolicy","tier":"NetworkPolicy","action":"Allow"},)"
      R"({"namespace":"shop","name":"frontend-egress","direction":"egress","rule":2,"kind":"NetworkPolicy","tier":"NetworkPolicy","action":"Allow"}],)"
      R"("flow_id":42,"start_time":"2026-12-01T19:33:34.123456789Z","end_time":"2026-12-01T19:34:03.123456789Z",)"
      R"("src_packets":7,"src_bytes":1000,"dst_packets":5,"dst_bytes":3000,)"
      R"("tcp_flags":{"src":["FIN","SYN","PSH","ACK"],"dst":["FIN","SYN","ACK"]},"end_reason":"closed"})");
}

TEST(FlowRecordTest, DropRecordExactJson) {
  EXPECT_EQ(
      ToJson(DropRecord()),
      R"({"schema":"netfence.flow/v1","time":"2026-12-01T19:33:36.123456789Z","event":"drop","node":"node-b",)"
      R"("verdict":"denied","direction":"ingress","reason":"default-deny","proto":"UDP",)"
      R"("src":{"ip":"10.0.1.5","port":40000,"namespace":"shop","pod":"frontend","node":"node-a"},)"
      R"("dst":{"ip":"fd00::1","port":53,"namespace":"","pod":"","node":""},)"
      R"("community_id":"1:xyz=","packets":3,"bytes":300,"generation":4,)"
      R"("policies":[{"namespace":"shop","name":"deny-all","direction":"ingress","rule":null,"kind":"NetworkPolicy","tier":"NetworkPolicy"}],)"
      R"("count":3,"first_time":"2026-12-01T19:33:34.123456789Z","last_time":"2026-12-01T19:33:35.123456789Z",)"
      R"("aggregation":"exact"})");
}

TEST(FlowRecordTest, LostRecordExactJson) {
  FlowRecord r = LostRecord(17, kT0, kT0 + 5, "ring-buffer", kT0 + 10, "node-a");
  EXPECT_EQ(ToJson(r),
            R"({"schema":"netfence.flow/v1","time":"2026-12-01T19:33:34.123456799Z","event":"lost","node":"node-a",)"
            R"("lost_events":17,"since":"2026-12-01T19:33:34.123456789Z","until":"2026-12-01T19:33:34.123456794Z",)"
            R"("lost_at":"ring-buffer"})");
}

TEST(FlowRecordTest, FoldedAggregateAndOddProtocolWriteNulls) {
  FlowRecord r = DropRecord();
  r.aggregation = Aggregation::kOverflow;
  r.src = Endpoint{};
  r.dst = Endpoint{};
  r.proto = 47;
  r.community_id = "";
  std::string j = ToJson(r);
  EXPECT_NE(j.find(R"("proto":"47","src":{"ip":null,"port":null,"namespace":"","pod":"","node":""})"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find(R"("aggregation":"overflow")"), std::string::npos);
}

TEST(FlowRecordTest, EscapesStrings) {
  FlowRecord r = StartRecord();
  r.src.labels = {{"k\"ey", "line\nbreak\\\x01"}};
  std::string j = ToJson(r);
  EXPECT_EQ(j.find('\n'), std::string::npos);
  EXPECT_NE(j.find(R"("labels":{"k\"ey":"line\nbreak\\\u0001"})"), std::string::npos) << j;
  auto back = ParseRecord(j);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, r);
}

TEST(FlowRecordTest, EveryKindRoundTrips) {
  FlowRecord update = EndRecord();
  update.event = EventKind::kUpdate;
  update.end_time_ns = 0;
  update.end_reason.clear();
  FlowRecord udp = StartRecord();
  udp.proto = 17;
  udp.tcp_flags_src = 0;
  udp.src.labels.clear();
  udp.src.identity.reset();
  FlowRecord overflow = DropRecord();
  overflow.aggregation = Aggregation::kOverflow;
  overflow.src = Endpoint{};
  overflow.dst = Endpoint{};
  FlowRecord folded = DropRecord();
  folded.aggregation = Aggregation::kFolded;
  folded.src.port.reset();
  folded.proto = 132;
  folded.community_id.clear();
  folded.folded_tuples = 40;
  FlowRecord pair = DropRecord();  // as earlier writers wrote it
  pair.aggregation = Aggregation::kPair;
  pair.src.port.reset();
  pair.dst.port.reset();
  FlowRecord icmp6 = StartRecord();
  icmp6.proto = 58;
  icmp6.tcp_flags_src = 0;
  icmp6.src.ip = IpAddr::Parse("fd00:10::5");
  icmp6.dst.ip = IpAddr::Parse("fd00:20::9");
  for (const FlowRecord& r : {StartRecord(), update, EndRecord(), DropRecord(), overflow, folded, pair, udp, icmp6,
                              LostRecord(5, kT0, kT0 + 1, "sink-queue", kT0 + 2, "")}) {
    std::string line = ToJson(r);
    auto back = ParseRecord(line);
    ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << line;
    EXPECT_EQ(*back, r) << line;
    EXPECT_EQ(ToJson(*back), line);
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

TEST(FlowRecordTest, ParseAcceptsUnknownFieldsAndReasonsAndNumericProto) {
  std::string line = ToJson(DropRecord());
  line.insert(line.size() - 1, R"(,"future_field":{"x":[1,2]})");
  auto pos = line.find("default-deny");
  line.replace(pos, 12, "quota-exceeded");
  pos = line.find(R"("UDP")");
  line.replace(pos, 5, "17");
  auto r = ParseRecord(line);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->reason, "quota-exceeded");
  EXPECT_EQ(r->proto, 17);
}

TEST(FlowRecordTest, ParseErrorsNameTheField) {
  std::string good = ToJson(StartRecord());
  auto err = [](std::string line) {
    auto r = ParseRecord(line);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    auto p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    return s.replace(p, from.size(), to);
  };
  EXPECT_EQ(err("not json"), "not valid JSON");
  EXPECT_EQ(err("[1,2]"), "not a JSON object");
  EXPECT_EQ(err(good.substr(0, good.size() - 5)), "not valid JSON");
  EXPECT_EQ(err(replace("netfence.flow/v1", "netfence.flow/v2")),
            "schema \"netfence.flow/v2\" is not netfence.flow/v1");
  EXPECT_EQ(err(replace(R"("time":"2026-12-01T19:33:34.123456789Z")", R"("time":"yesterday")")),
            "field \"time\" is not an RFC 3339 time: \"yesterday\"");
  EXPECT_EQ(err(replace(R"("event":"start")", R"("event":"begin")")),
            "event \"begin\" is not start, update, end, drop or lost");
  EXPECT_EQ(err(replace(R"("verdict":"allowed")", R"("verdict":"ok")")),
            "verdict \"ok\" is not allowed, denied or audit");
  EXPECT_EQ(err(replace(R"("ip":"10.0.2.9")", R"("ip":"10.0.2.999")")), "field \"dst.ip\" is not an IP address");
  EXPECT_EQ(err(replace(R"("port":5432)", R"("port":70000)")), "field \"dst.port\" is not a port number");
  EXPECT_EQ(err(replace(R"("packets":1,)", R"("packets":-1,)")), "field \"packets\" is not a non-negative integer");
  EXPECT_EQ(err(replace(R"("generation":3,)", "")), "missing field \"generation\"");
  EXPECT_EQ(err(replace(R"("pod":"db",)", R"("pod":7,)")), "field \"dst.pod\" is not a string");
  EXPECT_EQ(err(replace(R"("direction":"egress","rule":2)", R"("direction":"sideways","rule":2)")),
            "policies: direction \"sideways\" is not ingress or egress");
  EXPECT_EQ(err(replace(R"(["SYN"])", R"(["SYN","XMAS"])")), "tcp_flags: unknown flag \"XMAS\"");
  EXPECT_EQ(err(replace(R"("proto":"TCP")", R"("proto":"TCPX")")), "field \"proto\" is missing or not a protocol");
}

// ---- Audit mode ---------------------------------------------------------------------------

TEST(FlowRecordTest, AuditRecordsExactJson) {
  const std::string start = ToJson(AuditStartRecord());
  const std::string plain = ToJson(StartRecord());
  // Everything but the verdict and the audit block is the plain record's.
  const std::string block =
      R"(,"enforced":"allowed","audited":"denied","audit_reason":"default-deny",)"
      R"("audit_policies":[{"namespace":"shop","name":"db-lockdown","direction":"ingress","rule":null,)"
      R"("kind":"NetworkPolicy","tier":"NetworkPolicy","audit":true},)"
      R"({"namespace":"shop","name":"db-base","direction":"ingress","rule":null,"kind":"NetworkPolicy",)"
      R"("tier":"NetworkPolicy"}])";
  std::string want = plain;
  want.replace(want.find(R"("verdict":"allowed")"), 19, R"("verdict":"audit")");
  want.insert(want.find(R"(,"flow_id")"), block);
  EXPECT_EQ(start, want);
  EXPECT_EQ(
      ToJson(AuditDropRecord()),
      R"({"schema":"netfence.flow/v1","time":"2026-12-01T19:33:36.123456789Z","event":"drop","node":"node-b",)"
      R"("verdict":"audit","direction":"ingress","reason":"default-deny","proto":"UDP",)"
      R"("src":{"ip":"10.0.1.5","port":40000,"namespace":"shop","pod":"frontend","node":"node-a"},)"
      R"("dst":{"ip":"fd00::1","port":53,"namespace":"","pod":"","node":""},)"
      R"("community_id":"1:xyz=","packets":3,"bytes":300,"generation":4,)"
      R"("policies":[{"namespace":"shop","name":"deny-all","direction":"ingress","rule":null,"kind":"NetworkPolicy","tier":"NetworkPolicy"}],)"
      R"("enforced":"denied","audited":"allowed","audit_reason":"policy",)"
      R"("audit_policies":[{"namespace":"","name":"dns","direction":"ingress","rule":1,"kind":"ClusterNetworkPolicy",)"
      R"("tier":"Baseline","action":"Accept","rule_name":"allow-dns","audit":true}],)"
      R"("count":3,"first_time":"2026-12-01T19:33:34.123456789Z","last_time":"2026-12-01T19:33:35.123456789Z",)"
      R"("aggregation":"exact"})");
}

TEST(FlowRecordTest, AuditRecordsRoundTrip) {
  FlowRecord end = AuditStartRecord();  // the end of that connection keeps its audit fields
  end.event = EventKind::kEnd;
  end.start_time_ns = kT0 - kNsPerSecond;
  end.end_time_ns = kT0;
  end.end_reason = "closed";
  FlowRecord overflow = AuditDropRecord();  // nothing to name: the block without policies
  overflow.aggregation = Aggregation::kOverflow;
  overflow.src = Endpoint{};
  overflow.dst = Endpoint{};
  overflow.audit_reason.clear();
  overflow.audit_policies.clear();
  for (const FlowRecord& r : {AuditStartRecord(), end, AuditDropRecord(), overflow}) {
    const std::string line = ToJson(r);
    auto back = ParseRecord(line);
    ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << line;
    EXPECT_EQ(*back, r) << line;
    EXPECT_EQ(ToJson(*back), line);
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
  EXPECT_NE(ToJson(overflow).find(R"("audited":"allowed","audit_policies":[],"count")"), std::string::npos)
      << ToJson(overflow);
  // Records without audit read back without audit fields.
  auto plain = ParseRecord(ToJson(StartRecord()));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->enforced || plain->audited);
  EXPECT_TRUE(plain->audit_reason.empty() && plain->audit_policies.empty());
}

TEST(FlowRecordTest, AuditParseErrorsNameTheField) {
  const std::string good = ToJson(AuditStartRecord());
  auto err = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    auto p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    auto r = ParseRecord(s.replace(p, from.size(), to));
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(err(R"("enforced":"allowed")", R"("enforced":"audit")"),
            "field \"enforced\" is not allowed or denied: \"audit\"");
  EXPECT_EQ(err(R"("enforced":"allowed")", R"("enforced":true)"), "field \"enforced\" is not a string");
  EXPECT_EQ(err(R"("audited":"denied")", R"("audited":"blocked")"),
            "field \"audited\" is not allowed or denied: \"blocked\"");
  EXPECT_EQ(err(R"("audit_reason":"default-deny")", R"("audit_reason":3)"), "field \"audit_reason\" is not a string");
  EXPECT_EQ(err(R"("audit_reason":"default-deny")", R"("audit_reason":"")"), "field \"audit_reason\" is empty");
  EXPECT_EQ(err(R"("audit_policies":[)", R"("audit_policies":7,"x":[)"),
            "field \"audit_policies\" is missing or not an array");
  EXPECT_EQ(err(R"("name":"db-lockdown","direction":"ingress")", R"("name":"db-lockdown","direction":"up")"),
            "audit_policies: direction \"up\" is not ingress or egress");
  EXPECT_EQ(err(R"("tier":"NetworkPolicy","audit":true)", R"("tier":"NetworkPolicy","audit":"yes")"),
            "audit_policies: field \"audit\" is not a boolean");
  EXPECT_EQ(err(R"("name":"db-base")", R"("name":null)"), "audit_policies: field \"name\" is not a string");
  // The same entry format in `policies` reads the audit mark the same way.
  std::string marked = ToJson(StartRecord());
  marked.insert(marked.find(R"(,"action":"Allow"})"), R"(,"audit":1)");
  auto r = ParseRecord(marked);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "policies: field \"audit\" is not a boolean");
}

TEST(FlowRecordTest, ProtoAndFlagNames) {
  EXPECT_EQ(ProtoName(6), "TCP");
  EXPECT_EQ(ProtoName(58), "ICMPv6");
  EXPECT_EQ(ProtoName(47), "47");
  EXPECT_EQ(ParseProtoName("icmpv6"), 58);
  EXPECT_EQ(ParseProtoName("255"), 255);
  EXPECT_FALSE(ParseProtoName("256").has_value());
  EXPECT_FALSE(ParseProtoName("").has_value());
  EXPECT_EQ(TcpFlagNames(0x12), (std::vector<std::string_view>{"SYN", "ACK"}));
  EXPECT_EQ(TcpFlagNames(0xff).size(), 8u);
}

}  // namespace
}  // namespace netfence::flowlog
