// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/field_mask.h"

#include <gtest/gtest.h>

#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

TEST(FieldMaskTest, KeepsOnlyTheNamedFieldsInTheRecordsOrder) {
  auto m = FieldMask::ParseList("policies,src.pod,verdict,dst.pod");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->paths(), (std::vector<std::string>{"policies", "src.pod", "verdict", "dst.pod"}));
  EXPECT_EQ(m->Apply(ToJson(testing::StartRecord())),
            R"({"verdict":"allowed","src":{"pod":"frontend"},"dst":{"pod":"db"},)"
            R"("policies":[{"namespace":"shop","name":"allow-db","direction":"ingress","rule":0,)"
            R"("kind":"NetworkPolicy","tier":"NetworkPolicy","action":"Allow"},)"
            R"({"namespace":"shop","name":"frontend-egress","direction":"egress","rule":2,)"
            R"("kind":"NetworkPolicy","tier":"NetworkPolicy","action":"Allow"}]})");
}

TEST(FieldMaskTest, NestedFieldsOfEachPolicyLabelsAndFlags) {
  auto m = FieldMask::Parse({"policies.name", "src.labels.app", "tcp_flags.src", "src.ip", "event"});
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->Apply(ToJson(testing::StartRecord())),
            R"({"event":"start","src":{"ip":"10.0.1.5","labels":{"app":"frontend"}},)"
            R"("policies":[{"name":"allow-db"},{"name":"frontend-egress"}],"tcp_flags":{"src":["SYN"]}})");
  // A field the record does not have is left out; a whole field covers its parts.
  auto drop = FieldMask::Parse({"count", "src", "src.pod", "end_reason"});
  ASSERT_TRUE(drop.ok());
  EXPECT_EQ(drop->Apply(ToJson(testing::DropRecord())),
            R"({"src":{"ip":"10.0.1.5","port":40000,"namespace":"shop","pod":"frontend","node":"node-a"},"count":3})");
}

TEST(FieldMaskTest, LostRecordsAndNonRecordsAreNeverMasked) {
  auto m = FieldMask::Parse({"src.pod"});
  ASSERT_TRUE(m.ok());
  const std::string lost = ToJson(LostRecord(3, testing::kT0, testing::kT0 + 1, "ring-buffer", testing::kT0, "n"));
  EXPECT_EQ(m->Apply(lost), lost);
  EXPECT_EQ(m->Apply("not json"), "not json");
  EXPECT_EQ(FieldMask().Apply(lost), lost);  // empty: everything
}

TEST(FieldMaskTest, AnUnknownFieldIsAnErrorListingTheKnownOnes) {
  for (const char* bad : {"src.podd", "verdicts", "", "src.", "policies.name.x", "src.labels.a.b", "tcp_flags.x"}) {
    auto m = FieldMask::Parse({bad});
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_NE(m.status().message().find(std::string("\"") + bad +
                                        "\" is not a field of a flow record (fields: "
                                        "schema, time, event"),
              std::string::npos)
        << m.status().message();
  }
  // Every path it lists is accepted (KEY standing for any label key).
  for (std::string p : FieldMask::KnownPaths()) {
    if (auto k = p.find("KEY"); k != std::string::npos) p.replace(k, 3, "app");
    EXPECT_TRUE(FieldMask::Parse({p}).ok()) << p;
  }
}

}  // namespace
}  // namespace netfence::flowlog
