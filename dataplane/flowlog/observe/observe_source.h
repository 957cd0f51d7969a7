// SPDX-License-Identifier: Apache-2.0
// ObserveRecordSource: the agent's live flow log (netfence.v1.FlowObserver) as a
// RecordSource, so that `netfencectl flows --agent ADDR` reads a stream exactly as it reads a
// file: the same records, the same filters (applied on the agent), the same output.
//
//   ObserveRecordSource src({.target = "unix:/run/netfence/observe.sock", .request = q});
//   while (src.Next(&r, &line, &error) != RecordSource::Result::kEnd) ...
//   if (!src.status().ok()) ...   // why the stream ended (agent unreachable, bad filter, ...)
//
// With a field mask in the request the agent sends partial records: Next() then leaves
// *record empty (but for `lost` records, always whole) and *line holds what was sent.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>

#include "common/base/status.h"
#include "dataplane/flowlog/record_source.h"
#include "netfence/v1/flow.grpc.pb.h"

namespace netfence::flowlog {

struct ObserveSourceOptions {
  std::string target{};                                     // "unix:PATH" or "HOST:PORT"
  std::shared_ptr<grpc::ChannelCredentials> credentials{};  // default: insecure (unix sockets)
  std::string tls_server_name{};                            // the name to check in the agent's certificate
  v1::ObserveRequest request{};
  int connect_timeout_ms = 5000;
};

class ObserveRecordSource : public RecordSource {
 public:
  explicit ObserveRecordSource(ObserveSourceOptions options);
  ~ObserveRecordSource() override;
  Result Next(FlowRecord* record, std::string* line, std::string* error) override;
  void Stop() override;
  std::string where() const override;

  // After kEnd: OK when the agent ended the stream (no follow) or Stop() was called.
  const Status& status() const { return status_; }
  // The agent's first message (valid once Next() returned anything).
  const v1::HistoryInfo& history() const { return history_; }

 private:
  bool Open();

  ObserveSourceOptions o_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::FlowObserver::Stub> stub_;
  std::mutex mu_;  // context_ vs Stop()
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::ObserveResponse>> reader_;
  bool stopped_ = false;
  bool ended_ = false;
  uint64_t count_ = 0;
  Status status_ = Status::Ok();
  v1::HistoryInfo history_;
};

}  // namespace netfence::flowlog
