// SPDX-License-Identifier: Apache-2.0
// The one check of tables before use (common/tables/validate.h): compiled tables pass, and
// each way a table can lie about itself is refused with a message naming the table and the
// field; an agent's ApplyUpdate refuses an update carrying such a table unit and keeps what
// it held.
#include "common/tables/validate.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/tables/table_set.h"
#include "common/tables/wire.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::tables {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;

// A cluster whose server table has identity, CIDR and port rows of several rules.
const testing::Cluster& Compiled() {
  static const auto* cluster = new testing::Cluster(
      PodYaml("default", "server", "app: server", "10.0.0.1") +
      PodYaml("default", "client", "app: client", "10.0.0.2") +
      PolicyYaml("default", "server-in",
                 "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                 "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                 "    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 53}]\n"
                 "  - from: [{ipBlock: {cidr: 192.0.2.0/24}}, {ipBlock: {cidr: 198.51.100.0/24}}]\n"
                 "    ports: [{protocol: TCP, port: 443}]\n"));
  return *cluster;
}

// The index of the server's ingress table, the one with rules.
int ServerIngress(const v1::RuleTables& t) {
  for (int i = 0; i < t.tables_size(); ++i) {
    if (t.tables(i).rule_count() > 0 && t.tables(i).cidr_lengths_size() == 2) return i;
  }
  ADD_FAILURE() << "no table with the server's rules";
  return 0;
}

struct Corruption {
  const char* what;
  std::function<void(v1::RuleTables*, v1::DirectionTable*)> apply;
  const char* message;  // a part of the error
};

TEST(ValidateRuleTables, CompiledTablesPass) {
  ASSERT_TRUE(ValidateRuleTables(Compiled().tables()).ok()) << ValidateRuleTables(Compiled().tables()).message();
}

TEST(ValidateRuleTables, EveryLieIsRefusedNamingTheTableAndTheField) {
  const std::vector<Corruption> cases = {
      {"rule_count without its words", [](auto*, auto* d) { d->set_rule_count(65); }, "do not fit 65 rules"},
      {"a rule without its policy", [](auto*, auto* d) { d->mutable_rule_policy()->RemoveLast(); }, "rule_policy"},
      {"a policy index past the list", [](auto*, auto* d) { d->set_rule_policy(0, 99); }, "rule_policy 99 names no"},
      {"an isolating policy past the list", [](auto*, auto* d) { d->add_isolating_policies(99); },
       "isolating_policies 99"},
      {"identity arrays of unequal length", [](auto*, auto* d) { d->add_identity_ids(4242); }, "unequal length"},
      {"a CIDR without its row", [](auto*, auto* d) { d->mutable_cidr_rows()->RemoveLast(); }, "unequal length"},
      {"a row past the arena", [](auto*, auto* d) { d->set_port_rows(0, 1u << 30); }, "port_rows[0] malformed"},
      {"a summary that hides its word",
       [](v1::RuleTables* t, auto* d) { t->set_words(static_cast<int>(d->port_rows(0)), 0); }, "malformed"},
      {"a rule bit past rule_count",
       [](v1::RuleTables* t, auto* d) {
         const int word = static_cast<int>(d->port_rows(0) + d->summary_words());
         t->set_words(word, t->words(word) | (1ull << 63));
       },
       "malformed"},
      {"identities out of order",
       [](auto*, auto* d) {
         d->add_identity_ids(1);
         d->add_identity_rows(kEmptyRow);
       },
       "identity_ids not strictly ascending"},
      {"a prefix with host bits", [](auto*, auto* d) { (*d->mutable_cidr_addrs())[15] = 1; }, "host bits"},
      {"a prefix longer than 128", [](auto*, auto* d) { d->set_cidr_lengths(0, 129); }, "length over 128"},
      {"prefixes out of order",
       [](auto*, auto* d) {
         std::string& a = *d->mutable_cidr_addrs();
         a = a.substr(16, 16) + a.substr(0, 16);
       },
       "out of order"},
      {"a port range of another protocol", [](auto*, auto* d) { d->set_port_protocols(0, 1); }, "TCP/UDP/SCTP"},
      {"a port past 65535", [](auto*, auto* d) { d->set_port_lasts(0, 70000); }, "TCP/UDP/SCTP"},
      {"overlapping port ranges",
       [](auto*, auto* d) {
         d->add_port_protocols(d->port_protocols(0));
         d->add_port_firsts(d->port_firsts(0));
         d->add_port_lasts(d->port_lasts(0));
         d->add_port_rows(d->port_rows(0));
       },
       "overlapping"},
      {"an endpoint naming a missing table",
       [](v1::RuleTables* t, auto*) { t->mutable_endpoints(0)->set_ingress_table(999); }, "refers to a missing table"},
      {"an endpoint address of 5 bytes", [](v1::RuleTables* t, auto*) { t->mutable_endpoints(0)->set_ips(0, "12345"); },
       "malformed address"},
      {"ipcache bytes and identities disagree", [](v1::RuleTables* t, auto*) { t->add_ipcache_identities(7); },
       "ipcache"},
  };
  for (const Corruption& c : cases) {
    v1::RuleTables t = Compiled().tables();
    const int ti = ServerIngress(t);
    c.apply(&t, t.mutable_tables(ti));
    const Status s = ValidateRuleTables(t);
    ASSERT_FALSE(s.ok()) << c.what << ": accepted";
    EXPECT_NE(s.message().find(c.message), std::string::npos) << c.what << ": " << s.message();
    if (s.message().rfind("table", 0) == 0) {
      EXPECT_EQ(s.message().rfind("table " + std::to_string(ti) + ":", 0), 0u) << c.what << ": " << s.message();
    }
  }
}

TEST(ValidateRuleTables, TieredTablesKeepEveryBitInItsTier) {
  const testing::Cluster tiered(
      PodYaml("default", "server", "app: server", "10.0.0.1") +
      PodYaml("default", "client", "app: client", "10.0.0.2") +
      PolicyYaml("default", "server-in",
                 "  podSelector: {matchLabels: {app: server}}\n  ingress:\n"
                 "  - from: [{podSelector: {matchLabels: {app: client}}}]\n") +
      "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: admin}\n"
      "spec:\n  tier: Admin\n  priority: 5\n  subject: {namespaces: {}}\n  ingress:\n"
      "  - {name: pass-all, action: Pass, from: [{namespaces: {}}]}\n---\n");
  const v1::RuleTables& base = tiered.tables();
  int ti = -1;
  for (int i = 0; i < base.tables_size(); ++i) {
    if (base.tables(i).rule_flags_size() > 0 && base.tables(i).np_first_bit() > 0 &&
        base.tables(i).baseline_first_bit() > base.tables(i).np_first_bit()) {
      ti = i;
    }
  }
  ASSERT_GE(ti, 0) << "no table with an Admin and a NetworkPolicy bit";
  ASSERT_TRUE(ValidateRuleTables(base).ok()) << ValidateRuleTables(base).message();
  const std::vector<Corruption> cases = {
      {"an Admin bit that allows like a NetworkPolicy rule", [](auto*, auto* d) { d->set_rule_flags(0, kRuleAllow); },
       "rule bit 0 has an action or policy of another tier"},
      {"a NetworkPolicy bit with a Deny",
       [](auto*, auto* d) { d->set_rule_flags(static_cast<int>(d->np_first_bit()), kRuleDeny); }, "another tier"},
      {"reserved flag bits", [](auto*, auto* d) { d->set_rule_flags(0, d->rule_flags(0) | 0x80u); }, "another tier"},
      {"a rule without flags", [](auto*, auto* d) { d->mutable_rule_flags()->RemoveLast(); }, "rule_flags must list"},
      {"boundaries out of order", [](auto*, auto* d) { d->set_np_first_bit(d->baseline_first_bit() + 1); },
       "out of order"},
  };
  for (const Corruption& c : cases) {
    v1::RuleTables t = base;
    c.apply(&t, t.mutable_tables(ti));
    const Status s = ValidateRuleTables(t);
    ASSERT_FALSE(s.ok()) << c.what << ": accepted";
    EXPECT_NE(s.message().find(c.message), std::string::npos) << c.what << ": " << s.message();
  }
}

// The server's ingress table as a standalone unit (its own words and policies).
v1::DirectionTable Unit() {
  const v1::RuleTables& t = Compiled().tables();
  v1::DirectionTable unit = t.tables(ServerIngress(t));
  *unit.mutable_words() = t.words();
  *unit.mutable_policies() = t.policies();
  return unit;
}

TEST(ApplyUpdate, RefusesAnUpdateWithABadTableUnitAndKeepsWhatItHeld) {
  v1::NodeUpdate first;
  first.set_snapshot(true);
  first.set_generation(1);
  auto* good = first.add_tables();
  good->set_id(7);
  *good->mutable_table() = Unit();
  ASSERT_TRUE(ValidateTableUnit(7, Unit()).ok()) << ValidateTableUnit(7, Unit()).message();
  TableSet held;
  ASSERT_TRUE(ApplyUpdate(first, 0, &held).ok());
  ASSERT_EQ(held.tables.size(), 1u);

  v1::NodeUpdate bad;
  bad.set_generation(2);
  bad.set_base_generation(1);
  auto* unit = bad.add_tables();
  unit->set_id(8);
  *unit->mutable_table() = Unit();
  unit->mutable_table()->set_rule_policy(0, 5);  // Assemble() would index policies[5]
  bad.add_removed_tables(7);
  const TableSet before = held;
  const Status s = ApplyUpdate(bad, 1, &held);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("update 2: table unit 8: rule_policy 5 names no policy"), std::string::npos)
      << s.message();
  EXPECT_TRUE(held == before) << "a refused update changed the held tables";
}

}  // namespace
}  // namespace netfence::tables
