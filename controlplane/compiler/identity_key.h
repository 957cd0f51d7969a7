// SPDX-License-Identifier: Apache-2.0
// What makes two pods one security identity: namespace, labels and named container ports
// (an egress rule's named port resolves on the destination, so the names are part of what a
// peer is). Shared by the batch compiler (cluster_index) and the incremental one, which must
// agree on every id.
//
// Ids: an identity prefers the id derived from the hash of its key; when two identities
// prefer the same id, they are taken in key order and the later ones move to the next free
// id (wrapping to kFirstPodIdentity after 2^31 - 1). So an identity keeps its id when
// unrelated pods come and go.
#pragma once

#include <cstdint>
#include <vector>

#include "controlplane/k8s/model.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::compiler {

// A 64-bit hash of the identity key. Stable for one build of netfence; ids derived from it
// are not a wire contract.
uint64_t IdentityHash(const k8s::Pod& pod);
// The id an identity with this hash prefers (>= kFirstPodIdentity, < kMaxIdentity).
uint32_t PreferredIdentityId(uint64_t hash);
inline constexpr uint32_t kMaxIdentity = 0x7fffffffu;  // ids are < this
// The id after `id` in the probing order (wraps to the first pod identity).
uint32_t NextIdentityId(uint32_t id);
// Ids are below this (kMaxIdentity unless a test narrowed the space).
uint32_t IdentityIdLimit();
// Tests only: prefer ids in [kFirstPodIdentity, kFirstPodIdentity + preferred_space) and wrap
// at max_identity, so that collisions and wrapping happen in small clusters. Not thread-safe.
void SetIdentitySpaceForTesting(uint32_t preferred_space, uint32_t max_identity);

// Orders identity keys: <0, 0, >0. Pods of one identity compare 0.
int CompareIdentity(const k8s::Pod& a, const k8s::Pod& b);
// CompareIdentity(a, b) == 0, faster for pods of one workload.
bool SameIdentity(const k8s::Pod& a, const k8s::Pod& b);

// The named ports of a pod in canonical order (name, protocol, number).
void NamedPorts(const k8s::Pod& pod, std::vector<const k8s::ContainerPort*>* out);

// The Identity record of the tables: id, namespace, labels, named ports (sorted by name,
// protocol number, port), from any pod of the identity.
void FillIdentity(uint32_t id, const k8s::Pod& pod, v1::Identity* out);

}  // namespace netfence::compiler
