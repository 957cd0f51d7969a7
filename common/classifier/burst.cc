// SPDX-License-Identifier: Apache-2.0
#include "common/classifier/burst.h"

#include <algorithm>

namespace netfence::classifier {

void ClassifyBurst(const Classifier& classifier, std::span<const BurstQuery> queries, std::span<BurstAnswer> answers) {
  const auto& endpoints = classifier.tables().endpoints();
  constexpr uint32_t kNone = 0xFFFFFFFFu;
  // Phase 1: the endpoints behind both addresses of every query (independent hash probes).
  uint32_t src_ep[64], dst_ep[64];
  Classifier::PreparedMatch egress[64], ingress[64];
  for (size_t base = 0; base < queries.size(); base += 64) {
    const size_t n = std::min<size_t>(64, queries.size() - base);
    for (size_t i = 0; i < n; ++i) {
      const FlowKey& k = queries[base + i].key;
      src_ep[i] = classifier.EndpointOf(k.src).value_or(kNone);
      dst_ep[i] = classifier.EndpointOf(k.dst).value_or(kNone);
    }
    // Phase 2: the rows of every direction that applies, their summary words being loaded.
    for (size_t i = 0; i < n; ++i) {
      const BurstQuery& q = queries[base + i];
      egress[i] = ingress[i] = Classifier::PreparedMatch{};
      if (src_ep[i] != kNone && !q.from_uplink) {
        egress[i] = classifier.PrepareMatch(endpoints[static_cast<int>(src_ep[i])].egress_table(), q.key.dst,
                                            q.key.proto, q.key.dport);
      }
      if (dst_ep[i] != kNone) {
        ingress[i] = classifier.PrepareMatch(endpoints[static_cast<int>(dst_ep[i])].ingress_table(), q.key.src,
                                             q.key.proto, q.key.dport);
      }
    }
    // Phase 3: the first word each search will read.
    for (size_t i = 0; i < n; ++i) {
      classifier.PrefetchFirstCandidate(egress[i]);
      classifier.PrefetchFirstCandidate(ingress[i]);
    }
    // Phase 4: the decisions.
    for (size_t i = 0; i < n; ++i) {
      const BurstQuery& q = queries[base + i];
      BurstAnswer& a = answers[base + i];
      a = BurstAnswer{};
      a.src_endpoint = src_ep[i] != kNone;
      a.dst_endpoint = dst_ep[i] != kNone;
      if (a.src_endpoint && !q.from_uplink)
        a.decision.egress = classifier.FinishMatch(egress[i], &a.decision.audit_egress);
      if (a.dst_endpoint) a.decision.ingress = classifier.FinishMatch(ingress[i], &a.decision.audit_ingress);
    }
  }
}

}  // namespace netfence::classifier
