// SPDX-License-Identifier: Apache-2.0
// netfence.v1.FlowObserver over gRPC (callback API): each Observe stream is a RecordHub
// subscription. The hub's thread only queues and wakes the stream; writes go out one at a
// time on gRPC's threads, so a slow client costs its own queue (bounded, then `lost` records
// on its stream), never the pipeline or the other clients.
//
//   ObserveService service(&hub, "node-a");
//   auto server = ObserveServer::Start({"unix:/run/netfence/observe.sock"}, &service, creds);
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "dataplane/flowlog/record_hub.h"
#include "netfence/v1/flow.grpc.pb.h"

namespace netfence::flowlog {

class ObserveService final : public v1::FlowObserver::CallbackService {
 public:
  ObserveService(RecordHub* hub, std::string node) : hub_(hub), node_(std::move(node)) {}
  grpc::ServerWriteReactor<v1::ObserveResponse>* Observe(grpc::CallbackServerContext* context,
                                                         const v1::ObserveRequest* request) override;

 private:
  RecordHub* hub_;
  std::string node_;
};

// A gRPC server for the service on some addresses: "unix:PATH" (created 0600, the parent
// directory made if needed, a stale socket replaced) with insecure credentials (the file's
// permissions are the access control), "HOST:PORT" with `tcp_credentials`. `more` are served
// beside it on the same addresses (the agent's RuleHits).
class ObserveServer {
 public:
  static StatusOr<std::unique_ptr<ObserveServer>> Start(const std::vector<std::string>& addresses,
                                                        ObserveService* service,
                                                        std::shared_ptr<grpc::ServerCredentials> tcp_credentials,
                                                        const std::vector<grpc::Service*>& more = {});
  ~ObserveServer();  // shuts down (open streams are cancelled)
  // The port bound for a "HOST:0" address (the first TCP one), 0 if none.
  int tcp_port() const { return tcp_port_; }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> sockets_;
  int tcp_port_ = 0;
};

}  // namespace netfence::flowlog
