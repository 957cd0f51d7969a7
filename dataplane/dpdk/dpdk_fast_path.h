// SPDX-License-Identifier: Apache-2.0
// DpdkFastPath: the agent's FastPath when it enforces through the DPDK pipeline
// (netfence-agent --dataplane dpdk). The pipeline runs in netfence-dpdk, a process of its own
// that owns the EAL, the ports and the workers; this class talks to it over its unix socket
// (netfence.v1.Datapath, proto/netfence/v1/datapath.proto) and links no DPDK.
//
// Restarts. The agent restarting leaves netfence-dpdk running with its tables, connections
// and ports: a new DpdkFastPath re-adopts them (the live generation and epoch from Hello, the
// live tables from LiveTables). netfence-dpdk restarting comes back with nothing (no tables:
// it drops every IP packet; no ports: the pods' veths, off their bridge, carry nothing). A
// watcher thread sees the instance change and gives the new one what this client made live:
// the tables under the same generation and epoch (so the flow log's history keeps naming
// them), the pod CIDRs and every port plugged, in that order.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dataplane/fastpath/fast_path.h"
#include "netfence/v1/datapath.grpc.pb.h"

namespace netfence::dpdk {

struct DpdkFastPathOptions {
  std::string target = "unix:/run/netfence/dpdk.sock";
  // How long Connect() waits for netfence-dpdk to answer (it may start after the agent).
  std::chrono::milliseconds connect_timeout{30000};
  // How often the watcher asks netfence-dpdk who it is.
  std::chrono::milliseconds watch_interval{500};
  std::function<void(const std::string&)> log;
};

class DpdkFastPath final : public fastpath::FastPath {
 public:
  static StatusOr<std::unique_ptr<DpdkFastPath>> Connect(DpdkFastPathOptions options);
  ~DpdkFastPath() override;

  std::string_view name() const override { return "dpdk"; }
  Status Program(const v1::RuleTables& tables) override;
  uint64_t live_generation() const override { return live_generation_.load(); }
  uint32_t live_epoch() const override { return live_epoch_.load(); }
  Status PlugEndpoint(const fastpath::Port& port, const std::vector<IpAddr>& addresses) override;
  Status PlugUplink(const fastpath::Port& port) override;
  Status Unplug(const fastpath::Port& port) override;
  bool Enforces(const fastpath::Port& port) const override;
  Status SetPodCidrs(const std::vector<IpPrefix>& guarded, const std::vector<IpAddr>& exempt) override;
  fastpath::Counters ReadCounters() const override;
  fastpath::DropCounts ReadDropReasons() const override;
  fastpath::Traffic ReadTraffic() const override;
  StatusOr<std::unique_ptr<fastpath::EventStream>> OpenEvents(fastpath::EventStream::Handler handler) const override;
  Status ReadConntrack(std::vector<fastpath::CtEntry>* out) const override;
  uint32_t conntrack_capacity() const override { return conntrack_capacity_.load(); }
  Status ReadRuleHits(std::vector<fastpath::RuleHit>* out) const override;
  int64_t rule_hits_since_unix_ns() const override;  // netfence-dpdk's start (a Hello)
  Status FlushConntrack() override;

  // The netfence-dpdk instance last seen, and how many times this client re-programmed a new one.
  std::string instance() const;
  uint64_t restorations() const { return restorations_.load(); }

  // Events from netfence-dpdk (one reader at a time): what waits now, or what arrives within
  // wait_ms.
  StatusOr<int> ReadEvents(int wait_ms, const fastpath::EventStream::Handler& handler) const;

 private:
  struct PlugRecord {
    fastpath::Port port;
    bool uplink = false;
    std::vector<IpAddr> addresses;
  };
  explicit DpdkFastPath(DpdkFastPathOptions options);
  Status Hello(v1::DatapathInstance* out) const;
  void Adopt(const v1::DatapathInstance& in);
  Status SendProgram(const v1::RuleTables& tables, uint32_t epoch);
  Status SendPlug(const PlugRecord& r) const;
  Status SendPodCidrs() const;
  StatusOr<v1::DatapathStats> Stats() const;
  void Watch();
  void Restore(const v1::DatapathInstance& fresh);
  std::string Where() const { return "netfence-dpdk at " + options_.target; }
  void Log(const std::string& m) const {
    if (options_.log) options_.log(m);
  }

  DpdkFastPathOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Datapath::Stub> stub_;

  mutable std::mutex mu_;  // what the agent made live, and the instance it is live in
  std::string instance_;
  std::shared_ptr<const v1::RuleTables> tables_;
  std::vector<IpPrefix> guarded_;
  std::vector<IpAddr> exempt_;
  std::map<std::string, PlugRecord> ports_;  // by interface name
  std::atomic<uint64_t> live_generation_{0};
  std::atomic<uint32_t> live_epoch_{0};
  std::atomic<uint32_t> conntrack_capacity_{0};
  std::atomic<uint64_t> restorations_{0};

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace netfence::dpdk
