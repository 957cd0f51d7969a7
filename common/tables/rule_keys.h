// SPDX-License-Identifier: Apache-2.0
// Rule keys: the name of one rule of one policy (kind, namespace, name, direction, rule index)
// as a 64-bit hash, stable across generations, controller restarts and nodes. The datapaths
// count the connections each rule decided under its key (XDP: the rule_hits map, pinned;
// DPDK: each worker's RuleHitTable), so a counter keeps counting when a recompile moves the
// rule to another bit or table, and survives an agent restart. A RuleCatalog turns keys back
// into names from the tables that carried them.
//
// A rule with several bits (none today) shares one key: the counts are per rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "netfence/v1/tables.pb.h"

namespace netfence::tables {

// A NetworkPolicy's PolicyRef leaves kind empty; keys and names say "NetworkPolicy".
inline constexpr std::string_view kNetworkPolicyKind = "NetworkPolicy";
std::string_view KindOf(const v1::PolicyRef& policy);

// FNV-1a over the fields, each followed by a 0 byte; never 0 (0 marks an empty slot).
uint64_t RuleKey(std::string_view kind, std::string_view ns, std::string_view name, v1::Direction direction,
                 uint32_t rule);
uint64_t RuleKeyOf(const v1::PolicyRef& policy, v1::Direction direction, uint32_t rule);

// The keys of table `t`'s rule bits (rule_count of them), in bit order. The tables passed
// ValidateRuleTables() (rule_policy indexes rt.policies).
std::vector<uint64_t> TableRuleKeys(const v1::RuleTables& rt, int t);

// What a key stands for.
struct RuleName {
  std::string kind;  // NetworkPolicy, ClusterNetworkPolicy, ...
  std::string ns;    // "" for a cluster policy
  std::string name;
  v1::Direction direction = v1::INGRESS;
  uint32_t rule = 0;      // index in the policy's rules of that direction
  std::string rule_name;  // a cluster policy rule's name ("" when none)
};

// Keys seen in tables, with their names. Remembers every rule it was shown (a counter of a
// rule a later generation dropped still has a name); grows with the rules ever programmed.
class RuleCatalog {
 public:
  void Add(const v1::RuleTables& rt);
  const RuleName* Find(uint64_t key) const;
  size_t size() const { return names_.size(); }

 private:
  std::unordered_map<uint64_t, RuleName> names_;
};

}  // namespace netfence::tables
