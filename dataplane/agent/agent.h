// SPDX-License-Identifier: Apache-2.0
// The node agent's core: the endpoint registry, the node's view of the compiled tables and the
// fast path, driven from one thread (the agent's event loop). The CNI plugin's requests
// (protocol.h) and the table source's updates (table_source.h) call in here.
//
// Updates: each one is applied to a copy of the node view, assembled into one RuleTables and
// made live at once by the fast path; only then is it acked, persisted (state_dir/view.pb,
// so that a restarted agent knows what it enforces before the source answers) and taken as
// the new view. A delta for another base than the view's asks the source for a snapshot.
//
// What "protected from the first packet" means here: Add() answers only after the pod's
// tables are live (a generation that reflects its registration lists it as a local
// endpoint), its host-side veth is bound to its addresses (anti-spoofing) and the XDP
// program (RX) and TC program (node -> pod) are attached to it. Until the plugin gets that
// answer the pod's sandbox has no running container; if Add() fails the plugin sets the veth
// down (fail closed) and the runtime tears the sandbox down.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/tables/table_set.h"
#include "dataplane/agent/protocol.h"
#include "dataplane/agent/registry.h"
#include "dataplane/agent/table_source.h"
#include "dataplane/fastpath/fast_path.h"
#include "dataplane/netdev/netdev.h"

namespace netfence::agent {

struct AgentOptions {
  std::string node;                              // this node's name (pods' spec.nodeName)
  std::string state_dir = "/run/netfence";       // endpoints.json and view.pb live here
  std::vector<std::string> uplinks;              // interfaces towards other nodes (ingress only)
  std::chrono::milliseconds add_timeout{20000};  // ADD waits this long for its tables
  // The node's pod CIDRs (--pod-cidr): addresses inside them that no local endpoint holds are
  // unreachable, which closes the window between the interface plugin's ADD and ours. The
  // node's own addresses inside them (the bridge's gateway) stay reachable.
  std::vector<IpPrefix> pod_cidrs;
  const netdev::Devices* devices = &netdev::SystemDevices();  // the node's network devices
  // Where netfence-cni journals the DELs it could not deliver (DeletedJournalDir of the
  // socket); applied at Start. Empty: none.
  std::string deleted_journal;
};

// What Start() reconciled, for logs and /metrics.
struct StartReconcile {
  uint64_t deletes_applied = 0;       // journaled DELs of registered pods, applied
  uint64_t interfaces_forgotten = 0;  // registered pods whose veth is gone
  uint64_t interfaces_down = 0;       // veths on a pod bridge that no registration names: set down
};

class Agent {
 public:
  using Log = std::function<void(const std::string&)>;
  using Reply = std::function<void(Response)>;
  Agent(boost::asio::io_context& io, AgentOptions options, std::unique_ptr<fastpath::FastPath> fast_path,
        std::unique_ptr<TableSource> source, Log info, Log warn);
  ~Agent();

  // Loads the registry (forgetting endpoints whose veth is gone) and the persisted view
  // (programming it if the fast path holds another generation), binds and attaches the
  // uplinks, plugs the registered endpoints, and starts the table source.
  Status Start();
  // One request of the CNI plugin; `reply` is called once, maybe later (add waits for its
  // tables), always on the agent's thread.
  void Handle(const Request& request, Reply reply);
  // Detaches from every endpoint and uplink, forgets the registry and the view
  // (netfence-agent --uninstall; no table source needed, Start() not called).
  Status Uninstall();

  // Called whenever a generation becomes live (also the persisted one at Start), with the
  // tables as the fast path got them and the node view they came from: what flow logs need to
  // name the rules of that generation. Set before Start().
  using OnLive = std::function<void(uint64_t generation, const v1::RuleTables& tables, const tables::TableSet& view)>;
  void set_on_live(OnLive on_live) { on_live_ = std::move(on_live); }

  // The generation the fast path was last programmed with; later generations whose tables
  // were the same are realised without programming (view_generation() is the latest).
  uint64_t live_generation() const { return fast_path_->live_generation(); }
  uint64_t programmed() const { return programmed_; }
  bool ready() const { return view_generation_ != 0 && live_generation() != 0; }
  fastpath::FastPath& fast_path() { return *fast_path_; }
  const tables::TableSet& view() const { return view_; }
  uint64_t view_generation() const { return view_generation_; }
  const TableSource& source() const { return *source_; }
  const StartReconcile& reconciled() const { return reconciled_; }

 private:
  struct PendingAdd {
    EndpointRecord record;
    std::optional<EndpointRecord> previous;
    uint64_t sequence;
    Reply reply;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  void OnUpdate(v1::NodeUpdate update);
  // Makes `set` live as `generation`: assembles, programs, persists.
  Status MakeLive(const tables::TableSet& set, uint64_t generation);
  void ResolvePendingAdds(const v1::NodeUpdate& update);
  void FinishAdd(uint64_t sequence, Response response);
  v1::EndpointReport Report();
  void SendReport();

  void Add(const Request& request, Reply reply);
  Response Del(const Request& request);
  Response Check(const Request& request);
  Response Gc(const Request& request);
  Response StatusOf() const;
  Response Refuse(int code, std::string message) const;
  // Makes the fast path enforce on a registered endpoint's veth.
  Status Plug(const EndpointRecord& record);
  // Writes options_.pod_cidrs, exempting the node's addresses inside them as they are now.
  Status GuardPodCidrs();
  void Unplug(const EndpointRecord& record);
  void PlugRegistered();
  // Start(): the DELs journaled while the agent was away, registrations whose veth is gone,
  // and veths on the pods' bridges that nobody registered (fail closed).
  Status ApplyJournaledDeletes();
  Status ForgetGoneInterfaces();
  void FailClosedUnregistered(bool ran_before);
  Status LoadView();
  bool IsLocalEndpoint(const std::string& ns, const std::string& name) const;

  boost::asio::io_context& io_;
  AgentOptions options_;
  std::unique_ptr<fastpath::FastPath> fast_path_;
  std::unique_ptr<TableSource> source_;
  Log info_, warn_;
  Registry registry_;
  tables::TableSet view_;
  uint64_t view_generation_ = 0;
  bool plugged_registered_ = false;
  uint64_t report_sequence_;
  uint64_t seen_sequence_ = 0;  // the report sequence the live generation reflects
  std::map<uint64_t, PendingAdd> pending_;
  std::set<tables::EndpointName> unknown_;  // registered pods the cluster does not have
  OnLive on_live_;
  std::string live_key_;     // the live tables without their generation (serialized)
  uint64_t programmed_ = 0;  // Program() calls: generations that changed the fast path
  StartReconcile reconciled_;
  std::set<int> downed_;  // ifindexes FailClosedUnregistered set down (an ADD brings them up)
};

}  // namespace netfence::agent
