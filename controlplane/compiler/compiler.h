// SPDX-License-Identifier: Apache-2.0
// The policy compiler: cluster state in, bitmap-indexed rule tables (proto/netfence/v1/
// tables.proto) out. Deterministic: the same state gives byte-identical tables.
#pragma once

#include <cstdint>

#include "common/tables/wire.h"
#include "controlplane/k8s/model.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::compiler {

using tables::kEmptyRow;
using tables::kFirstPodIdentity;
using tables::kHostIdentity;
using tables::kWorldIdentity;

struct Options {
  uint64_t generation = 1;
  // Policies without an annotation netfence.io/enforcement (their own or, for a
  // NetworkPolicy, their namespace's) are in audit (the controller's --default-enforcement).
  bool audit_by_default = false;
};

// The PolicyRef of a cluster policy: kind, name, tier, priority, rule names.
void FillClusterPolicyRef(const k8s::ClusterNetworkPolicy& cnp, v1::PolicyRef* ref);

// Compiles a cluster state whose objects are all valid (see k8s/validate.h).
v1::RuleTables Compile(const k8s::ClusterState& state, const Options& options = {});
// The same into `out`, which may live on a protobuf Arena (several times faster to build
// and to free for large clusters).
void CompileInto(const k8s::ClusterState& state, const Options& options, v1::RuleTables* out);

}  // namespace netfence::compiler
