// SPDX-License-Identifier: Apache-2.0
// The controller's core: cluster state in (a Source's events), one stream of node updates out
// per connected agent. Everything runs on one io_context thread; the gRPC service
// (distribution_service.h) turns streams into Session objects and posts their messages here.
//
//   source events ──> EndpointOverlay ──> IncrementalCompiler ──> NodeViews ──> sessions
//   agents' registrations ──┘                                  acks ──> status
//
// Nothing is sent before the source has synced (a partial cluster would be enforced as if it
// were the whole: missing policies open pods up). Agents keep their last tables until then.
// Each compile of pending events makes a new generation; every known node gets a delta for
// it. A session whose agent does not hold a delta's base gets a snapshot instead.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "controlplane/compiler/incremental.h"
#include "controlplane/distribution/endpoint_overlay.h"
#include "controlplane/distribution/node_views.h"
#include "controlplane/source/source.h"
#include "netfence/v1/distribution.pb.h"

namespace netfence::controller {

// One agent's stream, as the core sees it. Implemented by the gRPC service (and by tests).
class Session {
 public:
  virtual ~Session() = default;
  // Queues messages for the agent, in order. Called on the core's thread. Messages are
  // shared (a snapshot's ipcache parts go unchanged to every node) and never modified.
  virtual void Send(std::vector<std::shared_ptr<const v1::ControllerMessage>> messages) = 0;
  // Ends the stream with an error the agent sees (e.g. a wrong node identity).
  virtual void Close(const std::string& reason) = 0;
  // The node name the transport authenticated (certificate), or "" when it proves none.
  virtual std::string AuthenticatedNode() const { return ""; }
};

struct CoreOptions {
  size_t max_part_bytes = 1 << 20;
  bool require_node_identity = false;  // Hello.node must equal Session::AuthenticatedNode()
  // Policies without an annotation netfence.io/enforcement are in audit (--default-enforcement).
  bool audit_by_default = false;
  std::function<void(const std::string&)> info, warn;
  // Called on the core's thread for every successful ack (benchmarks, tests).
  std::function<void(const std::string& node, uint64_t generation)> on_ack;
};

// Counters for /metrics (read on the core's thread).
struct CoreMetrics {
  uint64_t generations = 0;
  uint64_t events_applied = 0;
  uint64_t objects_rejected = 0;
  uint64_t tables_built = 0;
  uint64_t updates_sent = 0;
  uint64_t update_bytes_sent = 0;
  uint64_t snapshots_sent = 0;
  uint64_t acks = 0;
  uint64_t nacks = 0;
  double last_compile_seconds = 0;
  double compile_seconds_total = 0;
};

class ControllerCore : public source::Observer {
 public:
  ControllerCore(boost::asio::io_context& io, CoreOptions options);
  ~ControllerCore() override;

  // source::Observer (on the core's thread).
  void OnEvents(std::vector<source::Event> events) override;
  void OnSynced() override;
  void OnRejected(const k8s::ObjectError& error) override;

  // Sessions (on the core's thread). The core keeps a shared_ptr until Disconnect.
  void OnMessage(const std::shared_ptr<Session>& session, const v1::AgentMessage& message);
  void Disconnect(const std::shared_ptr<Session>& session);

  v1::ControllerStatus Status() const;
  // Rule hit counters: every node's last report summed per rule, with the rules of the current
  // policies declared (RuleHits service, netfencectl stats --controller).
  v1::RuleHitsReply RuleHits(const v1::RuleHitsRequest& request) const;
  const CoreMetrics& metrics() const { return metrics_; }
  const distribution::EndpointOverlay::Refusals& registration_refusals() const { return overlay_.refusals(); }
  bool synced() const { return synced_; }
  uint64_t generation() const { return generation_; }
  size_t sessions() const { return sessions_.size(); }
  void set_source_description(std::string d) { source_description_ = std::move(d); }
  const compiler::IncrementalCompiler& compiler() const { return compiler_; }

 private:
  struct SessionState {
    std::string node;  // "" until Hello
    std::string agent;
    uint64_t sent_generation = 0;  // what the agent holds once it applied what was sent
  };
  struct NodeAcks {
    uint64_t acked = 0;
    std::string last_error;
    std::string agent;
  };

  void OnHello(const std::shared_ptr<Session>& s, SessionState& st, const v1::Hello& hello);
  void OnRegistrations(const std::string& node, const v1::EndpointReport& report, bool always);
  // After sync: a snapshot to every session not holding its node's current generation.
  void PublishAll();
  void ScheduleCompile();
  void Compile();
  void SendSnapshot(const std::shared_ptr<Session>& s, SessionState& st);
  // The ipcache of the current generation as snapshot parts (built once per generation).
  const std::vector<std::shared_ptr<const v1::ControllerMessage>>& IpcacheParts();
  void SendUpdate(const std::shared_ptr<Session>& s, SessionState& st, const v1::NodeUpdate& u);
  int64_t NowNanos() const;

  boost::asio::io_context& io_;
  CoreOptions options_;
  distribution::EndpointOverlay overlay_;
  compiler::IncrementalCompiler compiler_;
  distribution::NodeViews views_{compiler_};
  std::vector<source::Event> pending_;  // compiler events not compiled yet
  bool registrations_changed_ = false;
  bool publish_all_ = false;
  bool compile_scheduled_ = false;
  bool synced_ = false;
  uint64_t generation_;
  int64_t generation_nanos_ = 0;
  std::deque<std::pair<uint64_t, int64_t>> produced_;  // recent generations and when
  std::map<std::pair<std::string, std::string>, uint64_t> policy_generation_;
  std::map<std::shared_ptr<Session>, SessionState> sessions_;
  std::map<std::string, NodeAcks> acks_;
  std::map<std::string, v1::RuleHitReport> hit_reports_;  // by node: the last one (kept when it disconnects)
  uint64_t ipcache_parts_generation_ = 0;
  std::vector<std::shared_ptr<const v1::ControllerMessage>> ipcache_parts_;
  std::string source_description_;
  CoreMetrics metrics_;
};

}  // namespace netfence::controller
