// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/record_format.h"

#include <gtest/gtest.h>

#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

FieldMask Mask(const char* list) {
  auto m = FieldMask::ParseList(list);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? *m : FieldMask{};
}

std::string Print(const RecordPrinter& p, const FlowRecord& r) {
  auto line = p.Line(&r, ToJson(r));
  EXPECT_TRUE(line.ok()) << line.status().message();
  return line.ok() ? *line : "";
}

TEST(RecordFormatTest, CsvHasAHeaderAndQuotesWhatNeedsIt) {
  RecordPrinter p(Shape::kCsv, Mask("time,src,dst.pod,verdict,policies,src.labels,tcp_flags"), nullptr);
  EXPECT_EQ(p.Header(), "time,src,dst.pod,verdict,policies,src.labels,tcp_flags\n");
  EXPECT_EQ(
      Print(p, testing::StartRecord()),
      "2026-12-01T19:33:34.123456789Z,shop/frontend 10.0.1.5:34567,db,allowed,"
      "shop/allow-db ingress rule 0; shop/frontend-egress egress rule 2,\"app=frontend,tier=web\",src=SYN dst=\n");
  FlowRecord odd = testing::DropRecord();
  odd.src.pod = "a,\"b\"";
  RecordPrinter pods(Shape::kCsv, Mask("src.pod,dst,count,policies.rule"), nullptr);
  EXPECT_EQ(Print(pods, odd), "\"a,\"\"b\"\"\",[fd00::1]:53,3,\n");
}

TEST(RecordFormatTest, DefaultCsvColumns) {
  RecordPrinter p(Shape::kCsv, FieldMask{}, nullptr);
  EXPECT_EQ(p.Header(),
            "time,node,event,verdict,direction,reason,proto,src.namespace,src.pod,src.ip,src.port,dst.namespace,"
            "dst.pod,dst.ip,dst.port,community_id,packets,bytes,count,generation,policies\n");
  EXPECT_EQ(Print(p, testing::DropRecord()),
            "2026-12-01T19:33:36.123456789Z,node-b,drop,denied,ingress,default-deny,UDP,shop,frontend,10.0.1.5,"
            "40000,,,fd00::1,53,1:xyz=,3,300,3,4,shop/deny-all ingress (isolates)\n");
}

TEST(RecordFormatTest, TableColumnsOfAMaskAndTheTableForPeople) {
  RecordPrinter masked(Shape::kTable, Mask("src.pod,dst.pod,verdict"), nullptr);
  EXPECT_EQ(masked.Header(), "SRC.POD           DST.POD           VERDICT\n");
  EXPECT_EQ(Print(masked, testing::StartRecord()), "frontend          db                allowed\n");
  RecordPrinter table(Shape::kTable, FieldMask{}, nullptr);
  EXPECT_EQ(table.Header(), TableHeader());
  FlowRecord folded = testing::DropRecord();
  folded.aggregation = Aggregation::kFolded;
  folded.folded_tuples = 40;
  EXPECT_NE(Print(table, folded).find("drops=3 tuples=40 bytes=300"), std::string::npos);
}

TEST(RecordFormatTest, JsonIsTheLineOrItsMaskedFieldsAndJsonpbGoesThroughTheConverter) {
  const std::string line = ToJson(testing::StartRecord());
  RecordPrinter json(Shape::kJson, FieldMask{}, nullptr);
  EXPECT_EQ(*json.Line(nullptr, line), line + "\n");
  RecordPrinter masked(Shape::kJson, Mask("verdict"), nullptr);
  EXPECT_EQ(*masked.Line(nullptr, line), "{\"verdict\":\"allowed\"}\n");
  RecordPrinter pb(Shape::kJsonpb, Mask("verdict"),
                   [](std::string_view l) -> StatusOr<std::string> { return "pb:" + std::string(l); });
  EXPECT_EQ(*pb.Line(nullptr, line), "pb:{\"verdict\":\"allowed\"}\n");
}

}  // namespace
}  // namespace netfence::flowlog
