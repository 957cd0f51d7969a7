// SPDX-License-Identifier: Apache-2.0
#include "common/tables/rule_keys.h"

namespace netfence::tables {

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t Mix(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * kFnvPrime;
  return (h ^ 0u) * kFnvPrime;  // the separator: ("ab","c") and ("a","bc") differ
}

const std::string& RuleNameAt(const v1::PolicyRef& p, v1::Direction d, uint32_t rule) {
  static const std::string kNone;
  const auto& names = d == v1::INGRESS ? p.ingress_rule_names() : p.egress_rule_names();
  return rule < static_cast<uint32_t>(names.size()) ? names.Get(static_cast<int>(rule)) : kNone;
}

}  // namespace

std::string_view KindOf(const v1::PolicyRef& policy) {
  return policy.kind().empty() ? kNetworkPolicyKind : std::string_view(policy.kind());
}

uint64_t RuleKey(std::string_view kind, std::string_view ns, std::string_view name, v1::Direction direction,
                 uint32_t rule) {
  uint64_t h = kFnvOffset;
  h = Mix(h, kind);
  h = Mix(h, ns);
  h = Mix(h, name);
  h = Mix(h, direction == v1::INGRESS ? "ingress" : "egress");
  for (int i = 0; i < 4; ++i) h = (h ^ ((rule >> (8 * i)) & 0xFF)) * kFnvPrime;
  return h == 0 ? 1 : h;
}

uint64_t RuleKeyOf(const v1::PolicyRef& policy, v1::Direction direction, uint32_t rule) {
  return RuleKey(KindOf(policy), policy.namespace_(), policy.name(), direction, rule);
}

std::vector<uint64_t> TableRuleKeys(const v1::RuleTables& rt, int t) {
  const v1::DirectionTable& dt = rt.tables(t);
  std::vector<uint64_t> keys(dt.rule_count(), 0);
  for (uint32_t b = 0; b < dt.rule_count() && b < static_cast<uint32_t>(dt.rule_policy_size()) &&
                       b < static_cast<uint32_t>(dt.rule_index_size());
       ++b) {
    const uint32_t p = dt.rule_policy(static_cast<int>(b));
    if (p >= static_cast<uint32_t>(rt.policies_size())) continue;
    keys[b] = RuleKeyOf(rt.policies(static_cast<int>(p)), dt.direction(), dt.rule_index(static_cast<int>(b)));
  }
  return keys;
}

void RuleCatalog::Add(const v1::RuleTables& rt) {
  for (const v1::DirectionTable& dt : rt.tables()) {
    const int n = std::min(dt.rule_policy_size(), dt.rule_index_size());
    for (int b = 0; b < n; ++b) {
      const uint32_t p = dt.rule_policy(b);
      if (p >= static_cast<uint32_t>(rt.policies_size())) continue;
      const v1::PolicyRef& ref = rt.policies(static_cast<int>(p));
      const uint32_t rule = dt.rule_index(b);
      const uint64_t key = RuleKeyOf(ref, dt.direction(), rule);
      if (names_.count(key)) continue;
      names_[key] = RuleName{std::string(KindOf(ref)),
                             ref.namespace_(),
                             ref.name(),
                             dt.direction(),
                             rule,
                             RuleNameAt(ref, dt.direction(), rule)};
    }
  }
}

const RuleName* RuleCatalog::Find(uint64_t key) const {
  auto it = names_.find(key);
  return it == names_.end() ? nullptr : &it->second;
}

}  // namespace netfence::tables
