// The node agent's core: the endpoint registry, the node's tables and the fast path, driven
// from one thread (the agent's event loop). The CNI plugin's requests (protocol.h) and table
// sources (manifest directory; the controller's stream) call in here.
//
// What "protected from the first packet" means here: Add() answers only after the pod's
// tables are live, its host-side veth is bound to its addresses (anti-spoofing) and the XDP
// program (RX) and TC program (node -> pod) are attached to it. Until the plugin gets that
// answer the pod's sandbox has no running container; if Add() fails the plugin sets the veth
// down (fail closed) and the runtime tears the sandbox down.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/k8s/model.h"
#include "dataplane/agent/protocol.h"
#include "dataplane/agent/registry.h"
#include "dataplane/xdp/xdp_program.h"

namespace netfence::agent {

struct AgentOptions {
  std::string node;                       // this node's name (pods' spec.nodeName)
  std::string state_dir = "/run/netfence";  // endpoints.json lives here
  std::vector<std::string> uplinks;       // interfaces towards other nodes (ingress only)
  xdp::AttachMode attach_mode = xdp::AttachMode::kNativeOrGeneric;
};

class Agent {
 public:
  using Log = std::function<void(const std::string&)>;
  Agent(AgentOptions options, std::unique_ptr<xdp::XdpProgram> fast_path, Log info, Log warn);

  // Loads the registry, forgets endpoints whose veth is gone (deleted while the agent was
  // away), binds and attaches the uplinks. Call before the first SetClusterState.
  Status Start();
  // A new cluster state from the table source: compiles the node's tables and programs them;
  // on the first call also re-attaches every registered endpoint (a restart's takeover).
  // On error the live tables stay.
  Status SetClusterState(const k8s::ClusterState& state);
  // One request of the CNI plugin.
  Response Handle(const Request& request);
  // Detaches from every endpoint and uplink, forgets the registry (netfence-agent --uninstall).
  Status Uninstall();

  uint64_t live_generation() const { return fast_path_->live_generation(); }
  bool ready() const { return state_.has_value() && live_generation() != 0; }
  xdp::XdpProgram& fast_path() { return *fast_path_; }

 private:
  Response Add(const Request& request);
  Response Del(const Request& request);
  Response Check(const Request& request);
  Response Gc(const Request& request);
  Response Refuse(int code, std::string message) const;
  // Compiles the node's tables for the current state and registry and makes them live.
  Status Reprogram();
  // Binds, attaches XDP and TC egress to a registered endpoint's veth.
  Status Plug(const EndpointRecord& record);
  void Unplug(const EndpointRecord& record);
  bool IsLocalEndpoint(const std::string& pod_key) const;

  AgentOptions options_;
  std::unique_ptr<xdp::XdpProgram> fast_path_;
  Log info_, warn_;
  Registry registry_;
  std::optional<k8s::ClusterState> state_;
  bool plugged_existing_ = false;
  uint64_t next_generation_ = 1;
  std::vector<std::string> live_endpoints_;  // "ns/name" of the live tables' endpoints, sorted
};

}  // namespace netfence::agent
