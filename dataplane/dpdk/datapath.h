// SPDX-License-Identifier: Apache-2.0
// The DPDK fast path in one object: tables, ports, workers, conntrack, events, counters; the
// FastPath interface (dataplane/fastpath/fast_path.h) implemented in the process that owns
// the EAL. netfence-dpdk serves it to the agent over gRPC (datapath_service.h); tests and
// benchmarks use it in-process.
//
//   rte_eal_init(...)                            // the process's EAL (eal.h): lcores 1.. are workers
//   auto dp = Datapath::Create(options);         // pool, conntrack, rings, RCU, one worker per worker lcore
//   dp->Start();                                 // workers run; the node port joins the bridge
//   dp->Program(tables); dp->PlugEndpoint(...);  // as the agent does through FastPath
//   dp->Housekeeping();                          // every second: expired connections go
//
// Nothing is programmed at start: IP packets drop (NF_DROP_NO_TABLES) until Program(), as a
// freshly loaded XDP program does. Lanes are extra pipelines a test drives by hand on its
// own thread (Lane::Process), with the same decisions as a worker's.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataplane/dpdk/decider.h"
#include "dataplane/dpdk/ports.h"
#include "dataplane/dpdk/worker.h"
#include "dataplane/fastpath/fast_path.h"

struct rte_mempool;

namespace netfence::dpdk {

struct DatapathOptions {
  uint32_t conntrack_entries = 65536;
  uint32_t fragment_entries = 8192;
  uint32_t event_ring = 32768;  // events each worker's ring holds
  uint32_t mbufs = 16383;
  uint32_t burst = 32;
  uint32_t lanes = 0;  // pipelines driven by hand (tests, benchmarks)
  bool conntrack = true;
  bool events = true;
  uint32_t ct_pod_quota = 0;      // connections a pod's port may hold (fastpath/pod_connections.h); 0: none
  uint32_t verdict_cache = 4096;  // questions each worker remembers (verdict_cache.h); 0: none
  bool forward = true;            // false: passed packets are freed (tests, benchmarks of the decision alone)
  uint32_t idle_sleep_max_us = 0;
  std::string driver = "af_packet";   // vdev for interfaces: af_packet, af_xdp
  std::string bridge;                 // the node's bridge: its node port joins the switch ("": none)
  std::string node_port = "nfdpdk0";  // the node port's interface (its peer on the bridge: NAME-br)
  std::function<void(const std::string&)> log;
};

class Datapath final : public fastpath::FastPath {
 public:
  // The EAL must be initialised; every worker lcore of it runs a worker.
  static StatusOr<std::unique_ptr<Datapath>> Create(DatapathOptions options);
  ~Datapath() override;

  // Launches the workers and plugs the node port (options.bridge).
  Status Start();
  // Stops the workers and releases every port (interfaces rejoin their bridges).
  void Stop();

  // ---- FastPath ----------------------------------------------------------------------
  std::string_view name() const override { return "dpdk"; }
  Status Program(const v1::RuleTables& tables) override;
  uint64_t live_generation() const override;
  uint32_t live_epoch() const override;
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
  uint32_t conntrack_capacity() const override { return conntrack_->capacity(); }
  Status ReadRuleHits(std::vector<fastpath::RuleHit>* out) const override;
  // Counting starts with the pipeline.
  int64_t rule_hits_since_unix_ns() const override { return created_unix_ns_; }
  Status FlushConntrack() override;

  // ---- Beyond FastPath ---------------------------------------------------------------
  // Program() under a given epoch (0: the next one): a client restoring a restarted
  // netfence-dpdk. Later programmings continue after the highest epoch seen.
  Status ProgramEpoch(const v1::RuleTables& tables, uint32_t epoch);
  // The live tables as programmed (null before the first Program()).
  std::shared_ptr<const v1::RuleTables> live_tables() const;
  // Events waiting in the rings, up to `max`, into `out`; how many.
  uint32_t ReadEvents(nf_event* out, uint32_t max) const;
  // Deletes expired connections and fragments (the control thread, every second or so).
  void Housekeeping();
  // Recounts each pod port's connections for the quota (DatapathOptions::ct_pod_quota); part of
  // Housekeeping(), callable alone (tests).
  Status RecountPodConnections();
  // Makes an ethdev started elsewhere (net_ring, net_null) a port of the pipeline.
  Status AttachEthdev(uint16_t port_id, PortPolicy policy);
  Status DetachEthdev(uint16_t port_id);
  // The snapshot workers read now (tests: what a burst is decided under).
  const Snapshot& live_snapshot() const { return *publisher_->live(); }
  rte_mempool* mempool() const { return pool_; }
  uint32_t workers() const { return static_cast<uint32_t>(workers_.size()); }
  uint64_t tx_dropped() const;

  // A pipeline driven by hand from one thread: Process() decides (and forwards, with
  // options.forward) one burst under the live snapshot, online for RCU only meanwhile.
  class Lane {
   public:
    void Process(uint16_t port, rte_mbuf** pkts, uint32_t n, uint8_t* actions = nullptr,
                 nf_decision* records = nullptr);
    Worker& worker() { return *worker_; }

   private:
    friend class Datapath;
    Datapath* dp_ = nullptr;
    std::unique_ptr<Worker> worker_;
  };
  Lane& lane(size_t i) { return *lanes_[i]; }

 private:
  void RecountPodConnectionsLocked();  // with mu_ held
  struct Plugged {
    TakenInterface taken;  // port_id, vdev, bridge
    PortRole role = PortRole::kNone;
  };
  struct Pipeline {  // a worker's or a lane's
    std::unique_ptr<EventRing> events;
    std::unique_ptr<WorkerStats> stats;
  };

  explicit Datapath(DatapathOptions options) : options_(std::move(options)) {}
  Status Init();
  StatusOr<std::unique_ptr<Worker>> MakeWorker(uint32_t reader, uint16_t queue, const std::string& tag);
  Status Plug(const fastpath::Port& port, PortRole role, const std::vector<IpAddr>& addresses);
  Status PlugNodePort();
  static int RunWorker(void* arg);
  void Log(const std::string& m) const {
    if (options_.log) options_.log(m);
  }

  DatapathOptions options_;
  uint32_t instance_ = 0;
  int64_t created_unix_ns_ =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<Rcu> rcu_;
  std::unique_ptr<SnapshotPublisher> publisher_;
  std::unique_ptr<Conntrack> conntrack_;
  std::unique_ptr<PodConnections> pod_connections_ = std::make_unique<PodConnections>();
  std::unique_ptr<Fragments> fragments_;
  std::unique_ptr<MacTable> macs_;
  std::vector<Pipeline> pipelines_;  // workers first, then lanes
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<unsigned> worker_lcores_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<bool> stop_{false};
  bool started_ = false;

  mutable std::mutex mu_;  // the control side: programming, ports, housekeeping
  std::shared_ptr<const v1::RuleTables> live_tables_;
  uint32_t epoch_ = 0;
  std::map<std::string, Plugged> plugged_;   // by interface name
  std::map<uint16_t, PortPolicy> attached_;  // ethdevs attached by hand
  std::unique_ptr<TakenInterface> node_port_;
  mutable std::mutex events_mu_;  // one event reader at a time
  mutable uint32_t next_ring_ = 0;
};

}  // namespace netfence::dpdk
