// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/observe/observe_service.h"

#include <sys/stat.h>

#include <filesystem>
#include <mutex>
#include <optional>

#include "dataplane/flowlog/field_mask.h"
#include "dataplane/flowlog/observe/observe_request.h"

namespace netfence::flowlog {

namespace {

class ObserveStream : public grpc::ServerWriteReactor<v1::ObserveResponse> {
 public:
  ObserveStream(RecordHub* hub, const std::string& node, const v1::ObserveRequest& request) : hub_(hub) {
    auto filter = FilterFromRequest(request);
    auto mask = FieldMask::Parse({request.field_mask().paths().begin(), request.field_mask().paths().end()});
    if (!filter.ok() || !mask.ok()) {
      done_ = true;
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          filter.ok() ? "field_mask: " + mask.status().message() : filter.status().message()));
      return;
    }
    mask_ = std::move(mask).value();
    follow_ = request.follow();
    // Locked from before the subscription: a Wake() now waits until the first write is out.
    std::lock_guard lock(mu_);
    RecordHub::HistoryInfo info;
    sub_ = hub_->Subscribe(
        std::move(filter).value(), !request.no_history(), follow_, [this] { Wake(); }, &info);
    auto* h = msg_.mutable_history();
    h->set_node(node);
    h->set_oldest_unix_nanos(info.oldest_ns);
    h->set_records(info.records);
    h->set_truncated(info.truncated);
    writing_ = true;
    StartWrite(&msg_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (finish_) {
      done_ = true;
      Finish(*finish_);
      return;
    }
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    NextLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    if (sub_) hub_->Unsubscribe(sub_);  // after this the hub never wakes us
    delete this;
  }

 private:
  // The hub has something for us (its thread, outside its lock).
  void Wake() {
    std::lock_guard lock(mu_);
    if (!writing_ && !done_ && !finish_) NextLocked();
  }

  void NextLocked() {
    EmittedPtr e = hub_->Take(*sub_);
    if (!e) {
      if (!follow_) FinishLocked(grpc::Status::OK);  // the history is all it asked for
      return;
    }
    msg_.set_record(mask_.empty() ? e->line : mask_.Apply(e->line));
    writing_ = true;
    StartWrite(&msg_);
  }

  // Finishes now when no write is in flight, else once it completes.
  void FinishLocked(grpc::Status status) {
    if (done_ || finish_) return;
    if (writing_) {
      finish_ = std::move(status);
      return;
    }
    done_ = true;
    Finish(std::move(status));
  }

  RecordHub* hub_;
  std::shared_ptr<RecordHub::Subscription> sub_;
  bool follow_ = false;
  FieldMask mask_;
  std::mutex mu_;
  v1::ObserveResponse msg_;
  bool writing_ = false;
  bool done_ = false;
  std::optional<grpc::Status> finish_;
};

}  // namespace

grpc::ServerWriteReactor<v1::ObserveResponse>* ObserveService::Observe(grpc::CallbackServerContext*,
                                                                       const v1::ObserveRequest* request) {
  return new ObserveStream(hub_, node_, *request);
}

StatusOr<std::unique_ptr<ObserveServer>> ObserveServer::Start(const std::vector<std::string>& addresses,
                                                              ObserveService* service,
                                                              std::shared_ptr<grpc::ServerCredentials> tcp_credentials,
                                                              const std::vector<grpc::Service*>& more) {
  auto s = std::unique_ptr<ObserveServer>(new ObserveServer());
  grpc::ServerBuilder builder;
  int port = 0;
  bool tcp = false;
  for (const std::string& a : addresses) {
    if (a.rfind("unix:", 0) == 0) {
      const std::filesystem::path path = a.substr(5);
      std::error_code ec;
      if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
      std::filesystem::remove(path, ec);  // a stale socket of an earlier agent
      builder.AddListeningPort(a, grpc::InsecureServerCredentials());
      s->sockets_.push_back(path.string());
    } else {
      if (!tcp_credentials) return Status::Error("Observe on " + a + ": TCP needs TLS credentials (or plaintext)");
      builder.AddListeningPort(a, tcp_credentials, tcp ? nullptr : &port);
      tcp = true;
    }
  }
  builder.RegisterService(service);
  for (grpc::Service* m : more) builder.RegisterService(m);
  const mode_t old = ::umask(0077);  // sockets 0600
  s->server_ = builder.BuildAndStart();
  ::umask(old);
  if (!s->server_) return Status::Error("Observe: cannot listen on the given addresses (in use, or no permission)");
  s->tcp_port_ = port;
  return s;
}

ObserveServer::~ObserveServer() {
  if (server_) {
    // Streams still open after the deadline are cancelled; every stream is done (and off the
    // hub) once Wait() returns.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    server_->Wait();
  }
  std::error_code ec;
  for (const std::string& p : sockets_) std::filesystem::remove(p, ec);
}

}  // namespace netfence::flowlog
