// SPDX-License-Identifier: Apache-2.0
// Tables of two compiled states compared for verdicts (controlplane/reach/table_diff.h): the
// same policy compiled twice is the same; a relabelled peer changes only the rows of its old
// and new identity; a port edit changes the base (every peer); no table on one side is every
// peer.
#include "controlplane/reach/table_diff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/controlplane/reach/reach_fixture.h"

namespace netfence::reach {
namespace {

using netfence::testing::PolicyYaml;
using testing::After;
using testing::Base;
using testing::CompileState;
using testing::kWebIn;
using testing::Load;

// a/web's ingress table in a compiled state.
uint32_t WebIngress(const v1::RuleTables& t) {
  for (const auto& e : t.endpoints()) {
    if (e.namespace_() == "a" && e.name() == "web") return e.ingress_table();
  }
  ADD_FAILURE() << "no a/web";
  return kNoTable;
}

uint32_t IdentityOf(const v1::RuleTables& t, const std::string& ns, const std::string& name) {
  for (const auto& e : t.endpoints()) {
    if (e.namespace_() == ns && e.name() == name) return e.identity();
  }
  ADD_FAILURE() << "no " << ns << "/" << name;
  return 0;
}

TEST(TableDiff, ARelabelledPeerChangesOnlyItsRows) {
  const auto before = Load(Base() + kWebIn);
  k8s::Pod client;
  for (const auto& p : before.pods) {
    if (p.meta.name == "client") client = p;
  }
  client.meta.labels["version"] = "v2";  // still app=client: still admitted, another identity
  Change change;
  change.objects.pods.push_back(client);
  const k8s::ClusterState after = After(before, change);
  const testing::Compiled b = CompileState(before), a = CompileState(after);
  TableDiffer differ(*b.tables, *a.tables);
  const TableDiff& d = differ.Diff(WebIngress(*b.tables), WebIngress(*a.tables));
  EXPECT_FALSE(d.any_peer);
  std::vector<uint32_t> ids = {IdentityOf(*b.tables, "a", "client"), IdentityOf(*a.tables, "a", "client")};
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(d.rows_differ, ids);
}

TEST(TableDiff, APortEditChangesTheBaseAndTheSameTablesNothing) {
  const auto before = Load(Base() + kWebIn);
  const Change edit{Load(PolicyYaml("a", "web-in",
                                    "  podSelector: {matchLabels: {app: web}}\n  ingress:\n"
                                    "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                                    "    ports: [{protocol: TCP, port: 8080}]")),
                    {}};
  const k8s::ClusterState after = After(before, edit);
  const testing::Compiled b = CompileState(before), a = CompileState(after), again = CompileState(before);
  TableDiffer differ(*b.tables, *a.tables);
  EXPECT_TRUE(differ.Diff(WebIngress(*b.tables), WebIngress(*a.tables)).any_peer);
  EXPECT_TRUE(differ.Diff(kNoTable, WebIngress(*a.tables)).any_peer);
  EXPECT_TRUE(differ.Diff(kNoTable, kNoTable).same());
  TableDiffer same(*b.tables, *again.tables);
  for (int t = 0; t < b.tables->tables_size(); ++t) {
    EXPECT_TRUE(same.Diff(static_cast<uint32_t>(t), static_cast<uint32_t>(t)).same()) << "table " << t;
  }
}

}  // namespace
}  // namespace netfence::reach
