// SPDX-License-Identifier: Apache-2.0
// The translation of rule tables into map entries (no BPF needed).
#include "dataplane/xdp/map_entries.h"

#include <gtest/gtest.h>

#include <random>

#include "common/base/ip.h"
#include "common/tables/rule_keys.h"
#include "common/tables/wire.h"

namespace netfence::xdp {
namespace {

std::string Bytes(const char* ip) {
  const IpAddr a = *IpAddr::Parse(ip);
  return std::string(a.bytes.begin(), a.bytes.end());
}

// Every port of [first, last] in exactly one block, each block aligned, none outside.
void CheckCover(uint32_t first, uint32_t last) {
  const auto blocks = PortPrefixes(static_cast<uint16_t>(first), static_cast<uint16_t>(last));
  ASSERT_LE(blocks.size(), 30u);
  uint32_t next = first;
  for (const PortPrefix& b : blocks) {
    const uint32_t size = 1u << (16 - b.len);
    ASSERT_EQ(b.port, next) << first << "-" << last;
    ASSERT_EQ(b.port % size, 0u) << "unaligned block " << b.port << "/" << int{b.len};
    next += size;
  }
  ASSERT_EQ(next, last + 1) << first << "-" << last;
}

TEST(XdpMapEntries, PortPrefixesCoverRangesExactly) {
  EXPECT_EQ(PortPrefixes(80, 80), (std::vector<PortPrefix>{{80, 16}}));
  EXPECT_EQ(PortPrefixes(0, 65535), (std::vector<PortPrefix>{{0, 0}}));
  EXPECT_EQ(PortPrefixes(1, 65535).size(), 16u);
  EXPECT_EQ(PortPrefixes(1024, 2047), (std::vector<PortPrefix>{{1024, 6}}));
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    uint32_t a = rng() % 65536, b = rng() % 65536;
    if (i % 3 == 0) b = a + rng() % 300;
    if (b > 65535) b = 65535;
    CheckCover(std::min(a, b), std::max(a, b));
  }
  CheckCover(65535, 65535);
  CheckCover(0, 0);
}

v1::RuleTables OneTable() {
  v1::RuleTables t;
  t.add_policies()->set_name("p");
  auto* dt = t.add_tables();
  dt->set_isolated(true);
  dt->set_audit_isolated(true);  // isolated implies audit_isolated
  dt->set_rule_count(1);
  dt->set_row_words(1);
  dt->set_summary_words(1);
  dt->add_rule_policy(0);
  dt->add_rule_index(0);
  dt->set_all_pods_row(0xFFFFFFFFu);
  dt->set_other_protocols_row(0);
  t.add_words(1);
  t.add_words(1);
  return t;
}

TEST(XdpMapEntries, IpcacheFirstIdentityAndFirstEndpointWin) {
  v1::RuleTables t = OneTable();
  t.add_tables()->CopyFrom(t.tables(0));
  t.set_ipcache_addrs(Bytes("10.0.0.1") + Bytes("10.0.0.1") + Bytes("10.0.0.2"));
  for (uint32_t id : {300u, 301u, 302u}) t.add_ipcache_identities(id);
  for (uint32_t table : {0u, 1u}) {
    auto* ep = t.add_endpoints();
    ep->add_ips(Bytes("10.0.0.1"));
    ep->add_ips(Bytes("10.0.0.3"));
    ep->set_identity(400 + table);
    ep->set_ingress_table(table);
    ep->set_egress_table(table);
  }
  auto e = BuildMapEntries(t);
  ASSERT_TRUE(e.ok()) << e.status().message();
  ASSERT_EQ(e->ipcache.size(), 3u);
  EXPECT_EQ(e->ipcache[0].value.identity, 300u);  // ipcache's first entry
  EXPECT_EQ(e->ipcache[0].value.flags, NF_IP_LOCAL_ENDPOINT);
  EXPECT_EQ(e->ipcache[0].value.ingress_table, 0u);  // the first endpoint's
  EXPECT_EQ(e->ipcache[1].value.flags, 0u);
  EXPECT_EQ(e->ipcache[2].value.identity, 400u);  // not in ipcache: the endpoint's identity
  EXPECT_EQ(e->ipcache[2].value.egress_table, 0u);
}

TEST(XdpMapEntries, RejectsWhatLpmCannotMirror) {
  v1::RuleTables t = OneTable();
  auto* dt = t.mutable_tables(0);
  dt->set_cidr_addrs(Bytes("::ffff:10.0.0.1"));
  dt->add_cidr_lengths(120);
  dt->add_cidr_rows(0);
  auto e = BuildMapEntries(t);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("host bits"), std::string::npos) << e.status().message();

  dt->set_cidr_addrs(Bytes("::ffff:10.0.0.0") + Bytes("::ffff:10.0.0.0"));
  dt->add_cidr_lengths(120);
  dt->add_cidr_rows(0);
  e = BuildMapEntries(t);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("twice"), std::string::npos) << e.status().message();

  dt->set_cidr_addrs(Bytes("::ffff:10.0.1.0") + Bytes("::ffff:10.0.0.0"));  // unsorted
  e = BuildMapEntries(t);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("out of order"), std::string::npos) << e.status().message();
}

TEST(XdpMapEntries, RejectsMalformedTables) {
  v1::RuleTables t = OneTable();
  t.mutable_tables(0)->set_all_pods_row(1);  // row 1 + 2 words > 2 words of arena
  EXPECT_FALSE(BuildMapEntries(t).ok());

  t = OneTable();
  t.mutable_tables(0)->add_port_protocols(1);  // ICMP has no ports
  t.mutable_tables(0)->add_port_firsts(1);
  t.mutable_tables(0)->add_port_lasts(1);
  t.mutable_tables(0)->add_port_rows(0);
  EXPECT_FALSE(BuildMapEntries(t).ok());

  t = OneTable();
  for (auto [first, last] : {std::pair{10u, 20u}, std::pair{20u, 30u}}) {
    t.mutable_tables(0)->add_port_protocols(6);
    t.mutable_tables(0)->add_port_firsts(first);
    t.mutable_tables(0)->add_port_lasts(last);
    t.mutable_tables(0)->add_port_rows(0);
  }
  EXPECT_FALSE(BuildMapEntries(t).ok());

  t = OneTable();
  auto* dt = t.mutable_tables(0);
  const uint32_t rules = (NF_MAX_SUMMARY_WORDS + 1) * 64 * 64;
  dt->set_rule_count(rules);
  dt->set_row_words(rules / 64);
  dt->set_summary_words(NF_MAX_SUMMARY_WORDS + 1);
  for (uint32_t i = 1; i < rules; ++i) dt->add_rule_policy(0), dt->add_rule_index(0);
  dt->set_other_protocols_row(0xFFFFFFFFu);
  auto e = BuildMapEntries(t);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("at most"), std::string::npos) << e.status().message();
}

// Tables with ClusterNetworkPolicy tiers: the tier boundaries go into nf_table, and the rule
// bits that deny and those that pass become two bitmaps appended to the words arena (none when
// no bit has that action), which the program reads for the lowest matching bit's action.
TEST(XdpMapEntries, TieredTablesCarryTheirBoundariesAndActionBitmaps) {
  v1::RuleTables t = OneTable();
  t.add_tables()->CopyFrom(t.tables(0));
  t.add_tables()->CopyFrom(t.tables(0));
  auto* admin = t.add_policies();
  admin->set_name("guardrails");
  admin->set_kind("ClusterNetworkPolicy");
  admin->set_tier(v1::TIER_ADMIN);
  const auto admin_policy = static_cast<uint32_t>(t.policies_size() - 1);
  // Table 1: 70 rule bits (two row words): Admin 0..67 (Deny at 0 and 66, Pass at 1 and 67,
  // the rest Accept), NetworkPolicy 68..69. Table 2: one Admin Accept, no Deny or Pass.
  auto* dt = t.mutable_tables(1);
  dt->set_rule_count(70);
  dt->set_row_words(2);
  dt->clear_rule_policy();
  dt->clear_rule_index();
  for (uint32_t b = 0; b < 70; ++b) {
    dt->add_rule_policy(b < 68 ? admin_policy : 0);
    dt->add_rule_index(b < 68 ? b : 0);
    const uint32_t action = b >= 68               ? tables::kRuleAllow
                            : (b == 0 || b == 66) ? tables::kRuleDeny
                            : (b == 1 || b == 67) ? tables::kRulePass
                                                  : tables::kRuleAccept;
    dt->add_rule_flags(action);
  }
  dt->set_np_first_bit(68);
  dt->set_baseline_first_bit(70);
  dt->set_other_protocols_row(2);  // a row of its own: 1 summary word + 2 row words
  t.add_words(1);
  t.add_words(1);
  t.add_words(0);
  auto* accept_only = t.mutable_tables(2);
  accept_only->add_rule_flags(tables::kRuleAccept);
  accept_only->set_rule_policy(0, admin_policy);
  accept_only->set_np_first_bit(1);
  accept_only->set_baseline_first_bit(1);
  auto e = BuildMapEntries(t);
  ASSERT_TRUE(e.ok()) << e.status().message();
  ASSERT_EQ(e->tables.size(), 3u);
  EXPECT_EQ(e->tables[0].tiered, 0u);
  const nf_table& tiered = e->tables[1];
  EXPECT_EQ(tiered.tiered, 1u);
  EXPECT_EQ(tiered.np_first, 68u);
  EXPECT_EQ(tiered.bl_first, 70u);
  const auto table_words = static_cast<uint32_t>(t.words_size());
  EXPECT_EQ(tiered.deny_words, table_words);
  EXPECT_EQ(tiered.pass_words, table_words + 2);
  const std::vector<uint64_t> want_actions = {1ull, 1ull << 2, 2ull, 1ull << 3};  // deny, pass
  EXPECT_EQ(e->action_words, want_actions);
  EXPECT_EQ(e->tables[2].tiered, 1u);
  EXPECT_EQ(e->tables[2].deny_words, NF_EMPTY_ROW);
  EXPECT_EQ(e->tables[2].pass_words, NF_EMPTY_ROW);
  EXPECT_EQ(e->words, t.words_size() + 4u + e->rule_key_words.size());
  const std::vector<uint64_t> arena = Arena(t, *e);
  ASSERT_EQ(arena.size(), e->words);
  EXPECT_EQ(arena[tiered.deny_words + 1], 1ull << 2);
  EXPECT_EQ(arena[tiered.pass_words], 2ull);
}

// Audit mode: the rule bits of policies in audit become a bitmap appended to the words arena
// like the action bitmaps (the program leaves them out of the enforced decision), and
// audit_isolated goes into nf_table. A table without audited bits has no bitmap.
TEST(XdpMapEntries, AuditedBitsBecomeABitmapAndAuditIsolatedIsCarried) {
  v1::RuleTables t = OneTable();
  t.add_tables()->CopyFrom(t.tables(0));
  auto* audited = t.add_policies();
  audited->set_name("observed");
  audited->set_audit(true);
  const auto audited_policy = static_cast<uint32_t>(t.policies_size() - 1);
  // Table 1: 70 NetworkPolicy bits (two row words), those of the audited policy at 3 and 65;
  // isolated only by the audited policy.
  auto* dt = t.mutable_tables(1);
  dt->set_isolated(false);
  dt->set_audit_isolated(true);
  dt->add_audit_isolating_policies(audited_policy);
  dt->set_rule_count(70);
  dt->set_row_words(2);
  dt->clear_rule_policy();
  dt->clear_rule_index();
  for (uint32_t b = 0; b < 70; ++b) {
    const bool audit = b == 3 || b == 65;
    dt->add_rule_policy(audit ? audited_policy : 0);
    dt->add_rule_index(b);
    dt->add_rule_flags(tables::kRuleAllow | (audit ? tables::kRuleAudit : 0));
  }
  dt->set_np_first_bit(0);
  dt->set_baseline_first_bit(70);
  dt->set_other_protocols_row(2);
  t.add_words(1);
  t.add_words(1);
  t.add_words(0);
  auto e = BuildMapEntries(t);
  ASSERT_TRUE(e.ok()) << e.status().message();
  ASSERT_EQ(e->tables.size(), 2u);
  EXPECT_EQ(e->tables[0].audit_words, NF_EMPTY_ROW);
  EXPECT_EQ(e->tables[0].audit_isolated, 1u);  // isolated by an enforced policy
  const nf_table& a = e->tables[1];
  EXPECT_EQ(a.tiered, 1u);
  EXPECT_EQ(a.isolated, 0u);
  EXPECT_EQ(a.audit_isolated, 1u);
  EXPECT_EQ(a.np_first, 0u);
  EXPECT_EQ(a.bl_first, 70u);
  EXPECT_EQ(a.deny_words, NF_EMPTY_ROW);
  EXPECT_EQ(a.pass_words, NF_EMPTY_ROW);
  const auto table_words = static_cast<uint32_t>(t.words_size());
  EXPECT_EQ(a.audit_words, table_words);
  const std::vector<uint64_t> want = {1ull << 3, 1ull << 1};
  EXPECT_EQ(e->action_words, want);
  EXPECT_EQ(e->words, t.words_size() + 2u + e->rule_key_words.size());
  const std::vector<uint64_t> arena = Arena(t, *e);
  ASSERT_EQ(arena.size(), e->words);
  EXPECT_EQ(arena[a.audit_words + 1], 1ull << 1);
}

// Rule hit counters: every table's rule keys follow the action bitmaps in the arena, at
// nf_table.rule_keys, one per rule bit, the key of the bit's policy and rule index; a table
// without rules has none.
TEST(XdpMapEntries, RuleKeysFollowTheActionBitmapsOnePerBit) {
  v1::RuleTables t = OneTable();
  t.add_tables()->CopyFrom(t.tables(0));
  auto* empty = t.add_tables();
  empty->set_direction(v1::EGRESS);
  empty->set_all_pods_row(NF_EMPTY_ROW);
  empty->set_other_protocols_row(NF_EMPTY_ROW);
  auto e = BuildMapEntries(t);
  ASSERT_TRUE(e.ok()) << e.status().message();
  const std::vector<uint64_t> arena = Arena(t, *e);
  ASSERT_EQ(arena.size(), e->words);
  EXPECT_EQ(e->tables[2].rule_keys, NF_EMPTY_ROW);
  size_t keys = 0;
  for (int ti = 0; ti < 2; ++ti) {
    const nf_table& nt = e->tables[static_cast<size_t>(ti)];
    const v1::DirectionTable& dt = t.tables(ti);
    ASSERT_GT(dt.rule_count(), 0u);
    ASSERT_NE(nt.rule_keys, NF_EMPTY_ROW);
    EXPECT_GE(nt.rule_keys, t.words_size() + e->action_words.size());
    for (uint32_t b = 0; b < dt.rule_count(); ++b, ++keys) {
      const v1::PolicyRef& p = t.policies(static_cast<int>(dt.rule_policy(static_cast<int>(b))));
      EXPECT_EQ(arena[nt.rule_keys + b], tables::RuleKeyOf(p, dt.direction(), dt.rule_index(static_cast<int>(b))));
    }
  }
  EXPECT_EQ(e->rule_key_words.size(), keys);
}

}  // namespace
}  // namespace netfence::xdp
