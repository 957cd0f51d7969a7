// SPDX-License-Identifier: Apache-2.0
// A reference policy evaluator: the Kubernetes networking.k8s.io/v1 NetworkPolicy semantics
// and the policy.networking.k8s.io ClusterNetworkPolicy tiers read straight from the API
// documentation, one connection at a time, with no tables and no code shared with the
// compiler (selector matching, policyTypes defaulting, named ports, the tier order and the
// fail-closed rule are done here again on purpose). It is the oracle the compiled tables and
// the classifier are checked against, so it favours being obviously right over being fast.
//
// Per direction: the Admin tier (cluster policies by priority, then name and kind; in each,
// rules in order; the first matching rule decides: Accept allows, Deny denies, Pass ends the
// tier), then NetworkPolicy (a pod isolated for the direction is allowed by a matching rule,
// else denied), then the Baseline tier the same way (Pass: no decision), then allowed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/base/ip.h"
#include "controlplane/k8s/model.h"

namespace netfence::reference {

// A rule: rule `rule_index` of one direction of NetworkPolicy `policy_ns/policy_name`, or of
// the cluster policy `kind/policy_name` (policy_ns empty).
struct RefRule {
  std::string kind;  // "" for a NetworkPolicy
  std::string policy_ns;
  std::string policy_name;
  uint32_t rule_index = 0;

  bool operator==(const RefRule&) const = default;
};

// One direction (the source's egress or the destination's ingress) of one connection.
//   allowed, no rule: nothing decided (allowed by default)
//   allowed, rule:    a NetworkPolicy rule (the smallest matching one) or an Accept rule
//   denied, no rule:  isolated by NetworkPolicy and nothing matched (default deny)
//   denied, rule:     a Deny rule (or a rule failing closed)
struct RefDirection {
  bool isolated = false;  // some NetworkPolicy selecting the pod covers this direction
  bool allowed = true;
  std::optional<RefRule> rule;  // the rule that decided
};

struct RefVerdict {
  RefDirection egress;   // the source pod's egress
  RefDirection ingress;  // the destination pod's ingress
  bool allowed() const { return egress.allowed && ingress.allowed; }
};

// Evaluates the first packet of a connection src -> dst (IANA protocol, destination port;
// the port is ignored for protocols other than TCP, UDP and SCTP). Self pairs (src and dst
// the same pod) are evaluated like any other pair: loopback is the caller's business.
RefVerdict ReferenceEvaluate(const k8s::ClusterState& state, const IpAddr& src, const IpAddr& dst, uint8_t ip_proto,
                             uint16_t dport);

// Audit mode, written from the annotation's documentation: the cluster the enforced verdict
// stands for, without the policies in audit. A policy's own annotation netfence.io/enforcement
// decides; without one, a NetworkPolicy's namespace's; without that, `audit_by_default`. (The
// audited verdict is ReferenceEvaluate over the whole cluster: annotations mean nothing to it.)
k8s::ClusterState WithoutPoliciesInAudit(const k8s::ClusterState& state, bool audit_by_default = false);

}  // namespace netfence::reference
