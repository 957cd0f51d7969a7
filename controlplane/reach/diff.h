// SPDX-License-Identifier: Apache-2.0
// What a change to the cluster does to reachability before it is applied: the ordered pod
// pairs and (protocol, port) whose verdict the change flips (`netfencectl diff`). Both states
// are compiled and judged by the production classifier, exactly as `matrix` judges one.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "common/classifier/classifier.h"
#include "controlplane/k8s/model.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::reach {

// A change: objects as they would be after it (added, or replacing the object of the same
// kind and name), and objects it deletes, each "Kind/namespace/name" for namespaced kinds and
// "Kind/name" for cluster-scoped ones (Namespace, Node, ClusterNetworkPolicy,
// AdminNetworkPolicy, BaselineAdminNetworkPolicy).
struct Change {
  k8s::ClusterState objects;
  std::vector<std::string> deletes;
};

// Applies `change` to `state`. A delete of an object that is not there, or of a kind netfence
// does not read, is an error naming it (and `state` is left as it was).
Status ApplyChange(const Change& change, k8s::ClusterState* state);

struct ProtoPort {
  k8s::Protocol protocol = k8s::Protocol::kTCP;
  uint16_t port = 0;
  auto operator<=>(const ProtoPort&) const = default;
};

// The (protocol, port)s worth comparing when none is given: every containerPort of every pod
// and every numeric port (both ends of a range) a NetworkPolicy or cluster policy names, in
// either state. A named port resolves to containerPorts, which are already in.
std::vector<ProtoPort> PortsOfInterest(const k8s::ClusterState& a, const k8s::ClusterState& b);

// One side of a flip: the verdict and, per direction, what decided it.
struct Judgement {
  bool allowed = false;
  classifier::Decision decision;
};

// The verdict of `src` -> `dst` on `pp`, probed as `matrix` probes (ProbeAddresses): denied,
// with no decision, when the two pods share no address family.
Judgement JudgePair(const k8s::Pod& src, const k8s::Pod& dst, const classifier::Classifier& c, const ProtoPort& pp);
// The same on the addresses ProbeAddresses chose (nullopt: no common family).
Judgement JudgeProbe(const std::optional<std::pair<IpAddr, IpAddr>>& addrs, const classifier::Classifier& c,
                     const ProtoPort& pp);

struct Flip {
  std::string from, to;  // "ns/pod"
  ProtoPort port;
  Judgement before, after;
};

// The matrix pods (MatrixPods) present in both states: (before, after), in MatrixPods order.
std::vector<std::pair<const k8s::Pod*, const k8s::Pod*>> PodsInBoth(const k8s::ClusterState& before,
                                                                    const k8s::ClusterState& after);

// Every ordered pair of pods present in both states (matrix pods: with an IP, host-network
// pods at their node's address) and every port of `ports` whose verdict differs, ordered by
// source pod, destination pod (MatrixPods order) and port (the order of `ports`).
//
// Flips judges classes of pods instead of pods (fast_flips.cc): pods whose addresses are
// alike for the classifier in both states (the same families in the same order, and per
// address the same identity, the same ingress and egress table and the same CIDR interval of
// the tables, before and after) get the same verdicts, so one (class pair, port) is judged and
// the result expanded to its pod pairs. A pair is judged only if its verdict can change: the
// source's egress table differs in content between the states for the destination (in its
// base, or in the row of the destination's identity: table_diff.h), or the destination's
// ingress table does for the source, or an identity changed, or a pod's addresses did.
struct FlipsStats {
  size_t pods = 0;                // pods in both states
  size_t classes = 0;             // classes of pods judged alike
  size_t class_pairs_judged = 0;  // (source class, destination class) judged on every port
};
std::vector<Flip> Flips(const k8s::ClusterState& before, const classifier::Classifier& before_classifier,
                        const k8s::ClusterState& after, const classifier::Classifier& after_classifier,
                        const std::vector<ProtoPort>& ports, FlipsStats* stats = nullptr);

// The same, judging every ordered pod pair on every port: the benchmark's peer and the tests'
// oracle.
std::vector<Flip> FlipsBruteForce(const k8s::ClusterState& before, const classifier::Classifier& before_classifier,
                                  const k8s::ClusterState& after, const classifier::Classifier& after_classifier,
                                  const std::vector<ProtoPort>& ports);

// What decided one direction, for people and tools: {"outcome":"allowed|denied|not-isolated",
// "policy":"ns/name" or "Kind/name","rule":N,"rule_name":".."} or, for a default deny,
// {"outcome":"denied","isolated_by":["ns/name",...]}.
nlohmann::json DirectionJson(const v1::RuleTables& tables, const classifier::DirectionDecision& d);

// {"egress":DirectionJson,"ingress":DirectionJson} of one judgement.
nlohmann::json JudgementJson(const v1::RuleTables& tables, const Judgement& j);

// {"flips":[{"from","to","protocol","port","before","after","decided_by":{"before":{"egress",
// "ingress"},"after":{...}}}]} (ARCHITECTURE.md contract: from, to, protocol, port, before,
// after).
nlohmann::json FlipsJson(const std::vector<Flip>& flips, const v1::RuleTables& before_tables,
                         const v1::RuleTables& after_tables);

// For a person: flips grouped by (source namespace, destination namespace) with counts, then
// each flip on a line.
std::string FlipsTable(const std::vector<Flip>& flips);

}  // namespace netfence::reach
