// SPDX-License-Identifier: Apache-2.0
// Decoding ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) and the v1alpha1
// AdminNetworkPolicy and BaselineAdminNetworkPolicy into one model (model.h), validated with
// the rules of their CRDs (network-policy-api v0.2.0 and v0.1.x): the OpenAPI bounds (required
// fields, enums, minimum/maximum, minItems/maxItems, maxLength, exactly one member where the
// schema says min/maxProperties 1) and the CEL rules (port range order, CIDR syntax, no named
// ports towards networks/nodes/domainNames, the BaselineAdminNetworkPolicy singleton name),
// each failure a FieldError in the API server's words with the version's own field path.
//
// Mapping of v1alpha1: AdminNetworkPolicy is the Admin tier with its priority;
// BaselineAdminNetworkPolicy (the singleton "default") is the Baseline tier at priority 1000;
// the action Allow is Accept; `ports` entries (portNumber, portRange, namedPort) are the
// `protocols` entries of v1alpha2.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "controlplane/k8s/errors.h"
#include "controlplane/k8s/model.h"

namespace netfence::k8s {

inline constexpr const char* kClusterPolicyApi = "policy.networking.k8s.io/v1alpha2";
inline constexpr const char* kAdminPolicyApi = "policy.networking.k8s.io/v1alpha1";

// `kind` is ClusterNetworkPolicy, AdminNetworkPolicy or BaselineAdminNetworkPolicy (the
// caller checked kind and apiVersion). The object, or nullopt with the errors appended.
std::optional<ClusterNetworkPolicy> DecodeClusterPolicy(const nlohmann::json& j, const std::string& kind,
                                                        FieldErrors* errors);

// Whether `kind` is one of the three.
bool IsClusterPolicyKind(const std::string& kind);

}  // namespace netfence::k8s
