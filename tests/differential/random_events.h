// SPDX-License-Identifier: Apache-2.0
// Random event sequences for the incremental pieces (compiler, node views, agents): batches
// of upserts drawn from a pool of random clusters of one vocabulary (so most upserts modify
// an object: relabelled pods and namespaces, moved addresses, changed rules), deletes of
// objects the store has, pod mutations (labels, addresses, phase, ports, node) and cluster
// policies moved in the evaluation order (priority, tier).
#pragma once

#include <random>
#include <vector>

#include "controlplane/k8s/decode.h"
#include "controlplane/source/cluster_store.h"
#include "controlplane/source/source.h"

namespace netfence::reference {

// The objects of `clusters` random clusters (`tiers`: with nodes and cluster policies).
// With `audit`, the pool also holds copies of the namespaces and policies annotated
// netfence.io/enforcement audit or enforce, so upserts move policies in and out of audit.
std::vector<k8s::Object> RandomObjectPool(std::mt19937_64& rng, int clusters, bool tiers = false, bool audit = false);

// One batch of 1-4 events (sometimes up to 25) against what `store` holds.
std::vector<source::Event> RandomBatch(std::mt19937_64& rng, const std::vector<k8s::Object>& pool,
                                       const source::ClusterStore& store);

}  // namespace netfence::reference
