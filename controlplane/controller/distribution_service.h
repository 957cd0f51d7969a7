// SPDX-License-Identifier: Apache-2.0
// netfence.v1.PolicyDistribution over gRPC (callback API: a few threads serve thousands of
// agent streams). Each Subscribe stream becomes a Session of the ControllerCore; reads are
// posted to the core's io_context, the core's sends are queued and written one at a time.
// A stream whose agent does not read (queue past a bound) is closed: the agent reconnects
// and gets a snapshot, the controller never buffers without limit.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "controlplane/controller/controller_core.h"
#include "netfence/v1/distribution.grpc.pb.h"
#include "netfence/v1/hits.grpc.pb.h"

namespace netfence::controller {

struct ServiceOptions {
  size_t max_queued_bytes = 256u << 20;  // per stream
};

class DistributionService final : public v1::PolicyDistribution::CallbackService {
 public:
  DistributionService(boost::asio::io_context& io, ControllerCore& core, ServiceOptions options = {})
      : io_(io), core_(core), options_(options) {}
  // Closes the gate: handlers still queued on the io_context (a stream ending after the
  // service) no longer reach the core.
  ~DistributionService() override { *open_ = false; }

  grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* Subscribe(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context, const v1::StatusRequest* request,
                                      v1::ControllerStatus* response) override;

 private:
  boost::asio::io_context& io_;
  ControllerCore& core_;
  ServiceOptions options_;
  std::shared_ptr<bool> open_ = std::make_shared<bool>(true);  // read and written on the io thread
};

// netfence.v1.RuleHits on the controller: every node's rule hit counters, summed (the core
// answers on its thread). Served beside PolicyDistribution, with the same credentials.
class RuleHitsService final : public v1::RuleHits::CallbackService {
 public:
  RuleHitsService(boost::asio::io_context& io, ControllerCore& core) : io_(io), core_(core) {}
  ~RuleHitsService() override { *open_ = false; }
  grpc::ServerUnaryReactor* GetRuleHits(grpc::CallbackServerContext* context, const v1::RuleHitsRequest* request,
                                        v1::RuleHitsReply* reply) override;

 private:
  boost::asio::io_context& io_;
  ControllerCore& core_;
  std::shared_ptr<bool> open_ = std::make_shared<bool>(true);
};

}  // namespace netfence::controller
