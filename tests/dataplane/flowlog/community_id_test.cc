// SPDX-License-Identifier: Apache-2.0
// Community ID v1 against the published test vectors of corelight/community-id-spec:
// - testdata/baseline_deflt.json and baseline_seed1.json, copied verbatim from the spec
//   repository's baseline/ directory (see testdata/README.md), every tuple;
// - the tables of its baseline/README.md ("Default settings", "A custom seed=1 value"), whose
//   ICMP rows give the raw type and code, so they test the type/code -> port mapping.
#include "dataplane/flowlog/community_id.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace netfence::flowlog {
namespace {

IpAddr Ip(const std::string& s) {
  auto a = IpAddr::Parse(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(IpAddr{});
}

void CheckBaseline(const std::string& file, uint16_t seed) {
  std::ifstream in(std::string(NETFENCE_SOURCE_DIR) + "/tests/dataplane/flowlog/testdata/" + file);
  ASSERT_TRUE(in) << file;
  auto vectors = nlohmann::json::parse(in);
  ASSERT_EQ(vectors.size(), 23u);
  for (const auto& v : vectors) {
    uint16_t sport = v["sport"].is_null() ? 0 : v["sport"].get<uint16_t>();
    uint16_t dport = v["dport"].is_null() ? 0 : v["dport"].get<uint16_t>();
    EXPECT_EQ(CommunityId(Ip(v["saddr"]), Ip(v["daddr"]), v["proto"].get<uint8_t>(), sport, dport, seed),
              v["communityid"].get<std::string>())
        << file << ": " << v.dump();
  }
}

TEST(CommunityIdTest, PublishedBaselineSeed0) { CheckBaseline("baseline_deflt.json", 0); }
TEST(CommunityIdTest, PublishedBaselineSeed1) { CheckBaseline("baseline_seed1.json", 1); }

struct TableRow {
  uint8_t proto;
  const char* src;
  const char* dst;
  uint16_t sport, dport;  // ICMP: type, code
  const char* seed0;
  const char* seed1;
};

// community-id-spec baseline/README.md, tables "Default settings" and "A custom seed=1 value".
constexpr const char* kA6 = "fe80:0001:0203:0405:0607:0809:0A0B:0C0D";
constexpr const char* kB6 = "fe80:1011:1213:1415:1617:1819:1A1B:1C1D";
const TableRow kTable[] = {
    {6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
    {6, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
    {17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
    {17, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
    {132, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="},
    {132, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="},
    {1, "1.2.3.4", "5.6.7.8", 8, 0,
     "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},  // echo request
    {1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},   // ... reply
    {1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=", "1:1DD7cWGC/Yg91YGsQeni8du3pIA="},  // one-way
    {58, kA6, kB6, 128, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
    {58, kB6, kA6, 129, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
    {58, kA6, kB6, 146, 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10=", "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="},            // one-way
    {46, "1.2.3.4", "5.6.7.8", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},  // no ports
    {46, "5.6.7.8", "1.2.3.4", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},
    {46, kA6, kB6, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="},
    {46, kB6, kA6, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="},
};

TEST(CommunityIdTest, PublishedReadmeTablesWithIcmpTypeAndCode) {
  for (const auto& row : kTable) {
    EXPECT_EQ(CommunityId(Ip(row.src), Ip(row.dst), row.proto, row.sport, row.dport, 0), row.seed0)
        << row.src << " -> " << row.dst << " proto " << int(row.proto);
    EXPECT_EQ(CommunityId(Ip(row.src), Ip(row.dst), row.proto, row.sport, row.dport, 1), row.seed1)
        << row.src << " -> " << row.dst << " proto " << int(row.proto);
  }
}

// Cross-check with Wireshark: tshark 4.0.17 (Debian 12), `tshark -r x.pcap --enable-protocol
// communityid -T fields -e communityid`, on a pcap crafted with one packet per row (ICMP rows:
// type and code; the destination unreachable quotes a UDP packet; the last row is GRE).
TEST(CommunityIdTest, MatchesTsharkOnCraftedPackets) {
  const TableRow kTshark[] = {
      {6, "10.0.1.5", "10.0.2.9", 34567, 5432, "1:PKgBRQbTOEmY1jniYvs7ilOaVNo=", nullptr},
      {6, "10.0.2.9", "10.0.1.5", 5432, 34567, "1:PKgBRQbTOEmY1jniYvs7ilOaVNo=", nullptr},
      {17, "fd00:3::3", "fd00:2::9", 1111, 53, "1:LH56CfwQMfzNx5ceKbU0n8he63I=", nullptr},
      {1, "10.0.0.1", "10.0.0.2", 8, 0, "1:YcMyyWJfhc95EW1GfXt6jlZ3DiQ=", nullptr},  // echo request
      {1, "10.0.0.2", "10.0.0.1", 0, 0, "1:YcMyyWJfhc95EW1GfXt6jlZ3DiQ=", nullptr},  // echo reply
      {1, "10.0.0.2", "10.0.0.1", 3, 3, "1:LhjXG72oBqb/FpYqPl9LboG4/B4=", nullptr},  // port unreachable
      {58, "fe80::1", "ff02::1:ff00:2", 135, 0, "1:6GkV4Q23CW9hmt4IlBap+Dis6uk=", nullptr},
      {58, "fd00:2::9", "fd00:3::3", 128, 0, "1:GnS2VpVbj0MPbChWxpFpY4LDwLM=", nullptr},
      {132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", nullptr},
      {47, "1.2.3.4", "5.6.7.8", 0, 0, "1:+mluqz76jObh6dJLwnhX08n5St4=", nullptr},
  };
  for (const auto& row : kTshark) {
    EXPECT_EQ(CommunityId(Ip(row.src), Ip(row.dst), row.proto, row.sport, row.dport), row.seed0)
        << row.src << " -> " << row.dst << " proto " << int(row.proto);
  }
}

TEST(CommunityIdTest, PortlessProtocolIgnoresPorts) {
  EXPECT_EQ(CommunityId(Ip("1.2.3.4"), Ip("5.6.7.8"), 46, 1234, 5678), "1:ikv3kmf89luf73WPz1jOs49S768=");
}

TEST(CommunityIdTest, EqualAddressesOrderedByPort) {
  EXPECT_EQ(CommunityId(Ip("10.0.0.1"), Ip("10.0.0.1"), 6, 80, 1234),
            CommunityId(Ip("10.0.0.1"), Ip("10.0.0.1"), 6, 1234, 80));
  EXPECT_NE(CommunityId(Ip("10.0.0.1"), Ip("10.0.0.1"), 6, 80, 1234),
            CommunityId(Ip("10.0.0.1"), Ip("10.0.0.1"), 17, 80, 1234));
}

TEST(CommunityIdTest, OneWayIcmpIsNotReordered) {
  // Time exceeded (one-way): the two directions are different flows.
  EXPECT_NE(CommunityId(Ip("1.2.3.4"), Ip("5.6.7.8"), 1, 11, 0), CommunityId(Ip("5.6.7.8"), Ip("1.2.3.4"), 1, 11, 0));
}

TEST(CommunityIdTest, IcmpPortEquivalents) {
  uint16_t s, d;
  bool one_way;
  IcmpPortEquivalents(false, 8, 0, &s, &d, &one_way);
  EXPECT_EQ(std::tuple(s, d, one_way), std::tuple(uint16_t{8}, uint16_t{0}, false));
  IcmpPortEquivalents(false, 10, 0, &s, &d, &one_way);  // router solicitation -> advertisement
  EXPECT_EQ(std::tuple(s, d, one_way), std::tuple(uint16_t{10}, uint16_t{9}, false));
  IcmpPortEquivalents(false, 3, 4, &s, &d, &one_way);  // destination unreachable: one-way (type, code)
  EXPECT_EQ(std::tuple(s, d, one_way), std::tuple(uint16_t{3}, uint16_t{4}, true));
  IcmpPortEquivalents(true, 135, 0, &s, &d, &one_way);  // neighbour solicitation -> advertisement
  EXPECT_EQ(std::tuple(s, d, one_way), std::tuple(uint16_t{135}, uint16_t{136}, false));
  IcmpPortEquivalents(true, 144, 0, &s, &d, &one_way);  // home agent address discovery
  EXPECT_EQ(std::tuple(s, d, one_way), std::tuple(uint16_t{144}, uint16_t{145}, false));
  IcmpPortEquivalents(true, 1, 3, &s, &d, &one_way);
  EXPECT_EQ(std::tuple(s, d, one_way), std::tuple(uint16_t{1}, uint16_t{3}, true));
}

TEST(CommunityIdTest, MixedFamiliesGiveEmptyId) { EXPECT_EQ(CommunityId(Ip("1.2.3.4"), Ip("fe80::1"), 6, 1, 2), ""); }

}  // namespace
}  // namespace netfence::flowlog
