// SPDX-License-Identifier: Apache-2.0
// The classifier's batched entry point: a burst of first packets decided at once, as a fast
// path asks (the DPDK pipeline classifies the new flows of each received burst this way).
// Each answer is exactly Classify()'s, except that the sender's egress policy is left out
// when the query says the sender cannot be a local pod (it came in from an uplink). The
// burst runs in phases (every address of the burst looked up, then the rows of every direction
// found and their summary words loaded, then the first candidate words, then every direction
// decided)
// so that the lookups of different packets overlap in the CPU instead of waiting one by one.
// No allocation, no exceptions.
#pragma once

#include <cstdint>
#include <span>

#include "common/classifier/classifier.h"

namespace netfence::classifier {

struct BurstQuery {
  FlowKey key;
  bool from_uplink = false;  // the sender is no local pod: its egress policy does not apply
};

struct BurstAnswer {
  Decision decision;
  bool src_endpoint = false;  // the source is a local endpoint of the tables
  bool dst_endpoint = false;
};

// answers.size() >= queries.size(); answer i is about query i.
void ClassifyBurst(const Classifier& classifier, std::span<const BurstQuery> queries, std::span<BurstAnswer> answers);

}  // namespace netfence::classifier
