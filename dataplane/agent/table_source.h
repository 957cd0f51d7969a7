// SPDX-License-Identifier: Apache-2.0
// Where a node agent's tables come from. Every source speaks the controller's protocol
// (distribution.proto): the agent says which generation it holds and which pods the CNI
// plugin registered; it receives node updates (snapshots and deltas) and acks what it made
// live. So the agent runs the same way from either implementation:
//
//   remote_table_source.h   the controller over gRPC (mTLS), reconnected with backoff;
//   controlplane/embedded/  an embedded controller core over a manifest directory: the same
//                           incremental compiler and node views, in-process, for one node
//                           (wired in only by the agent's main.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/base/status.h"
#include "netfence/v1/distribution.pb.h"

namespace netfence::agent {

class TableSource {
 public:
  using OnUpdate = std::function<void(v1::NodeUpdate update)>;
  virtual ~TableSource() = default;

  // Starts delivering updates (on the agent's io_context) to a node agent that holds
  // generation `held` (0: none) and has these registrations.
  virtual Status Start(uint64_t held, v1::EndpointReport endpoints, OnUpdate on_update) = 0;
  // The node's registry changed (CNI ADD/DEL/GC): a later update reflects `endpoints.sequence`.
  virtual void ReportEndpoints(v1::EndpointReport endpoints) = 0;
  // The agent made `generation` live (ok) or could not (error says why).
  virtual void Ack(uint64_t generation, bool ok, const std::string& error) = 0;
  // The agent cannot apply a delta (it holds another base): send it everything.
  virtual void Resync(const std::string& reason) = 0;
  // The node's rule hit counters, for a source that sums them (the controller); others ignore them.
  virtual void ReportRuleHits(v1::RuleHitReport /*report*/) {}
  // Whether updates can arrive now (the controller stream is up; always for a local source).
  virtual bool connected() const = 0;
  virtual std::string Describe() const = 0;
};

}  // namespace netfence::agent
