// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/controller_client.h"

#include <boost/asio/post.hpp>
#include <deque>

#include "common/base/files.h"
#include "common/tables/update_chunks.h"

namespace netfence::agent {

// One Subscribe stream. Deleted by itself when gRPC is done with it (OnDone).
class ControllerClient::Call : public grpc::ClientBidiReactor<v1::AgentMessage, v1::ControllerMessage> {
 public:
  Call(ControllerClient* owner, v1::PolicyDistribution::Stub* stub, v1::AgentMessage hello)
      : owner_(owner), io_(owner->io_), shared_(owner->shared_) {
    {
      std::lock_guard lock(shared_->mu);
      ++shared_->calls;
    }
    stub->async()->Subscribe(&context_, this);
    queue_.push_back(std::move(hello));
    writing_ = true;
    StartWrite(&queue_.front());
    StartRead(&in_);
    StartCall();
  }

  void Enqueue(v1::AgentMessage m) {
    std::lock_guard lock(mu_);
    if (done_) return;
    queue_.push_back(std::move(m));
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void Cancel() { context_.TryCancel(); }

  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok) return;
    Post([](ControllerClient* c) {
      c->connected_ = true;
      c->backoff_ = c->options_.backoff_min;
      if (c->on_connection_) c->on_connection_(true, "connected to " + c->options_.target);
    });
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ends: OnDone follows
    got_anything_ = true;
    if (in_.has_update()) OnPart(std::move(*in_.mutable_update()));
    in_.Clear();
    StartRead(&in_);
  }

  // Reassembles an update from its parts, within max_update_bytes.
  void OnPart(v1::NodeUpdate&& part) {
    const uint64_t generation = part.generation();
    const bool last = !part.more();
    if (skipping_ != 0 && generation == skipping_) {
      if (last) skipping_ = 0;
      return;
    }
    skipping_ = 0;
    partial_bytes_ += part.ByteSizeLong();
    if (partial_bytes_ > max_update_bytes_) {
      const std::string why =
          "update " + std::to_string(generation) + " exceeds " + std::to_string(max_update_bytes_) + " bytes: refused";
      partial_ = v1::NodeUpdate();
      partial_bytes_ = 0;
      if (!last) skipping_ = generation;
      Post([generation, why](ControllerClient* c) {
        if (c->on_connection_) c->on_connection_(c->connected_, why);
        c->Ack(generation, false, why);
      });
      return;
    }
    if (tables::MergeUpdatePart(std::move(part), &partial_)) {
      partial_bytes_ = 0;
      Post([u = std::move(partial_)](ControllerClient* c) mutable {
        if (c->on_update_) c->on_update_(std::move(u));
      });
      partial_ = v1::NodeUpdate();
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    queue_.pop_front();
    if (!ok) {
      queue_.clear();
      writing_ = false;
      return;
    }
    if (!queue_.empty()) {
      StartWrite(&queue_.front());
    } else {
      writing_ = false;
    }
  }

  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    {
      // No one may reach this stream once it is deleted below (Stop() and sends look it up
      // under the owner's lock; the owner outlives every stream: its destructor waits).
      std::lock_guard lock(owner_->mu_);
      if (owner_->call_ == this) owner_->call_ = nullptr;
    }
    Post([status, got = got_anything_](ControllerClient* c) { c->OnCallEnded(status, got); });
    std::shared_ptr<Shared> shared = shared_;
    delete this;
    std::lock_guard lock(shared->mu);
    --shared->calls;
    shared->done.notify_all();
  }

 private:
  template <typename F>
  void Post(F&& f) {
    std::lock_guard lock(shared_->mu);
    if (!shared_->alive) return;
    boost::asio::post(io_, [owner = owner_, shared = shared_, f = std::forward<F>(f)]() mutable {
      {
        std::lock_guard inner(shared->mu);
        if (!shared->alive) return;
      }
      f(owner);
    });
  }

  ControllerClient* owner_;
  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  grpc::ClientContext context_;
  v1::ControllerMessage in_;
  v1::NodeUpdate partial_;
  size_t partial_bytes_ = 0;
  const size_t max_update_bytes_ = owner_->options_.max_update_bytes;
  uint64_t skipping_ = 0;  // the generation whose remaining parts are skipped (0: none)
  std::mutex mu_;
  std::deque<v1::AgentMessage> queue_;
  bool writing_ = false;
  bool done_ = false;
  bool got_anything_ = false;
};

namespace {}  // namespace

ControllerClient::ControllerClient(boost::asio::io_context& io, ControllerClientOptions options, OnUpdate on_update,
                                   OnConnection on_connection)
    : io_(io), options_(std::move(options)), on_update_(std::move(on_update)), on_connection_(std::move(on_connection)),
      retry_(io), backoff_(options_.backoff_min) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(options_.max_message_bytes, INT32_MAX)));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(options_.backoff_min.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(options_.backoff_max.count()));
  if (!options_.tls_server_name.empty()) args.SetSslTargetNameOverride(options_.tls_server_name);
  auto creds = options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials();
  channel_ = grpc::CreateCustomChannel(options_.target, creds, args);
  stub_ = v1::PolicyDistribution::NewStub(channel_);
}

ControllerClient::~ControllerClient() {
  Stop();
  std::unique_lock lock(shared_->mu);
  shared_->alive = false;
  shared_->done.wait(lock, [&] { return shared_->calls == 0; });
}

void ControllerClient::Start(uint64_t held, v1::EndpointReport endpoints) {
  held_ = held;
  endpoints_ = std::move(endpoints);
  Open();
}

void ControllerClient::Stop() {
  stopped_ = true;
  retry_.cancel();
  std::lock_guard lock(mu_);
  if (call_ != nullptr) call_->Cancel();
}

void ControllerClient::Open() {
  if (stopped_) return;
  v1::AgentMessage hello;
  hello.mutable_hello()->set_node(options_.node);
  hello.mutable_hello()->set_generation(held_);
  hello.mutable_hello()->set_agent(options_.agent);
  *hello.mutable_hello()->mutable_endpoints() = endpoints_;
  std::lock_guard lock(mu_);
  call_ = new Call(this, stub_.get(), std::move(hello));
}

void ControllerClient::OnCallEnded(const grpc::Status& status, bool got_anything) {
  const bool was = connected_;
  connected_ = false;
  if (stopped_) return;
  ++reconnects_;
  if (on_connection_ && (was || !got_anything)) {
    on_connection_(false, "stream to " + options_.target + " ended: " +
                              (status.ok() ? std::string("closed by the controller") : status.error_message()));
  }
  // Full jitter over the current backoff, then double it (capped).
  std::uniform_int_distribution<int64_t> jitter(backoff_.count() / 2, backoff_.count());
  retry_.expires_after(std::chrono::milliseconds(jitter(rng_)));
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  retry_.async_wait([this](boost::system::error_code ec) {
    if (!ec) Open();
  });
}

void ControllerClient::Send(v1::AgentMessage m) {
  std::lock_guard lock(mu_);
  if (call_ != nullptr) call_->Enqueue(std::move(m));
}

void ControllerClient::SetHeld(uint64_t generation) { held_ = generation; }

void ControllerClient::Ack(uint64_t generation, bool ok, const std::string& error) {
  v1::AgentMessage m;
  m.mutable_ack()->set_generation(generation);
  m.mutable_ack()->set_ok(ok);
  m.mutable_ack()->set_error(error);
  Send(std::move(m));
}

void ControllerClient::ReportEndpoints(v1::EndpointReport endpoints) {
  endpoints_ = endpoints;
  v1::AgentMessage m;
  *m.mutable_endpoints() = std::move(endpoints);
  Send(std::move(m));
}

void ControllerClient::Resync(const std::string& reason) {
  v1::AgentMessage m;
  m.mutable_resync()->set_reason(reason);
  Send(std::move(m));
}

void ControllerClient::ReportRuleHits(v1::RuleHitReport report) {
  v1::AgentMessage m;
  *m.mutable_rule_hits() = std::move(report);
  Send(std::move(m));
}

}  // namespace netfence::agent
