// SPDX-License-Identifier: Apache-2.0
// The user-space classifier over compiled rule tables: the production lookup used by
// netfencectl, the agent and the DPDK pipeline, and the oracle the fast paths are tested
// against. Classify() neither allocates nor throws.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::classifier {

// The first packet of a connection, as the classifier sees it.
struct FlowKey {
  IpAddr src;
  IpAddr dst;
  uint8_t proto = 6;   // IANA protocol number
  uint16_t dport = 0;  // destination port (TCP/UDP/SCTP), 0 otherwise
};

// One direction's decision. In a table without ClusterNetworkPolicy tiers, the rule that
// allows is the lowest matching bit. With tiers (tables.proto), the lowest matching bit's
// action decides, an Admin Pass continuing at the first NetworkPolicy bit.
enum class Outcome : uint8_t {
  kNotIsolated,   // no rule decided and no NetworkPolicy isolates the pod in this direction
                  // (or it is no endpoint): allowed
  kAllowed,       // rule_bit allowed it: a NetworkPolicy rule, or a ClusterNetworkPolicy Accept
  kDenied,        // isolated by NetworkPolicy and no rule decided (default deny)
  kDeniedByRule,  // rule_bit, a ClusterNetworkPolicy Deny, denied it
};

struct DirectionDecision {
  Outcome outcome = Outcome::kNotIsolated;
  uint32_t table = 0;     // the endpoint's table for this direction (RuleTables.tables index)
  uint32_t rule_bit = 0;  // the deciding rule bit, when outcome is kAllowed or kDeniedByRule
  bool passes() const { return outcome == Outcome::kNotIsolated || outcome == Outcome::kAllowed; }
  bool by_rule() const { return outcome == Outcome::kAllowed || outcome == Outcome::kDeniedByRule; }
};

// Both directions, twice: as enforced (what traffic follows: policies in audit left out) and
// as audited (every policy enforced, those in audit included). Tables without audited
// policies give the same decision twice.
struct Decision {
  DirectionDecision egress;   // the source pod's egress policy
  DirectionDecision ingress;  // the destination pod's ingress policy
  DirectionDecision audit_egress;
  DirectionDecision audit_ingress;
  bool allowed() const { return egress.passes() && ingress.passes(); }
  bool audit_allowed() const { return audit_egress.passes() && audit_ingress.passes(); }
  // Policies in audit would change the verdict: the flow log's "verdict":"audit".
  bool audit_differs() const { return allowed() != audit_allowed(); }
};

class Classifier {
 public:
  // Indexes the tables for lookup; fails if they are internally inconsistent.
  static StatusOr<std::shared_ptr<const Classifier>> Load(std::shared_ptr<const v1::RuleTables> tables);

  Decision Classify(const FlowKey& key) const;

  // One table (one direction of some endpoints' policy) against a peer address: the enforced
  // decision, and with `audited` the audited one from the same lookup.
  DirectionDecision Match(uint32_t table, const IpAddr& peer, uint8_t proto, uint16_t dport,
                          DirectionDecision* audited = nullptr) const;

  // Match() in two steps, for bursts (burst.h): PrepareMatch() finds the rows the lookup ANDs
  // and starts loading their summary words; FinishMatch() decides. Preparing every query of a
  // burst before finishing any overlaps their cache misses instead of taking them one by one.
  struct PreparedMatch {
    uint32_t table = 0;
    bool applies = false;  // the table isolates, is tiered or audits: there is something to decide
    bool any = false;      // some row may be non-empty
    const uint64_t* rows[3] = {nullptr, nullptr, nullptr};  // identity, CIDR, port
  };
  PreparedMatch PrepareMatch(uint32_t table, const IpAddr& peer, uint8_t proto, uint16_t dport) const;
  // Once the summary words are in: starts loading the rows' first word that the summaries say
  // may hold a match (where the search will look first).
  void PrefetchFirstCandidate(const PreparedMatch& p) const;
  DirectionDecision FinishMatch(const PreparedMatch& p, DirectionDecision* audited = nullptr) const;

  // Every rule bit matching, lowest first, whatever its tier or action (for explanations;
  // allocates, not for the fast path).
  std::vector<uint32_t> MatchingRules(uint32_t table, const IpAddr& peer, uint8_t proto, uint16_t dport) const;

  // The endpoint (index into tables().endpoints()) that owns an IP, if any.
  std::optional<uint32_t> EndpointOf(const IpAddr& ip) const;
  // The identity of an IP: a pod identity, host (1), or world (0).
  uint32_t IdentityOf(const IpAddr& ip) const;

  const v1::RuleTables& tables() const { return *tables_; }

  struct Impl;  // the lookup index, private to classifier.cc

 private:
  explicit Classifier(std::shared_ptr<const v1::RuleTables> tables);

  std::shared_ptr<const v1::RuleTables> tables_;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace netfence::classifier
