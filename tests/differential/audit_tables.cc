// SPDX-License-Identifier: Apache-2.0
#include "tests/differential/audit_tables.h"

#include <vector>

#include "common/tables/wire.h"

namespace netfence::reference {

int AuditSome(v1::RuleTables* tables, std::mt19937_64& rng) {
  FillAuditIsolated(tables);
  const int n = tables->policies_size();
  std::vector<bool> audit(static_cast<size_t>(n), false);
  int audited = 0;
  for (int p = 0; p < n; ++p) {
    if (rng() % 3 == 0) audit[static_cast<size_t>(p)] = true;
  }
  // At least one policy that matters somewhere, so that a cluster is never audited in vain.
  std::vector<int> used;
  for (const v1::DirectionTable& dt : tables->tables()) {
    for (uint32_t p : dt.rule_policy()) used.push_back(static_cast<int>(p));
    for (uint32_t p : dt.isolating_policies()) used.push_back(static_cast<int>(p));
  }
  if (!used.empty()) audit[static_cast<size_t>(used[rng() % used.size()])] = true;
  for (int p = 0; p < n; ++p) {
    if (!audit[static_cast<size_t>(p)]) continue;
    tables->mutable_policies(p)->set_audit(true);
    ++audited;
  }
  for (v1::DirectionTable& dt : *tables->mutable_tables()) {
    bool has_audited_bit = false;
    for (uint32_t p : dt.rule_policy()) has_audited_bit |= audit[p];
    if (has_audited_bit && dt.rule_flags_size() == 0) {
      // Untiered: every bit a NetworkPolicy allow, the whole table the NetworkPolicy tier.
      for (uint32_t b = 0; b < dt.rule_count(); ++b) dt.add_rule_flags(tables::kRuleAllow);
      dt.set_np_first_bit(0);
      dt.set_baseline_first_bit(dt.rule_count());
    }
    for (int b = 0; b < dt.rule_flags_size(); ++b) {
      if (audit[dt.rule_policy(b)]) dt.set_rule_flags(b, dt.rule_flags(b) | tables::kRuleAudit);
    }
    std::vector<uint32_t> enforced, observed;
    for (uint32_t p : dt.isolating_policies()) (audit[p] ? observed : enforced).push_back(p);
    for (uint32_t p : dt.audit_isolating_policies()) observed.push_back(p);
    dt.clear_isolating_policies();
    dt.clear_audit_isolating_policies();
    for (uint32_t p : enforced) dt.add_isolating_policies(p);
    for (uint32_t p : observed) dt.add_audit_isolating_policies(p);
    dt.set_isolated(!enforced.empty());
    dt.set_audit_isolated(dt.isolated() || !observed.empty());
  }
  return audited;
}

void FillAuditIsolated(v1::RuleTables* tables) {
  for (v1::DirectionTable& dt : *tables->mutable_tables()) {
    dt.set_audit_isolated(dt.isolated() || dt.audit_isolating_policies_size() > 0);
  }
}

}  // namespace netfence::reference
