// SPDX-License-Identifier: Apache-2.0
#include "common/classifier/classifier.h"

#include <gtest/gtest.h>

#include "tests/testing/policy_fixture.h"

namespace netfence::testing {
namespace {

// Hand-built tables: the classifier's contract with the wire format, independent of the compiler.
std::shared_ptr<v1::RuleTables> HandTables() {
  auto t = std::make_shared<v1::RuleTables>();
  auto bytes = [](const char* ip) {
    auto a = *IpAddr::Parse(ip);
    return std::string(a.bytes.begin(), a.bytes.end());
  };
  t->add_policies()->set_name("p");
  t->set_ipcache_addrs(bytes("10.0.0.1") + bytes("10.0.0.2"));
  t->add_ipcache_identities(300);
  t->add_ipcache_identities(301);
  auto* ep = t->add_endpoints();
  ep->set_name("server");
  ep->add_ips(bytes("10.0.0.1"));
  ep->set_identity(300);
  ep->set_ingress_table(0);
  ep->set_egress_table(1);
  auto* in = t->add_tables();
  in->set_direction(v1::INGRESS);
  in->set_isolated(true);
  in->set_rule_count(2);
  in->set_row_words(1);
  in->set_summary_words(1);
  for (uint32_t r : {0u, 1u}) {
    in->add_rule_policy(0);
    in->add_rule_index(r);
  }
  // Row at 0: {rule 0}; row at 2: {rule 1}; row at 4: {rule 0, rule 1}.
  for (uint64_t w : {1ull, 1ull, 1ull, 2ull, 1ull, 3ull}) t->add_words(w);
  in->add_identity_ids(301);
  in->add_identity_rows(0);  // identity 301 -> rule 0
  in->set_all_pods_row(0xFFFFFFFFu);
  in->set_cidr_addrs(bytes("192.0.2.0"));
  in->add_cidr_lengths(96 + 24);
  in->add_cidr_rows(2);  // 192.0.2.0/24 -> rule 1
  auto port = [&](uint32_t proto, uint32_t first, uint32_t last, uint32_t row) {
    in->add_port_protocols(proto);
    in->add_port_firsts(first);
    in->add_port_lasts(last);
    in->add_port_rows(row);
  };
  port(6, 80, 80, 4);   // TCP/80 -> rules 0 and 1
  port(17, 53, 53, 2);  // UDP/53 -> rule 1
  in->set_other_protocols_row(0xFFFFFFFFu);
  auto* out = t->add_tables();
  out->set_direction(v1::EGRESS);
  out->set_all_pods_row(0xFFFFFFFFu);
  out->set_other_protocols_row(0xFFFFFFFFu);
  return t;
}

TEST(Classifier, AndsIdentityOrCidrWithPort) {
  auto c = classifier::Classifier::Load(HandTables());
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto dst = *IpAddr::Parse("10.0.0.1");
  auto d = (*c)->Classify({*IpAddr::Parse("10.0.0.2"), dst, 6, 80});
  EXPECT_EQ(d.ingress.outcome, classifier::Outcome::kAllowed);
  EXPECT_EQ(d.ingress.rule_bit, 0u);
  d = (*c)->Classify({*IpAddr::Parse("10.0.0.2"), dst, 17, 53});  // identity row has rule 0 only
  EXPECT_EQ(d.ingress.outcome, classifier::Outcome::kDenied);
  d = (*c)->Classify({*IpAddr::Parse("192.0.2.77"), dst, 17, 53});
  EXPECT_EQ(d.ingress.outcome, classifier::Outcome::kAllowed);
  EXPECT_EQ(d.ingress.rule_bit, 1u);
  d = (*c)->Classify({*IpAddr::Parse("192.0.3.1"), dst, 6, 80});  // world, outside the CIDR
  EXPECT_EQ(d.ingress.outcome, classifier::Outcome::kDenied);
  d = (*c)->Classify({*IpAddr::Parse("10.0.0.2"), dst, 6, 81});  // no port entry
  EXPECT_EQ(d.ingress.outcome, classifier::Outcome::kDenied);
  d = (*c)->Classify({*IpAddr::Parse("10.0.0.2"), dst, 1, 0});  // ICMP: other protocols row is empty
  EXPECT_EQ(d.ingress.outcome, classifier::Outcome::kDenied);
  EXPECT_EQ(d.egress.outcome, classifier::Outcome::kNotIsolated);  // 10.0.0.2 is not an endpoint
}

TEST(Classifier, IdentityAndEndpointLookups) {
  auto c = classifier::Classifier::Load(HandTables());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->IdentityOf(*IpAddr::Parse("10.0.0.2")), 301u);
  EXPECT_EQ((*c)->IdentityOf(*IpAddr::Parse("10.9.9.9")), 0u);
  EXPECT_EQ((*c)->EndpointOf(*IpAddr::Parse("10.0.0.1")), 0u);
  EXPECT_FALSE((*c)->EndpointOf(*IpAddr::Parse("10.0.0.2")).has_value());
}

TEST(Classifier, RejectsRowWidthsThatDisagreeWithRuleCount) {
  auto t = HandTables();
  t->mutable_tables(0)->set_rule_count(65);
  auto c = classifier::Classifier::Load(t);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("do not fit 65 rules"), std::string::npos) << c.status().message();
}

TEST(Classifier, OverlappingPortRangesAreRejected) {
  auto t = HandTables();
  auto* in = t->mutable_tables(0);
  in->add_port_protocols(17);
  in->add_port_firsts(50);
  in->add_port_lasts(60);
  in->add_port_rows(0);
  EXPECT_FALSE(classifier::Classifier::Load(t).ok());
}

}  // namespace
}  // namespace netfence::testing

namespace netfence::testing {
namespace {
TEST(Classifier, RejectsDimensionArraysOfUnequalLength) {
  auto t = HandTables();
  t->mutable_tables(0)->add_identity_ids(999);
  auto c = classifier::Classifier::Load(t);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unequal length"), std::string::npos);
}
}  // namespace
}  // namespace netfence::testing

namespace netfence::testing {
namespace {
TEST(Classifier, RejectsSummaryThatHidesAWord) {
  auto t = HandTables();
  t->set_words(0, 0);  // row 0 keeps its rule bit but its summary no longer marks the word
  auto c = classifier::Classifier::Load(t);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("malformed"), std::string::npos) << c.status().message();
}

TEST(Classifier, RejectsRuleBitsPastRuleCount) {
  auto t = HandTables();
  t->set_words(1, 1 | (1ull << 5));  // rule 5 in a table of 2 rules
  EXPECT_FALSE(classifier::Classifier::Load(t).ok());
}

TEST(Classifier, RejectsPrefixWithHostBitsOrOutOfOrder) {
  auto t = HandTables();
  auto a = *IpAddr::Parse("192.0.2.1");
  t->mutable_tables(0)->set_cidr_addrs(std::string(a.bytes.begin(), a.bytes.end()));
  EXPECT_FALSE(classifier::Classifier::Load(t).ok());
  auto u = HandTables();
  auto* in = u->mutable_tables(0);
  auto b = *IpAddr::Parse("10.0.0.0");
  in->mutable_cidr_addrs()->append(std::string(b.bytes.begin(), b.bytes.end()));  // 10/8 after 192.0.2/24
  in->add_cidr_lengths(96 + 8);
  in->add_cidr_rows(0);
  EXPECT_FALSE(classifier::Classifier::Load(u).ok());
}
}  // namespace
}  // namespace netfence::testing
