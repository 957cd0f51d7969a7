// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/observe/observe_source.h"

#include <chrono>

namespace netfence::flowlog {

ObserveRecordSource::ObserveRecordSource(ObserveSourceOptions options) : o_(std::move(options)) {}

ObserveRecordSource::~ObserveRecordSource() { Stop(); }

bool ObserveRecordSource::Open() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  if (!o_.tls_server_name.empty()) args.SetSslTargetNameOverride(o_.tls_server_name);
  auto creds = o_.credentials ? o_.credentials : grpc::InsecureChannelCredentials();
  channel_ = grpc::CreateCustomChannel(o_.target, creds, args);
  if (!channel_->WaitForConnected(std::chrono::system_clock::now() +
                                  std::chrono::milliseconds(o_.connect_timeout_ms))) {
    status_ = Status::Error("agent " + o_.target + ": not reachable within " +
                            std::to_string(o_.connect_timeout_ms / 1000) + " s");
    return false;
  }
  stub_ = v1::FlowObserver::NewStub(channel_);
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  context_ = std::make_unique<grpc::ClientContext>();
  reader_ = stub_->Observe(context_.get(), o_.request);
  return true;
}

RecordSource::Result ObserveRecordSource::Next(FlowRecord* record, std::string* line, std::string* error) {
  if (ended_) return Result::kEnd;
  if (!reader_ && !Open()) {
    ended_ = true;
    return Result::kEnd;
  }
  v1::ObserveResponse m;
  while (reader_->Read(&m)) {
    if (m.has_history()) {
      history_ = m.history();
      continue;
    }
    ++count_;
    *line = m.record();
    if (o_.request.field_mask().paths_size() > 0 && line->find("\"event\":\"lost\"") == std::string::npos) {
      *record = FlowRecord{};  // a partial record: the line is what there is
      return Result::kRecord;
    }
    auto parsed = ParseRecord(*line);
    if (!parsed.ok()) {
      *error = parsed.status().message();
      return Result::kMalformed;
    }
    *record = std::move(parsed).value();
    return Result::kRecord;
  }
  ended_ = true;
  const grpc::Status s = reader_->Finish();
  bool stopped;
  {
    std::lock_guard lock(mu_);
    stopped = stopped_;
  }
  if (!s.ok() && !(stopped && s.error_code() == grpc::StatusCode::CANCELLED)) {
    status_ = Status::Error("agent " + o_.target + ": " + s.error_message());
  }
  return Result::kEnd;
}

void ObserveRecordSource::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  if (context_) context_->TryCancel();
}

std::string ObserveRecordSource::where() const { return o_.target + ": record " + std::to_string(count_); }

}  // namespace netfence::flowlog
