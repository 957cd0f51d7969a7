// SPDX-License-Identifier: Apache-2.0
// Audit mode for the differential tests: compiled tables with some of their policies turned
// into audited ones at the table level, so that the datapaths' two decisions per direction
// (enforced and audited) can be compared with the classifier's on random clusters.
#pragma once

#include <random>

#include "netfence/v1/tables.pb.h"

namespace netfence::reference {

// Puts random policies of `tables` in audit (about one in three; always at least one if any
// policy has rule bits or isolates) the way the compiler would have: PolicyRef.audit set,
// kRuleAudit on every rule bit of theirs (a table without rule_flags gets them: its bits are
// all NetworkPolicy allows, np_first_bit 0, baseline_first_bit rule_count), their entries of
// isolating_policies moved to audit_isolating_policies, isolated = isolation by the policies
// left enforced, audit_isolated = isolated or isolation by an audited one. The result passes
// tables::ValidateRuleTables when `tables` did. Returns how many policies it put in audit.
int AuditSome(v1::RuleTables* tables, std::mt19937_64& rng);

// Sets audit_isolated as the compiler does: isolated, or isolation by an audited policy (tables of
// an earlier compiler leave it false, which readers take as `isolated`).
void FillAuditIsolated(v1::RuleTables* tables);

}  // namespace netfence::reference
