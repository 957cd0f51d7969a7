// SPDX-License-Identifier: Apache-2.0
#include "common/hits/hit_sums.h"

#include <algorithm>

namespace netfence::hits {

HitSums::Rule& HitSums::At(const std::string& kind, const std::string& ns, const std::string& name, v1::Direction d,
                           uint32_t rule) {
  Rule& r = rules_[Key{ns, name, kind, static_cast<int>(d), rule}];
  if (r.sum.name().empty()) {
    r.sum.set_kind(kind);
    r.sum.set_namespace_(ns);
    r.sum.set_name(name);
    r.sum.set_direction(d);
    r.sum.set_rule(rule);
  }
  return r;
}

void HitSums::Add(const v1::RuleHitCount& c) {
  Rule& r = At(c.kind(), c.namespace_(), c.name(), c.direction(), c.rule());
  if (r.sum.rule_name().empty()) r.sum.set_rule_name(c.rule_name());
  r.sum.set_allowed(r.sum.allowed() + c.allowed());
  r.sum.set_denied(r.sum.denied() + c.denied());
  r.sum.set_last_unix_nanos(std::max(r.sum.last_unix_nanos(), c.last_unix_nanos()));
  const uint32_t nodes = c.nodes() > 0 ? c.nodes() : (c.allowed() + c.denied() > 0 ? 1 : 0);
  r.sum.set_nodes(r.sum.nodes() + nodes);
}

void HitSums::Declare(const std::string& kind, const std::string& ns, const std::string& name, v1::Direction direction,
                      uint32_t rule, const std::string& rule_name) {
  Rule& r = At(kind, ns, name, direction, rule);
  r.declared = true;
  if (r.sum.rule_name().empty()) r.sum.set_rule_name(rule_name);
}

v1::RuleHitsReply HitSums::Reply(const v1::RuleHitsRequest& request) const {
  v1::RuleHitsReply out;
  const bool one_policy = !request.name().empty();
  for (const auto& [key, r] : rules_) {
    if (one_policy && (r.sum.namespace_() != request.namespace_() || r.sum.name() != request.name())) continue;
    if (request.unused() && (!r.declared || r.sum.allowed() + r.sum.denied() > 0)) continue;
    *out.add_rules() = r.sum;
  }
  return out;
}

bool ParsePolicyFilter(const std::string& text, v1::RuleHitsRequest* request) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos) {
    if (text.empty()) return false;
    request->set_name(text);
    return true;
  }
  if (slash == 0 || slash + 1 >= text.size() || text.find('/', slash + 1) != std::string::npos) return false;
  request->set_namespace_(text.substr(0, slash));
  request->set_name(text.substr(slash + 1));
  return true;
}

}  // namespace netfence::hits
