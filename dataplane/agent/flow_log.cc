// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/flow_log.h"

namespace netfence::agent {

StatusOr<std::unique_ptr<FlowLog>> FlowLog::Create(const fastpath::FastPath& fast_path, FlowLogOptions options) {
  std::unique_ptr<FlowLog> f(new FlowLog(std::move(options)));
  std::vector<flowlog::RecordSink*> sinks;
  if (f->options_.file) {
    f->options_.file_options.node = f->options_.node;
    auto file = flowlog::FileSink::Open(f->options_.file_options);
    if (!file.ok()) return Status::Error("--flow-log: " + file.status().message());
    f->file_ = std::move(file).value();
    f->file_sink_ = std::make_unique<flowlog::FileRecordSink>(f->file_.get());
    sinks.push_back(f->file_sink_.get());
  }
  f->hub_ = std::make_unique<flowlog::RecordHub>(
      flowlog::RecordHub::Options{.history = f->options_.observe_history, .queue = 8192, .node = f->options_.node});
  sinks.push_back(f->hub_.get());
  f->options_.pipeline.node = f->options_.node;
  auto pipeline = flowlog::Pipeline::Create(fast_path, f->options_.pipeline, std::move(sinks));
  if (!pipeline.ok()) return Status::Error("flow log: " + pipeline.status().message());
  f->pipeline_ = std::move(pipeline).value();
  return f;
}

FlowLog::~FlowLog() { Stop(); }

void FlowLog::OnLive(uint64_t generation, const v1::RuleTables& tables, const tables::TableSet& view) {
  pipeline_->OnLive(generation, tables, view);
}

Status FlowLog::Start() {
  if (!options_.observe.empty()) {
    service_ = std::make_unique<flowlog::ObserveService>(hub_.get(), options_.node);
    auto server = flowlog::ObserveServer::Start(options_.observe, service_.get(), options_.observe_tcp_credentials,
                                                options_.observe_also);
    if (!server.ok()) return Status::Error("--observe: " + server.status().message());
    server_ = std::move(server).value();
  }
  return pipeline_->Start();
}

void FlowLog::Stop() {
  if (stopped_) return;
  stopped_ = true;
  pipeline_->Stop();  // the last records go to the file and the streams
  server_.reset();    // the streams end
  if (file_) file_->Flush();
}

}  // namespace netfence::agent
