#include "dataplane/classifier/classifier.h"

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
  auto* ip1 = t->add_ipcache();
  ip1->set_ip(bytes("10.0.0.1"));
  ip1->set_identity(300);
  auto* ip2 = t->add_ipcache();
  ip2->set_ip(bytes("10.0.0.2"));
  ip2->set_identity(301);
  auto* ep = t->add_endpoints();
  ep->set_name("server");
  ep->add_ips(bytes("10.0.0.1"));
  ep->set_identity(300);
  ep->set_table(0);
  auto* tab = t->add_tables();
  auto* in = tab->mutable_ingress();
  in->set_isolated(true);
  in->set_rule_count(2);
  in->set_row_words(1);
  in->set_summary_words(1);
  in->add_rules()->set_rule_index(0);
  in->add_rules()->set_rule_index(1);
  // Row at 0: {rule 0}; row at 2: {rule 1}; row at 4: {rule 0, rule 1}.
  for (uint64_t w : {1ull, 1ull, 1ull, 2ull, 1ull, 3ull}) t->add_words(w);
  auto* idr = in->add_identities();
  idr->set_identity(301);
  idr->set_row(0);       // identity 301 -> rule 0
  in->set_all_pods_row(0xFFFFFFFFu);
  auto* cidr = in->add_cidrs();
  cidr->set_prefix(bytes("192.0.2.0"));
  cidr->set_length(96 + 24);
  cidr->set_row(2);      // 192.0.2.0/24 -> rule 1
  auto* port = in->add_ports();
  port->set_protocol(6);
  port->set_first(80);
  port->set_last(80);
  port->set_row(4);      // TCP/80 -> rules 0 and 1
  auto* udp = in->add_ports();
  udp->set_protocol(17);
  udp->set_first(53);
  udp->set_last(53);
  udp->set_row(2);       // UDP/53 -> rule 1
  in->set_other_protocols_row(0xFFFFFFFFu);
  tab->mutable_egress()->set_all_pods_row(0xFFFFFFFFu);
  tab->mutable_egress()->set_other_protocols_row(0xFFFFFFFFu);
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
  t->mutable_tables(0)->mutable_ingress()->set_rule_count(65);
  auto c = classifier::Classifier::Load(t);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("inconsistent row sizes"), std::string::npos);
}

TEST(Classifier, OverlappingPortRangesAreRejected) {
  auto t = HandTables();
  auto* p = t->mutable_tables(0)->mutable_ingress()->add_ports();
  p->set_protocol(17);
  p->set_first(50);
  p->set_last(60);
  p->set_row(0);
  EXPECT_FALSE(classifier::Classifier::Load(t).ok());
}

}  // namespace
}  // namespace netfence::testing
