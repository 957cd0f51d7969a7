// SPDX-License-Identifier: Apache-2.0
// Audit records in the readers of the log: filters, field masks, the table and csv shapes,
// the summary and the graph say what policies in audit would change, and leave logs without
// audit records exactly as they were.
#include <gtest/gtest.h>

#include "dataplane/flowlog/community_id.h"
#include "dataplane/flowlog/field_mask.h"
#include "dataplane/flowlog/flow_filter.h"
#include "dataplane/flowlog/flow_graph.h"
#include "dataplane/flowlog/flow_summary.h"
#include "dataplane/flowlog/record_format.h"
#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::AuditDropRecord;
using testing::AuditStartRecord;

TEST(AuditRecordsTest, TheVerdictFilterFindsAuditRecordsOfEveryKind) {
  FlowFilter f;
  f.verdicts = {Verdict::kAudit};
  FlowRecord end = AuditStartRecord();
  end.event = EventKind::kEnd;
  EXPECT_TRUE(f.Matches(AuditStartRecord()));
  EXPECT_TRUE(f.Matches(end));
  EXPECT_TRUE(f.Matches(AuditDropRecord()));
  EXPECT_FALSE(f.Matches(testing::StartRecord()));
  EXPECT_FALSE(f.Matches(testing::DropRecord()));
}

TEST(AuditRecordsTest, FieldMasksKnowTheAuditFields) {
  auto m = FieldMask::ParseList("verdict,enforced,audited,audit_reason,audit_policies.name,audit_policies.audit");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->Apply(ToJson(AuditStartRecord())),
            R"({"verdict":"audit","enforced":"allowed","audited":"denied","audit_reason":"default-deny",)"
            R"("audit_policies":[{"name":"db-lockdown","audit":true},{"name":"db-base"}]})");
  // A record without them: the fields are absent, not null.
  EXPECT_EQ(m->Apply(ToJson(testing::StartRecord())), R"({"verdict":"allowed"})");
  auto known = FieldMask::KnownPaths();
  for (const char* p :
       {"enforced", "audited", "audit_reason", "audit_policies", "audit_policies.rule_name", "policies.audit"}) {
    EXPECT_NE(std::find(known.begin(), known.end(), p), known.end()) << p;
  }
}

TEST(AuditRecordsTest, TableAndCsvSayWhatWouldHappen) {
  RecordPrinter table(Shape::kTable, FieldMask{}, nullptr);
  const FlowRecord drop = AuditDropRecord();
  auto printed = table.Line(&drop, ToJson(drop));
  ASSERT_TRUE(printed.ok());
  EXPECT_NE(printed->find("  audit: denied, would be allowed (policy) by ClusterNetworkPolicy/dns ingress rule 1 "
                          "Accept \"allow-dns\" (audit)\n"),
            std::string::npos)
      << *printed;
  // Plain records end as before.
  const FlowRecord start = testing::StartRecord();
  EXPECT_EQ(table.Line(&start, ToJson(start))->find("audit"), std::string::npos);
  auto m = FieldMask::ParseList("verdict,enforced,audited,audit_reason,audit_policies");
  ASSERT_TRUE(m.ok());
  RecordPrinter csv(Shape::kCsv, *m, nullptr);
  const FlowRecord a = AuditStartRecord();
  EXPECT_EQ(*csv.Line(&a, ToJson(a)),
            "audit,allowed,denied,default-deny,shop/db-lockdown ingress (isolates) (audit); shop/db-base ingress "
            "(isolates)\n");
  EXPECT_EQ(*csv.Line(&start, ToJson(start)), "allowed,,,,\n");
}

TEST(AuditRecordsTest, TheSummarySaysWhatEnforcingThemWouldChangeOnlyWhenThereIsAudit) {
  FlowSummary plain;
  plain.Add(testing::StartRecord());
  plain.Add(testing::DropRecord());
  EXPECT_EQ(plain.ToText(10).find("Audit"), std::string::npos);
  EXPECT_FALSE(plain.ToJson(10).contains("audit"));

  FlowSummary s;
  const FlowRecord start = AuditStartRecord();
  FlowRecord end = start;  // the same connection: one flow
  end.event = EventKind::kEnd;
  s.Add(start);
  s.Add(end);
  s.Add(AuditDropRecord());
  s.Add(testing::DropRecord());  // denied, nothing in audit would allow it
  EXPECT_EQ(s.drops(), 6u);      // audit drops are drops
  const auto audit = s.TopAudit(10);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].would, "allow");
  EXPECT_EQ(audit[0].pair, "shop/frontend -> fd00::1 53/UDP");
  EXPECT_EQ(audit[0].drops, 3u);
  EXPECT_EQ(audit[0].policies, std::set<std::string>{"ClusterNetworkPolicy/dns"});
  EXPECT_EQ(audit[1].would, "deny");
  EXPECT_EQ(audit[1].pair, "shop/frontend -> shop/db 5432/TCP");
  EXPECT_EQ(audit[1].flows, 1u);
  EXPECT_EQ(audit[1].policies, (std::set<std::string>{"shop/db-base", "shop/db-lockdown"}));
  EXPECT_EQ(s.ToJson(10)["audit"].dump(),
            R"([{"drops":3,"flows":0,"pair":"shop/frontend -> fd00::1 53/UDP","policies":["ClusterNetworkPolicy/dns"],)"
            R"("would":"allow"},{"drops":0,"flows":1,"pair":"shop/frontend -> shop/db 5432/TCP",)"
            R"("policies":["shop/db-base","shop/db-lockdown"],"would":"deny"}])");
  EXPECT_NE(s.ToText(10).find("\nAudit: enforcing the policies in audit would\n"
                              "  FLOWS DROPS WOULD SOURCE -> DESTINATION PORT/PROTO (POLICIES)\n"
                              "      0     3 allow shop/frontend -> fd00::1 53/UDP (ClusterNetworkPolicy/dns)\n"
                              "      1     0  deny shop/frontend -> shop/db 5432/TCP (shop/db-base, "
                              "shop/db-lockdown)\n"),
            std::string::npos)
      << s.ToText(10);
}

TEST(AuditRecordsTest, TheGraphNamesWhatWouldDenyAnAuditEdgeAndCountsAuditDropsAsDrops) {
  FlowGraph g({});
  g.Add(AuditStartRecord());
  g.Add(AuditDropRecord());
  std::map<Verdict, FlowGraph::Edge> edges;
  for (const auto& e : g.Edges()) edges[e.verdict] = e;
  ASSERT_EQ(edges.size(), 2u);
  EXPECT_EQ(edges[Verdict::kAudit].policies, (std::set<std::string>{"shop/db-base", "shop/db-lockdown"}));
  EXPECT_EQ(edges[Verdict::kDenied].packets, 3u);
  EXPECT_NE(g.ToDot().find("audit: would be decided by shop/db-base, shop/db-lockdown"), std::string::npos);
}

}  // namespace
}  // namespace netfence::flowlog
