// Where a node agent's tables come from. Both sources speak the controller's protocol
// (distribution.proto): the agent says which generation it holds and which pods the CNI
// plugin registered; it receives node updates (snapshots and deltas) and acks what it made
// live. So the agent runs the same way from either:
//
//   RemoteTableSource  the controller over gRPC (mTLS), reconnected with backoff;
//   LocalTableSource   an embedded controller core over a manifest directory: the same
//                      incremental compiler and node views, in-process, for one node.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "dataplane/agent/controller_client.h"
#include "dataplane/common/status.h"
#include "netfence/v1/distribution.pb.h"

namespace netfence::agent {

class TableSource {
 public:
  using OnUpdate = std::function<void(v1::NodeUpdate update)>;
  virtual ~TableSource() = default;

  // Starts delivering updates (on the agent's io_context) to a node agent that holds
  // generation `held` (0: none) and has these registrations.
  virtual Status Start(uint64_t held, v1::EndpointReport endpoints, OnUpdate on_update) = 0;
  // The node's registry changed (CNI ADD/DEL/GC): a later update reflects `endpoints.sequence`.
  virtual void ReportEndpoints(v1::EndpointReport endpoints) = 0;
  // The agent made `generation` live (ok) or could not (error says why).
  virtual void Ack(uint64_t generation, bool ok, const std::string& error) = 0;
  // The agent cannot apply a delta (it holds another base): send it everything.
  virtual void Resync(const std::string& reason) = 0;
  // Whether updates can arrive now (the controller stream is up; always for a local source).
  virtual bool connected() const = 0;
  virtual std::string Describe() const = 0;
};

// The controller at `options.target`.
std::unique_ptr<TableSource> MakeRemoteTableSource(boost::asio::io_context& io, ControllerClientOptions options,
                                                   std::function<void(const std::string&)> log);

// An embedded controller core reading the manifest directory `dir`, serving node `node`.
std::unique_ptr<TableSource> MakeLocalTableSource(boost::asio::io_context& io, const std::string& dir,
                                                  const std::string& node,
                                                  std::function<void(const std::string&)> info,
                                                  std::function<void(const std::string&)> warn);

}  // namespace netfence::agent
