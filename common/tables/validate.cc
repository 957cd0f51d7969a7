// SPDX-License-Identifier: Apache-2.0
#include "common/tables/validate.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <utility>

#include "common/tables/wire.h"

namespace netfence::tables {
namespace {

Status Bad(const std::string& name, const std::string& what) { return Status::Error(name + ": " + what); }

// Whether `row` (an offset into `words`, or kEmptyRow) is a well-formed row of a table with
// `summary_words` + `row_words` words per row and `rule_count` rules.
bool RowOk(uint32_t row, std::span<const uint64_t> words, uint32_t summary_words, uint32_t row_words,
           uint32_t rule_count) {
  if (row == kEmptyRow) return true;
  if (uint64_t{row} + summary_words + row_words > words.size()) return false;
  const uint64_t* summary = words.data() + row;
  const uint64_t* bits = summary + summary_words;
  for (uint32_t w = 0; w < row_words; ++w) {
    const bool marked = (summary[w / 64] >> (w % 64)) & 1;
    if (marked != (bits[w] != 0)) return false;  // a wrong summary hides or invents rules
  }
  for (uint32_t j = 0; j < summary_words; ++j) {
    const uint32_t valid = std::min<uint32_t>(64, row_words - 64 * j);
    if (valid < 64 && (summary[j] >> valid) != 0) return false;
  }
  const uint32_t tail = rule_count % 64;
  return tail == 0 || row_words == 0 || (bits[row_words - 1] >> tail) == 0;
}

using Addr = std::array<uint8_t, 16>;

Addr AddrAt(const std::string& bytes, int i) {
  Addr a;
  std::memcpy(a.data(), bytes.data() + 16 * static_cast<size_t>(i), 16);
  return a;
}

bool HostBitsClear(const Addr& a, uint32_t len) {
  for (uint32_t bit = len; bit < 128; ++bit) {
    if (a[bit / 8] & (0x80u >> (bit % 8))) return false;
  }
  return true;
}

}  // namespace

// The tiers of a table (rule_flags): Admin bits [0, np_first_bit) and Baseline bits
// [baseline_first_bit, rule_count) carry Accept, Deny or Pass and a cluster policy of their
// tier; NetworkPolicy bits carry Allow and a NetworkPolicy.
static Status ValidateTiers(const v1::DirectionTable& dt,
                            const google::protobuf::RepeatedPtrField<v1::PolicyRef>& policies,
                            const std::string& name) {
  const uint32_t n = dt.rule_count();
  if (dt.rule_flags_size() == 0) {
    if (dt.np_first_bit() != 0 || dt.baseline_first_bit() != 0) return Bad(name, "tier boundaries without rule_flags");
    return Status::Ok();
  }
  if (static_cast<uint32_t>(dt.rule_flags_size()) != n) return Bad(name, "rule_flags must list every rule");
  if (dt.np_first_bit() > dt.baseline_first_bit() || dt.baseline_first_bit() > n) {
    return Bad(name, "np_first_bit and baseline_first_bit out of order");
  }
  for (uint32_t b = 0; b < n; ++b) {
    const uint32_t flags = dt.rule_flags(static_cast<int>(b));
    const uint32_t action = flags & kRuleActionMask;
    const v1::PolicyRef& policy = policies.Get(static_cast<int>(dt.rule_policy(static_cast<int>(b))));
    const v1::Tier want = b < dt.np_first_bit()         ? v1::TIER_ADMIN
                          : b < dt.baseline_first_bit() ? v1::TIER_NETWORK_POLICY
                                                        : v1::TIER_BASELINE;
    const bool np = want == v1::TIER_NETWORK_POLICY;
    if ((flags & ~kRuleKnownFlags) != 0 || np != (action == kRuleAllow) || policy.tier() != want) {
      return Bad(name, "rule bit " + std::to_string(b) + " has an action or policy of another tier");
    }
    if (((flags & kRuleAudit) != 0) != policy.audit()) {
      return Bad(name, "rule bit " + std::to_string(b) + " has an audit flag its policy does not have");
    }
  }
  return Status::Ok();
}

Status ValidateDirectionTable(const v1::DirectionTable& dt, std::span<const uint64_t> words,
                              const google::protobuf::RepeatedPtrField<v1::PolicyRef>& policy_list,
                              const std::string& name) {
  const auto policies = static_cast<size_t>(policy_list.size());
  const uint32_t rules = dt.rule_count(), W = dt.row_words(), S = dt.summary_words();
  if (W != (uint64_t{rules} + 63) / 64 || S != (uint64_t{W} + 63) / 64) {
    return Bad(name, "row_words " + std::to_string(W) + " and summary_words " + std::to_string(S) + " do not fit " +
                         std::to_string(rules) + " rules");
  }
  if (dt.rule_policy_size() != static_cast<int>(rules) || dt.rule_index_size() != static_cast<int>(rules)) {
    return Bad(name, "rule_policy and rule_index must list " + std::to_string(rules) + " rules");
  }
  for (uint32_t p : dt.rule_policy()) {
    if (p >= policies) return Bad(name, "rule_policy " + std::to_string(p) + " names no policy");
  }
  for (uint32_t p : dt.isolating_policies()) {
    if (p >= policies) return Bad(name, "isolating_policies " + std::to_string(p) + " names no policy");
    if (policy_list.Get(static_cast<int>(p)).audit()) {
      return Bad(name, "isolating_policies " + std::to_string(p) + " is in audit (audit_isolating_policies)");
    }
  }
  for (uint32_t p : dt.audit_isolating_policies()) {
    if (p >= policies) return Bad(name, "audit_isolating_policies " + std::to_string(p) + " names no policy");
    if (!policy_list.Get(static_cast<int>(p)).audit()) {
      return Bad(name, "audit_isolating_policies " + std::to_string(p) + " is not in audit");
    }
  }
  // Tables of an earlier compiler say nothing of audit: isolated alone stands for both.
  if ((dt.audit_isolated() || dt.isolated()) != (dt.isolated() || dt.audit_isolating_policies_size() > 0)) {
    return Bad(name, "audit_isolated must be isolated or isolation by a policy in audit");
  }
  if (dt.rule_flags_size() == 0) {
    for (uint32_t p : dt.rule_policy()) {
      if (p < policies && policy_list.Get(static_cast<int>(p)).audit()) {
        return Bad(name, "a policy in audit has rule bits but the table has no rule_flags");
      }
    }
  }
  const int nids = dt.identity_ids_size(), ncidrs = dt.cidr_lengths_size(), nports = dt.port_rows_size();
  if (dt.identity_rows_size() != nids || dt.cidr_rows_size() != ncidrs ||
      dt.cidr_addrs().size() != 16 * static_cast<size_t>(ncidrs) || dt.port_protocols_size() != nports ||
      dt.port_firsts_size() != nports || dt.port_lasts_size() != nports) {
    return Bad(name, "dimension arrays of unequal length");
  }
  auto row_ok = [&](uint32_t row) { return RowOk(row, words, S, W, rules); };
  if (!row_ok(dt.all_pods_row())) return Bad(name, "all_pods_row malformed or out of range");
  if (!row_ok(dt.other_protocols_row())) return Bad(name, "other_protocols_row malformed or out of range");
  for (int i = 0; i < nids; ++i) {
    if (!row_ok(dt.identity_rows(i))) return Bad(name, "identity_rows[" + std::to_string(i) + "] malformed");
    if (i > 0 && dt.identity_ids(i - 1) >= dt.identity_ids(i)) {
      return Bad(name, "identity_ids not strictly ascending at " + std::to_string(i));
    }
  }
  for (int i = 0; i < ncidrs; ++i) {
    const Addr a = AddrAt(dt.cidr_addrs(), i);
    const uint32_t len = dt.cidr_lengths(i);
    if (!row_ok(dt.cidr_rows(i))) return Bad(name, "cidr_rows[" + std::to_string(i) + "] malformed");
    if (len > 128 || !HostBitsClear(a, len)) {
      return Bad(name, "CIDR prefix " + std::to_string(i) + ": length over 128 or host bits set");
    }
    if (i > 0 && std::pair(AddrAt(dt.cidr_addrs(), i - 1), dt.cidr_lengths(i - 1)) >= std::pair(a, len)) {
      return Bad(name, "CIDR prefix " + std::to_string(i) + " out of order or listed twice");
    }
  }
  std::map<uint32_t, uint32_t> last_by_proto;
  for (int i = 0; i < nports; ++i) {
    const uint32_t proto = dt.port_protocols(i), first = dt.port_firsts(i), last = dt.port_lasts(i);
    if (!row_ok(dt.port_rows(i))) return Bad(name, "port_rows[" + std::to_string(i) + "] malformed");
    if ((proto != 6 && proto != 17 && proto != 132) || first > last || last > 65535) {
      return Bad(name, "port entry " + std::to_string(i) + " is not a TCP/UDP/SCTP range");
    }
    auto prev = last_by_proto.find(proto);
    if (prev != last_by_proto.end() && prev->second >= first) {
      return Bad(name, "port entry " + std::to_string(i) + " out of order or overlapping");
    }
    last_by_proto[proto] = last;
  }
  return ValidateTiers(dt, policy_list, name);
}

Status ValidateRuleTables(const v1::RuleTables& t) {
  if (t.ipcache_addrs().size() != 16 * static_cast<size_t>(t.ipcache_identities_size())) {
    return Status::Error("ipcache: " + std::to_string(t.ipcache_addrs().size()) + " address bytes for " +
                         std::to_string(t.ipcache_identities_size()) + " identities");
  }
  const auto ntables = static_cast<uint32_t>(t.tables_size());
  for (const auto& ep : t.endpoints()) {
    if (ep.ingress_table() >= ntables || ep.egress_table() >= ntables) {
      return Status::Error("endpoint " + ep.namespace_() + "/" + ep.name() + " refers to a missing table");
    }
    for (const auto& ip : ep.ips()) {
      if (ip.size() != 16)
        return Status::Error("endpoint " + ep.namespace_() + "/" + ep.name() + " has a malformed address");
    }
  }
  const std::span<const uint64_t> words(t.words().data(), static_cast<size_t>(t.words_size()));
  for (int i = 0; i < t.tables_size(); ++i) {
    Status s = ValidateDirectionTable(t.tables(i), words, t.policies(), "table " + std::to_string(i));
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status ValidateTableUnit(uint64_t id, const v1::DirectionTable& unit) {
  const std::span<const uint64_t> words(unit.words().data(), static_cast<size_t>(unit.words_size()));
  return ValidateDirectionTable(unit, words, unit.policies(), "table unit " + std::to_string(id));
}

}  // namespace netfence::tables
