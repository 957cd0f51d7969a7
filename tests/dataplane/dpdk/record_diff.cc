// SPDX-License-Identifier: Apache-2.0
#include "tests/dataplane/dpdk/record_diff.h"

#include <cstring>

namespace netfence::dpdktest {

std::string RecordDiff(const DpdkRun& dpdk, const xdptest::RunResult& xdp) {
  if (!xdp.ok) return "  xdp test run failed: " + xdp.error + "\n";
  std::string diff;
  auto field = [&](const char* name, uint64_t d, uint64_t x) {
    if (d != x) diff += std::string("  ") + name + ": dpdk " + std::to_string(d) + ", xdp " + std::to_string(x) + "\n";
  };
  const nf_decision& a = dpdk.decision;
  const nf_decision& b = xdp.decision;
  field("action", dpdk.action, xdp.action);
  field("record action", a.action, b.action);
  field("drop reason", a.drop_reason, b.drop_reason);
  field("parsed", a.parsed, b.parsed);
  field("path", a.path, b.path);
  field("proto", a.proto, b.proto);
  field("dport", a.dport, b.dport);
  field("egress outcome", a.verdict.egress_outcome, b.verdict.egress_outcome);
  field("egress table", a.verdict.egress_table, b.verdict.egress_table);
  field("egress rule", a.verdict.egress_rule, b.verdict.egress_rule);
  field("ingress outcome", a.verdict.ingress_outcome, b.verdict.ingress_outcome);
  field("ingress table", a.verdict.ingress_table, b.verdict.ingress_table);
  field("ingress rule", a.verdict.ingress_rule, b.verdict.ingress_rule);
  field("audit egress outcome", a.verdict.audit_egress_outcome, b.verdict.audit_egress_outcome);
  field("audit egress rule", a.verdict.audit_egress_rule, b.verdict.audit_egress_rule);
  field("audit ingress outcome", a.verdict.audit_ingress_outcome, b.verdict.audit_ingress_outcome);
  field("audit ingress rule", a.verdict.audit_ingress_rule, b.verdict.audit_ingress_rule);
  if (std::memcmp(a.src, b.src, 16) != 0 || std::memcmp(a.dst, b.dst, 16) != 0) diff += "  addresses differ\n";
  return diff;
}

}  // namespace netfence::dpdktest
