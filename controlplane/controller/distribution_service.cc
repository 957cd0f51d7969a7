// SPDX-License-Identifier: Apache-2.0
#include "controlplane/controller/distribution_service.h"

#include <grpc/grpc_security_constants.h>

#include <boost/asio/post.hpp>
#include <deque>
#include <mutex>

#include "common/base/files.h"

namespace netfence::controller {
namespace {

class Stream;

// The core's handle on a stream; outlives the reactor (which gRPC deletes when done).
class StreamSession : public Session {
 public:
  StreamSession(Stream* stream, std::string node) : stream_(stream), authenticated_(std::move(node)) {}
  void Send(std::vector<std::shared_ptr<const v1::ControllerMessage>> messages) override;
  void Close(const std::string& reason) override;
  std::string AuthenticatedNode() const override { return authenticated_; }
  void Detach() {
    std::lock_guard lock(mu_);
    stream_ = nullptr;
  }

 private:
  std::mutex mu_;
  Stream* stream_;
  std::string authenticated_;
};

class Stream : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage> {
 public:
  Stream(grpc::CallbackServerContext* context, boost::asio::io_context& io, ControllerCore& core,
         std::shared_ptr<bool> open, size_t max_bytes)
      : io_(io), core_(core), open_(std::move(open)), max_bytes_(max_bytes) {
    std::string cn;
    if (auto auth = context->auth_context(); auth && auth->IsPeerAuthenticated()) {
      auto names = auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
      if (!names.empty()) cn = std::string(names.front().data(), names.front().size());
    }
    session_ = std::make_shared<StreamSession>(this, cn);
    StartSendInitialMetadata();  // the agent knows it is connected before the first update
    StartRead(&in_);
  }

  void Enqueue(std::vector<std::shared_ptr<const v1::ControllerMessage>> messages) {
    std::lock_guard lock(mu_);
    if (finishing_) return;
    for (auto& m : messages) {
      queued_bytes_ += m->ByteSizeLong();
      queue_.push_back(std::move(m));
    }
    if (queued_bytes_ > max_bytes_) {
      queue_.clear();
      FinishLocked(
          grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "the agent reads too slowly: reconnect for a snapshot"));
      return;
    }
    if (!writing_ && !queue_.empty()) {
      writing_ = true;
      StartWrite(queue_.front().get());
    }
  }

  void CloseWith(const std::string& reason) {
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, reason));
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      {
        std::lock_guard lock(mu_);
        FinishLocked(grpc::Status::OK);
      }
      return;
    }
    auto session = session_;
    boost::asio::post(io_, [core = &core_, open = open_, session, m = in_] {
      if (*open) core->OnMessage(session, m);
    });
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    queued_bytes_ -= std::min(queued_bytes_, queue_.front()->ByteSizeLong());
    queue_.pop_front();
    if (!ok && !finishing_) {
      finishing_ = true;
      finish_status_ = grpc::Status::CANCELLED;
    }
    if (finishing_) {  // a finish waited for this write: nothing more goes out
      queue_.clear();
      queued_bytes_ = 0;
      writing_ = false;
      Finish(finish_status_.value_or(grpc::Status::OK));
      return;
    }
    if (!queue_.empty()) {
      StartWrite(queue_.front().get());
    } else {
      writing_ = false;
    }
  }

  void OnDone() override {
    session_->Detach();
    auto session = session_;
    boost::asio::post(io_, [core = &core_, open = open_, session] {
      if (*open) core->Disconnect(session);
    });
    delete this;
  }

 private:
  // Finishes now if nothing is being written, else once the write in flight completes.
  void FinishLocked(grpc::Status status) {
    if (finishing_) return;
    finishing_ = true;
    if (writing_) {
      finish_status_ = std::move(status);
    } else {
      Finish(std::move(status));
    }
  }

  boost::asio::io_context& io_;
  ControllerCore& core_;
  std::shared_ptr<bool> open_;
  size_t max_bytes_;
  std::shared_ptr<StreamSession> session_;
  v1::AgentMessage in_;
  std::mutex mu_;
  std::deque<std::shared_ptr<const v1::ControllerMessage>> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool finishing_ = false;
  std::optional<grpc::Status> finish_status_;
};

void StreamSession::Send(std::vector<std::shared_ptr<const v1::ControllerMessage>> messages) {
  std::lock_guard lock(mu_);
  if (stream_ != nullptr) stream_->Enqueue(std::move(messages));
}

void StreamSession::Close(const std::string& reason) {
  std::lock_guard lock(mu_);
  if (stream_ != nullptr) stream_->CloseWith(reason);
}

}  // namespace

grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* DistributionService::Subscribe(
    grpc::CallbackServerContext* context) {
  return new Stream(context, io_, core_, open_, options_.max_queued_bytes);
}

grpc::ServerUnaryReactor* DistributionService::GetStatus(grpc::CallbackServerContext* context, const v1::StatusRequest*,
                                                         v1::ControllerStatus* response) {
  auto* reactor = context->DefaultReactor();
  boost::asio::post(io_, [core = &core_, open = open_, reactor, response] {
    if (!*open) return reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
    *response = core->Status();
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* RuleHitsService::GetRuleHits(grpc::CallbackServerContext* context,
                                                       const v1::RuleHitsRequest* request, v1::RuleHitsReply* reply) {
  auto* reactor = context->DefaultReactor();
  boost::asio::post(io_, [core = &core_, open = open_, reactor, request, reply] {
    if (!*open) return reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
    *reply = core->RuleHits(*request);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace netfence::controller
