// SPDX-License-Identifier: Apache-2.0
// Reachability: every ordered pair of pods evaluated through the compiled tables and the
// production classifier. What `netfencectl matrix` prints and the e2e probe is compared with.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/classifier/classifier.h"
#include "controlplane/k8s/model.h"

namespace netfence::reach {

struct Matrix {
  std::vector<std::string> pods;           // "ns/name", sorted
  std::vector<std::vector<bool>> allowed;  // allowed[src][dst]: as enforced
  // With the policies in audit enforced too (their verdict where they differ: flow logs say
  // "verdict":"audit" for those pairs).
  std::vector<std::vector<bool>> audit_allowed;

  // {"pods":[...],"allowed":{"ns/a":{"ns/b":true,...},...}} (ARCHITECTURE.md contract); with
  // `audit` also "audit_allowed" (the same shape) and "audit_differs": [{"from","to","allowed",
  // "audit_allowed"}] for the pairs whose verdicts differ.
  nlohmann::json ToJson(bool audit = false) const;
  // A grid for a person: rows are sources, columns destinations, "." allowed, "X" denied; with
  // `audit`, "a" allowed but the policies in audit would deny, "d" the reverse.
  std::string ToTable(bool audit = false) const;
};

// The addresses a pod sends from and is reached at: a host-network pod's are its node's
// (status.hostIPs, else status.podIPs, which the kubelet sets to the same), any other pod's
// its status.podIPs.
const std::vector<std::string>& PodAddresses(const k8s::Pod& pod);

// The pods of a matrix: every pod with an address that has not finished (host-network pods
// included, at their node's address), sorted by namespace/name.
std::vector<const k8s::Pod*> MatrixPods(const k8s::ClusterState& state);

// The addresses a probe from `src` to `dst` uses: src's first address and dst's first
// address of the same family (PodAddresses; nullopt when the two pods share no family).
std::optional<std::pair<IpAddr, IpAddr>> ProbeAddresses(const k8s::Pod& src, const k8s::Pod& dst);

// PodAddresses that parse, in order; and ProbeAddresses over them (the same choice).
std::vector<IpAddr> ParsedAddresses(const k8s::Pod& pod);
std::optional<std::pair<IpAddr, IpAddr>> ProbeAddresses(const std::vector<IpAddr>& src, const std::vector<IpAddr>& dst);

// A pod always reaches itself (loopback never crosses the datapath).
Matrix ComputeMatrix(const k8s::ClusterState& state, const classifier::Classifier& classifier, k8s::Protocol protocol,
                     uint16_t port);

}  // namespace netfence::reach
