// SPDX-License-Identifier: Apache-2.0
// A reference NetworkPolicy evaluator: the Kubernetes networking.k8s.io/v1 semantics read
// straight from the spec, one connection at a time, with no tables and no code shared with
// the compiler (selector matching, policyTypes defaulting and named ports are done here
// again on purpose). It is the oracle the compiled tables and the classifier are checked
// against, so it favours being obviously right over being fast.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/base/ip.h"
#include "controlplane/k8s/model.h"

namespace netfence::reference {

// A rule: rule `rule_index` of one direction of policy `policy_ns/policy_name`.
struct RefRule {
  std::string policy_ns;
  std::string policy_name;
  uint32_t rule_index = 0;

  bool operator==(const RefRule&) const = default;
};

// One direction (the source's egress or the destination's ingress) of one connection.
struct RefDirection {
  bool isolated = false;              // some policy selecting the pod covers this direction
  bool allowed = true;                // not isolated, or some rule of such a policy matches
  std::optional<RefRule> first_rule;  // the smallest matching rule, when isolated and allowed
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

}  // namespace netfence::reference
