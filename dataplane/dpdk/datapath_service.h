// SPDX-License-Identifier: Apache-2.0
// netfence.v1.Datapath (proto/netfence/v1/datapath.proto) over a Datapath: what netfence-dpdk
// serves to the agent on its unix socket. Each call is the FastPath call of the same name.
#pragma once

#include <memory>
#include <string>

#include "dataplane/dpdk/datapath.h"
#include "netfence/v1/datapath.grpc.pb.h"

namespace netfence::dpdk {

class DatapathService final : public v1::Datapath::Service {
 public:
  // `instance`: this process's start, as clients see it (they re-program a new one).
  DatapathService(Datapath* datapath, std::string instance);

  grpc::Status Hello(grpc::ServerContext*, const v1::DatapathHello*, v1::DatapathInstance* out) override;
  grpc::Status Program(grpc::ServerContext*, const v1::ProgramRequest* in, v1::DatapathInstance* out) override;
  grpc::Status LiveTables(grpc::ServerContext*, const v1::DatapathHello*, v1::RuleTables* out) override;
  grpc::Status PlugPort(grpc::ServerContext*, const v1::PortRequest* in, v1::PortReply* out) override;
  grpc::Status UnplugPort(grpc::ServerContext*, const v1::PortRequest* in, v1::PortReply* out) override;
  grpc::Status PortStatus(grpc::ServerContext*, const v1::PortRequest* in, v1::PortReply* out) override;
  grpc::Status SetPodCidrs(grpc::ServerContext*, const v1::PodCidrsRequest* in, v1::DatapathInstance* out) override;
  grpc::Status ReadStats(grpc::ServerContext*, const v1::DatapathHello*, v1::DatapathStats* out) override;
  grpc::Status ReadEvents(grpc::ServerContext* ctx, const v1::ReadEventsRequest* in, v1::EventBatch* out) override;
  grpc::Status ReadConntrack(grpc::ServerContext*, const v1::DatapathHello*,
                             grpc::ServerWriter<v1::ConntrackBatch>* out) override;
  grpc::Status FlushConntrack(grpc::ServerContext*, const v1::DatapathHello*, v1::DatapathInstance* out) override;
  grpc::Status ReadRuleHits(grpc::ServerContext*, const v1::DatapathHello*, v1::RuleHitBatch* out) override;

 private:
  void Describe(v1::DatapathInstance* out) const;
  Datapath* dp_;
  std::string instance_;
};

// The gRPC server on `target` ("unix:/run/netfence/dpdk.sock": created 0600).
StatusOr<std::unique_ptr<grpc::Server>> ServeDatapath(const std::string& target, DatapathService* service);

}  // namespace netfence::dpdk
