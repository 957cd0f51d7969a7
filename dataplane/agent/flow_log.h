// SPDX-License-Identifier: Apache-2.0
// The agent's flow log: the pipeline (dataplane/flowlog/pipeline/) reading the fast path's
// events and connections, its two sinks fed by the same records, the rotating file and the
// live hub behind the gRPC Observe service, and what /metrics says about them.
//
//   auto flows = FlowLog::Create(fast_path, options);         // nothing runs yet
//   agent.set_on_live([&](auto g, auto& t, auto& v) { flows->OnLive(g, t, v); });
//   agent.Start();                                          // the persisted generation is named
//   flows->Start();                                         // pipeline thread, Observe server
//   ...
//   flows->Stop();                                          // last records, file flushed
//
// The pipeline starts after the agent so that the connections an earlier agent left in the
// conntrack table are taken over under the generation that admitted them.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/tables/table_set.h"
#include "dataplane/fastpath/fast_path.h"
#include "dataplane/flowlog/file_sink.h"
#include "dataplane/flowlog/observe/observe_service.h"
#include "dataplane/flowlog/pipeline/pipeline.h"
#include "dataplane/flowlog/record_hub.h"

namespace netfence::agent {

struct FlowLogOptions {
  std::string node{};
  bool file = true;  // write the file (options below)
  flowlog::FileSinkOptions file_options{};
  std::vector<std::string> observe{};  // "unix:PATH", "HOST:PORT"; empty: no Observe
  std::shared_ptr<grpc::ServerCredentials> observe_tcp_credentials{};
  size_t observe_history = 8192;
  std::vector<grpc::Service*> observe_also{};  // served beside Observe (the agent's RuleHits)
  flowlog::PipelineOptions pipeline{};
};

class FlowLog {
 public:
  static StatusOr<std::unique_ptr<FlowLog>> Create(const fastpath::FastPath& fast_path, FlowLogOptions options);
  ~FlowLog();

  void OnLive(uint64_t generation, const v1::RuleTables& tables, const tables::TableSet& view);
  Status Start();
  void Stop();

  flowlog::Pipeline::Stats pipeline_stats() const { return pipeline_->stats(); }
  const flowlog::FileSink* file() const { return file_.get(); }
  const flowlog::RecordHub& hub() const { return *hub_; }
  const FlowLogOptions& options() const { return options_; }

 private:
  explicit FlowLog(FlowLogOptions options) : options_(std::move(options)) {}

  FlowLogOptions options_;
  std::unique_ptr<flowlog::FileSink> file_;
  std::unique_ptr<flowlog::FileRecordSink> file_sink_;
  std::unique_ptr<flowlog::RecordHub> hub_;
  std::unique_ptr<flowlog::Pipeline> pipeline_;
  std::unique_ptr<flowlog::ObserveService> service_;
  std::unique_ptr<flowlog::ObserveServer> server_;
  bool stopped_ = false;
};

}  // namespace netfence::agent
