// SPDX-License-Identifier: Apache-2.0
// The agent's end of netfence.v1.PolicyDistribution: one stream to the controller, opened
// again with exponential backoff and jitter whenever it ends (the agent keeps enforcing its
// last tables meanwhile). Each new stream starts with Hello (node, the generation the agent
// holds, its registered endpoints). Whole updates (parts reassembled) are handed to the
// agent on its io_context; acks, endpoint reports and resync requests go out in order.
//
// gRPC's callback API runs the stream on its own threads; everything the agent sees happens
// on the io_context. One client can serve many simulated agents in a benchmark.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "common/base/status.h"
#include "netfence/v1/distribution.grpc.pb.h"

namespace netfence::agent {

struct ControllerClientOptions {
  std::string target;  // host:port
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string tls_server_name;  // overrides the name checked in the controller's certificate
  std::string node;
  std::string agent = "netfence-agent";
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};
  // What a controller (a buggy or a hostile one) can make the agent hold: one message, and
  // one update reassembled from its parts. An update past the limit is refused (acked with
  // the reason; the live tables stay) and its remaining parts skipped.
  size_t max_message_bytes = size_t{64} << 20;
  size_t max_update_bytes = size_t{512} << 20;
};

class ControllerClient {
 public:
  using OnUpdate = std::function<void(v1::NodeUpdate update)>;
  using OnConnection = std::function<void(bool connected, const std::string& why)>;

  ControllerClient(boost::asio::io_context& io, ControllerClientOptions options, OnUpdate on_update,
                   OnConnection on_connection = {});
  ~ControllerClient();
  ControllerClient(const ControllerClient&) = delete;
  ControllerClient& operator=(const ControllerClient&) = delete;

  // Opens the first stream. `held` and `endpoints` go into its Hello (and, as updated by
  // SetHeld/ReportEndpoints, into every later one).
  void Start(uint64_t held, v1::EndpointReport endpoints);
  void Stop();

  void SetHeld(uint64_t generation);
  void Ack(uint64_t generation, bool ok, const std::string& error = "");
  void ReportEndpoints(v1::EndpointReport endpoints);
  void Resync(const std::string& reason);
  // The node's rule hit counters (dropped while no stream is up: the next report has them).
  void ReportRuleHits(v1::RuleHitReport report);

  bool connected() const { return connected_; }
  uint64_t reconnects() const { return reconnects_; }

  class Call;  // one stream (client_stream.cc)

 private:
  void Open();
  void OnCallEnded(const grpc::Status& status, bool got_anything);
  void Send(v1::AgentMessage m);

  boost::asio::io_context& io_;
  ControllerClientOptions options_;
  OnUpdate on_update_;
  OnConnection on_connection_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PolicyDistribution::Stub> stub_;
  boost::asio::steady_timer retry_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::chrono::milliseconds backoff_;
  // The current stream: set and reset on the io thread; used under mu_ from sends.
  std::mutex mu_;
  Call* call_ = nullptr;
  uint64_t held_ = 0;
  v1::EndpointReport endpoints_;
  bool stopped_ = false;
  bool connected_ = false;
  uint64_t reconnects_ = 0;
  // Shared with the streams, which gRPC may finish after this client is gone: they post
  // nothing into it once `alive` is false, and the destructor waits for `calls` to drain.
  struct Shared {
    std::mutex mu;
    std::condition_variable done;
    bool alive = true;
    int calls = 0;
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

}  // namespace netfence::agent
