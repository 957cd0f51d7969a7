// SPDX-License-Identifier: Apache-2.0
// A simulated node agent for controller tests and benchmarks: the real gRPC client
// (dataplane/agent/controller_client.h) and the agent's update rule (apply the delta on the
// generation held, else ask for a snapshot; assemble the tables; ack), without a fast path.
// Many of them share one io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/tables/table_set.h"
#include "dataplane/agent/controller_client.h"

namespace netfence::testing {

// Runs `io` in slices until `done` holds (checked between handlers); false after `timeout`.
// gRPC threads post into such a loop at any time: keep a work guard on it.
bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A node's part of the cluster's units, straight from the definition (node_views.h): its
// endpoints, their tables, the identities those name, the whole ipcache.
tables::TableSet ExpectedNodeView(const tables::TableSet& all, const std::string& node);

// Which keys two table sets disagree on ("" when equal), for failure messages.
std::string Difference(const tables::TableSet& held, const tables::TableSet& want);

class SimAgent {
 public:
  // Called after each update is applied and acked (on the io thread).
  using OnApplied = std::function<void(const SimAgent& agent, const v1::NodeUpdate& update)>;

  // `program`, when set, gets the assembled tables before the ack (a real fast path in a
  // benchmark); with assemble = false the update is only applied to the node view.
  using Program = std::function<void(const v1::RuleTables& tables)>;
  SimAgent(boost::asio::io_context& io, agent::ControllerClientOptions options, OnApplied on_applied = {},
           bool assemble = true, Program program = {});
  void Start(v1::EndpointReport endpoints = {});
  void Stop();
  // The agent "loses" the next update (as if it crashed after acking nothing): the one after
  // it is a delta on a base it does not hold, which must bring a snapshot.
  void DropNextUpdate() { drop_next_ = true; }
  bool drop_pending() const { return drop_next_; }
  void ReportEndpoints(v1::EndpointReport endpoints) { client_->ReportEndpoints(std::move(endpoints)); }

  const tables::TableSet& set() const { return set_; }
  uint64_t generation() const { return generation_; }
  uint64_t updates() const { return updates_; }
  uint64_t snapshots() const { return snapshots_; }
  uint64_t resyncs() const { return resyncs_; }
  // The last update applied: its metadata (its units moved into set()), its size on the wire
  // and how many tables it carried.
  const v1::NodeUpdate& last_update() const { return last_; }
  size_t last_update_bytes() const { return last_bytes_; }
  int last_update_tables() const { return last_tables_; }
  bool connected() const { return client_->connected(); }
  const std::string& node() const { return node_; }
  agent::ControllerClient& client() { return *client_; }

 private:
  void OnUpdate(v1::NodeUpdate u);

  std::string node_;
  std::unique_ptr<agent::ControllerClient> client_;
  OnApplied on_applied_;
  bool assemble_;
  Program program_;
  tables::TableSet set_;
  uint64_t generation_ = 0;
  uint64_t updates_ = 0, snapshots_ = 0, resyncs_ = 0;
  bool drop_next_ = false;
  v1::NodeUpdate last_;
  size_t last_bytes_ = 0;
  int last_tables_ = 0;
};

}  // namespace netfence::testing
