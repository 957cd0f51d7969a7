// SPDX-License-Identifier: Apache-2.0
// The agent's rule hit counters: the fast path counts new connections by rule key
// (FastPath::ReadRuleHits, common/tables/rule_keys.h); the book names them through every
// table the agent made live and answers two readers:
//   - the controller: Report() every --rule-hits-interval, sent on the distribution stream
//     (absolute counts: a report replaces the node's last, so a lost one costs nothing);
//   - netfencectl stats --agent: the RuleHits service (hits.proto), on the Observe socket.
// The fast path's counters outlive the agent (XDP: pinned; DPDK: in netfence-dpdk), so a
// restarted agent reports the same totals once it has loaded tables naming the rules.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/tables/rule_keys.h"
#include "dataplane/fastpath/fast_path.h"
#include "netfence/v1/hits.grpc.pb.h"

namespace netfence::agent {

class RuleHitBook final : public v1::RuleHits::CallbackService {
 public:
  RuleHitBook(const fastpath::FastPath& fast_path, std::string node);

  // Tables made live (any thread): their rules get names, and are the node's current rules.
  void OnLive(const v1::RuleTables& tables);

  // The node's counts now, named.
  StatusOr<v1::RuleHitReport> Report() const;
  // The RuleHits answer for this node: its counts and, declared, the live tables' rules.
  StatusOr<v1::RuleHitsReply> Query(const v1::RuleHitsRequest& request) const;

  grpc::ServerUnaryReactor* GetRuleHits(grpc::CallbackServerContext* context, const v1::RuleHitsRequest* request,
                                        v1::RuleHitsReply* reply) override;

 private:
  const fastpath::FastPath& fast_path_;
  std::string node_;
  mutable std::mutex mu_;
  tables::RuleCatalog catalog_;
  std::vector<uint64_t> live_keys_;  // the live tables' rules
};

}  // namespace netfence::agent
