// SPDX-License-Identifier: Apache-2.0
// Sums of rule hit counters (netfence.v1.RuleHitCount) by rule, and the answer to a
// RuleHitsRequest over them: what the agent says about its node and the controller about the
// cluster. A rule is (kind, namespace, name, direction, rule index). Rules are Declare()d
// (they exist now: the live tables' on an agent, the compiled policies' on the controller) or
// only Add()ed (counted, perhaps under a policy since deleted); `unused` lists declared rules
// without a connection.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "netfence/v1/hits.pb.h"

namespace netfence::hits {

class HitSums {
 public:
  // One node's counts of a rule (nodes counts the ones with a connection).
  void Add(const v1::RuleHitCount& count);
  // A rule that exists now (its counts stay as added; 0 if none).
  void Declare(const std::string& kind, const std::string& ns, const std::string& name, v1::Direction direction,
               uint32_t rule, const std::string& rule_name);

  // The rules the request asks for, sorted.
  v1::RuleHitsReply Reply(const v1::RuleHitsRequest& request) const;
  size_t size() const { return rules_.size(); }

 private:
  using Key = std::tuple<std::string, std::string, std::string, int, uint32_t>;  // ns, name, kind, dir, rule
  struct Rule {
    v1::RuleHitCount sum;
    bool declared = false;
  };
  Rule& At(const std::string& kind, const std::string& ns, const std::string& name, v1::Direction d, uint32_t rule);
  std::map<Key, Rule> rules_;
};

// "NS/NAME" or "NAME" (a cluster policy) into the request's namespace and name; false when
// malformed.
bool ParsePolicyFilter(const std::string& text, v1::RuleHitsRequest* request);

}  // namespace netfence::hits
