// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/datapath.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <unordered_map>

#include "common/tables/rule_keys.h"
#include "dataplane/dpdk/host_links.h"
#include "dataplane/fastpath/pod_connections.h"

namespace netfence::dpdk {
namespace {

std::atomic<uint32_t> g_instances{0};  // names of DPDK objects are process-wide

class RingEvents final : public fastpath::EventStream {
 public:
  RingEvents(const Datapath* dp, Handler handler) : dp_(dp), handler_(std::move(handler)) {}
  StatusOr<int> Drain() override {
    int total = 0;
    for (;;) {
      const uint32_t n = dp_->ReadEvents(buf_, kBatch);
      for (uint32_t i = 0; i < n; ++i) handler_(buf_[i]);
      total += static_cast<int>(n);
      if (n < kBatch) return total;
    }
  }
  StatusOr<int> Poll(int timeout_ms) override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      auto n = Drain();
      if (!n.ok() || *n > 0 || std::chrono::steady_clock::now() >= deadline) return n;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }

 private:
  static constexpr uint32_t kBatch = 256;
  const Datapath* dp_;
  Handler handler_;
  nf_event buf_[kBatch];
};

}  // namespace

StatusOr<std::unique_ptr<Datapath>> Datapath::Create(DatapathOptions options) {
  std::unique_ptr<Datapath> dp(new Datapath(std::move(options)));
  if (Status s = dp->Init(); !s.ok()) return s;
  return dp;
}

Status Datapath::Init() {
  instance_ = g_instances.fetch_add(1);
  const std::string tag = std::to_string(instance_);
  pool_ = rte_pktmbuf_pool_create(
      ("nf_mbufs" + tag).c_str(), options_.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
      rte_socket_id() == static_cast<unsigned>(SOCKET_ID_ANY) ? 0 : static_cast<int>(rte_socket_id()));
  if (pool_ == nullptr) {
    return Status::Error("mbuf pool of " + std::to_string(options_.mbufs) + ": " + rte_strerror(rte_errno) +
                         " (is -m large enough? an mbuf takes ~2.2 KB)");
  }
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) { worker_lcores_.push_back(lcore); }
  const uint32_t readers = static_cast<uint32_t>(worker_lcores_.size()) + options_.lanes;
  auto rcu = Rcu::Create(readers == 0 ? 1 : readers);
  if (!rcu.ok()) return rcu.status();
  rcu_ = std::move(rcu).value();
  publisher_ = std::make_unique<SnapshotPublisher>(rcu_.get());
  auto ct = Conntrack::Create("nf_ct" + tag, options_.conntrack_entries, rcu_.get());
  if (!ct.ok()) return ct.status();
  conntrack_ = std::move(ct).value();
  auto frags = Fragments::Create("nf_frag" + tag, options_.fragment_entries, rcu_.get());
  if (!frags.ok()) return frags.status();
  fragments_ = std::move(frags).value();
  macs_ = std::make_unique<MacTable>();
  const uint16_t queues = static_cast<uint16_t>(worker_lcores_.empty() ? 1 : worker_lcores_.size());
  for (uint32_t w = 0; w < worker_lcores_.size(); ++w) {
    auto worker = MakeWorker(w, static_cast<uint16_t>(w), tag + "w" + std::to_string(w));
    if (!worker.ok()) return worker.status();
    workers_.push_back(std::move(worker).value());
  }
  for (uint32_t l = 0; l < options_.lanes; ++l) {
    // A lane transmits on the last queue (tests with lanes and no workers: queue 0).
    auto worker = MakeWorker(static_cast<uint32_t>(worker_lcores_.size()) + l, static_cast<uint16_t>(queues - 1),
                             tag + "l" + std::to_string(l));
    if (!worker.ok()) return worker.status();
    auto lane = std::make_unique<Lane>();
    lane->dp_ = this;
    lane->worker_ = std::move(worker).value();
    lanes_.push_back(std::move(lane));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Worker>> Datapath::MakeWorker(uint32_t reader, uint16_t queue, const std::string& tag) {
  auto ring = EventRing::Create("nf_ev" + tag, options_.event_ring);
  if (!ring.ok()) return ring.status();
  Pipeline p;
  p.events = std::move(ring).value();
  p.stats = std::make_unique<WorkerStats>();
  DeciderOptions d;
  d.conntrack = options_.conntrack;
  d.events = options_.events;
  d.shared_entries = worker_lcores_.size() + options_.lanes > 1;
  d.ct_pod_quota = options_.conntrack ? options_.ct_pod_quota : 0;
  d.pod_connections = pod_connections_.get();
  d.verdict_cache = options_.verdict_cache;
  Decider decider(conntrack_.get(), fragments_.get(), p.events.get(), p.stats.get(), d);
  WorkerOptions w;
  w.reader = reader;
  w.queue = queue;
  w.forward = options_.forward;
  w.burst = options_.burst;
  w.idle_sleep_max_us = options_.idle_sleep_max_us;
  pipelines_.push_back(std::move(p));
  rcu_->Register(reader);
  return std::make_unique<Worker>(w, std::move(decider), macs_.get());
}

Datapath::~Datapath() {
  Stop();
  workers_.clear();
  lanes_.clear();
  pipelines_.clear();
  fragments_.reset();
  conntrack_.reset();
  publisher_.reset();
  rcu_.reset();
  if (pool_ != nullptr) rte_mempool_free(pool_);
}

int Datapath::RunWorker(void* arg) {
  auto* w = static_cast<std::pair<Datapath*, Worker*>*>(arg);
  w->second->Run(w->first->publisher_->live_pointer(), w->first->rcu_.get(), w->first->stop_);
  delete w;
  return 0;
}

Status Datapath::Start() {
  if (started_) return Status::Ok();
  started_ = true;
  stop_ = false;
  for (size_t i = 0; i < workers_.size(); ++i) {
    auto* arg = new std::pair<Datapath*, Worker*>(this, workers_[i].get());
    if (int rc = rte_eal_remote_launch(&Datapath::RunWorker, arg, worker_lcores_[i]); rc != 0) {
      delete arg;
      return Status::Error("launching the worker on lcore " + std::to_string(worker_lcores_[i]) + ": " +
                           rte_strerror(-rc));
    }
  }
  if (!options_.bridge.empty()) return PlugNodePort();
  return Status::Ok();
}

void Datapath::Stop() {
  if (!started_) return;
  started_ = false;
  stop_ = true;
  for (unsigned lcore : worker_lcores_) rte_eal_wait_lcore(lcore);
  std::lock_guard lock(mu_);
  // The ports close (with af_xdp, their XDP program goes with them); the interfaces stay off
  // their bridge: without this process nothing forwards them (fail closed).
  for (auto& [name, p] : plugged_) {
    if (Status s = ReleaseInterface(p.taken, false); !s.ok()) Log(s.message());
  }
  plugged_.clear();
  if (node_port_) {
    if (Status s = ReleaseInterface(*node_port_, false); !s.ok()) Log(s.message());
    node_port_.reset();
  }
  publisher_->Update([](Snapshot& s) {
    for (auto& p : s.ports) p.active = false;
  });
}

// ---- Tables -------------------------------------------------------------------------------

Status Datapath::Program(const v1::RuleTables& tables) { return ProgramEpoch(tables, 0); }

Status Datapath::ProgramEpoch(const v1::RuleTables& tables, uint32_t epoch) {
  auto owned = std::make_shared<const v1::RuleTables>(tables);
  auto classifier = classifier::Classifier::Load(owned);
  if (!classifier.ok())
    return Status::Error("tables of generation " + std::to_string(tables.generation()) +
                         " refused: " + classifier.status().message());
  std::lock_guard lock(mu_);
  auto t = std::make_shared<Tables>();
  t->classifier = std::move(classifier).value();
  t->generation = tables.generation();
  t->rule_keys.reserve(static_cast<size_t>(tables.tables_size()));
  for (int i = 0; i < tables.tables_size(); ++i) t->rule_keys.push_back(tables::TableRuleKeys(tables, i));
  // A requested epoch is taken only above every epoch this instance gave out: no connection
  // admitted here can carry it yet.
  epoch_ = epoch > epoch_ ? epoch : epoch_ + 1;
  t->epoch = epoch_;
  publisher_->Update([&](Snapshot& s) { s.tables = t; });
  live_tables_ = std::move(owned);
  return Status::Ok();
}

uint64_t Datapath::live_generation() const {
  const auto* t = publisher_->live()->tables.get();
  return t != nullptr ? t->generation : 0;
}

uint32_t Datapath::live_epoch() const {
  const auto* t = publisher_->live()->tables.get();
  return t != nullptr ? t->epoch : 0;
}

std::shared_ptr<const v1::RuleTables> Datapath::live_tables() const {
  std::lock_guard lock(mu_);
  return live_tables_;
}

// ---- Ports --------------------------------------------------------------------------------

Status Datapath::Plug(const fastpath::Port& port, PortRole role, const std::vector<IpAddr>& addresses) {
  if (role == PortRole::kEndpoint && (addresses.empty() || addresses.size() > NF_IFACE_MAX_ADDRS)) {
    return Status::Error("interface " + port.name + ": " + std::to_string(addresses.size()) + " addresses (1 to " +
                         std::to_string(NF_IFACE_MAX_ADDRS) + ")");
  }
  std::lock_guard lock(mu_);
  auto it = plugged_.find(port.name);
  if (it != plugged_.end() && port.ifindex != 0 && it->second.taken.ifindex != port.ifindex) {
    // The interface was deleted and another one made under its name: the old port goes.
    if (Status s = ReleaseInterface(it->second.taken, false); !s.ok()) Log(s.message());
    const uint16_t gone = it->second.taken.port_id;
    publisher_->Update([&](Snapshot& s) { s.ports[gone] = PortPolicy{}; });
    macs_->ForgetPort(gone);
    plugged_.erase(it);
    it = plugged_.end();
  }
  if (it == plugged_.end()) {
    InterfaceSpec spec;
    spec.interface = port.name;
    spec.ifindex = port.ifindex;
    spec.pod_netns = port.pod_netns;
    spec.pod_interface = port.pod_interface;
    spec.driver = options_.driver;
    spec.queues = static_cast<uint16_t>(workers_.empty() ? 1 : workers_.size());
    if (!options_.bridge.empty()) {
      if (auto bridge = GetLink(options_.bridge); bridge.ok()) spec.default_bridge = bridge->ifindex;
    }
    auto taken = TakeInterface(spec, pool_);
    if (!taken.ok()) return taken.status();
    if (taken->port_id >= kMaxPorts) {
      (void)ReleaseInterface(*taken, true);
      return Status::Error("interface " + port.name + ": port " + std::to_string(taken->port_id) + " beyond the " +
                           std::to_string(kMaxPorts) + " this DPDK build allows (RTE_MAX_ETHPORTS)");
    }
    it = plugged_.emplace(port.name, Plugged{std::move(taken).value(), role}).first;
    const uint32_t stale = it->second.taken.discarded;
    Log("plugged " + port.name + " as port " + std::to_string(it->second.taken.port_id) + " (" + options_.driver + ")" +
        (stale != 0 ? "; discarded " + std::to_string(stale) + " frames the socket took before it was bound" : ""));
  }
  it->second.role = role;
  PortPolicy policy;
  policy.active = true;
  policy.role = role;
  policy.ifindex = static_cast<uint32_t>(it->second.taken.ifindex);
  policy.n_addrs = static_cast<uint32_t>(role == PortRole::kEndpoint ? addresses.size() : 0);
  for (uint32_t i = 0; i < policy.n_addrs; ++i) policy.addrs[i] = addresses[i].bytes;
  const uint16_t id = it->second.taken.port_id;
  publisher_->Update([&](Snapshot& s) { s.ports[id] = policy; });
  return Status::Ok();
}

Status Datapath::PlugEndpoint(const fastpath::Port& port, const std::vector<IpAddr>& addresses) {
  return Plug(port, PortRole::kEndpoint, addresses);
}

Status Datapath::PlugUplink(const fastpath::Port& port) { return Plug(port, PortRole::kUplink, {}); }

Status Datapath::Unplug(const fastpath::Port& port) {
  std::lock_guard lock(mu_);
  auto it = plugged_.find(port.name);
  if (it == plugged_.end()) return Status::Ok();
  const uint16_t id = it->second.taken.port_id;
  publisher_->Update([&](Snapshot& s) { s.ports[id] = PortPolicy{}; });  // no worker touches it after this
  macs_->ForgetPort(id);
  Status s = ReleaseInterface(it->second.taken, true);
  Log("unplugged " + port.name + " (port " + std::to_string(id) + ")");
  plugged_.erase(it);
  return s;
}

bool Datapath::Enforces(const fastpath::Port& port) const {
  std::lock_guard lock(mu_);
  auto it = plugged_.find(port.name);
  if (it == plugged_.end() || (port.ifindex != 0 && it->second.taken.ifindex != port.ifindex)) return false;
  auto link = GetLink(port.name);
  return link.ok() && link->ifindex == it->second.taken.ifindex;
}

Status Datapath::PlugNodePort() {
  const std::string& name = options_.node_port;
  const std::string peer = name + "-br";
  auto bridge = GetLink(options_.bridge);
  if (!bridge.ok()) return Status::Error("--bridge: " + bridge.status().message());
  if (!GetLink(name).ok()) {
    (void)DeleteLink(peer);
    if (Status s = CreateVethPair(name, peer); !s.ok()) return Status::Error("node port: " + s.message());
  }
  // The bridge's end: frames the node's stack sends leave it with complete checksums.
  for (Status s : {SetMaster(peer, bridge->ifindex), DisableOffloads(peer), SilenceKernel(peer), SetLinkUp(peer)}) {
    if (!s.ok()) return Status::Error("node port: " + s.message());
  }
  InterfaceSpec spec;
  spec.interface = name;
  spec.driver = options_.driver;
  spec.queues = static_cast<uint16_t>(workers_.empty() ? 1 : workers_.size());
  auto taken = TakeInterface(spec, pool_);
  if (!taken.ok()) return Status::Error("node port: " + taken.status().message());
  std::lock_guard lock(mu_);
  node_port_ = std::make_unique<TakenInterface>(std::move(taken).value());
  PortPolicy policy;
  policy.active = true;
  policy.role = PortRole::kUplink;  // the node's stack: never a local pod
  policy.ifindex = static_cast<uint32_t>(node_port_->ifindex);
  const uint16_t id = node_port_->port_id;
  publisher_->Update([&](Snapshot& s) { s.ports[id] = policy; });
  Log("node port " + name + " (port " + std::to_string(id) + ") joins bridge " + options_.bridge + " through " + peer);
  return Status::Ok();
}

Status Datapath::AttachEthdev(uint16_t port_id, PortPolicy policy) {
  if (port_id >= kMaxPorts) return Status::Error("port " + std::to_string(port_id) + " out of range");
  std::lock_guard lock(mu_);
  policy.active = true;
  attached_[port_id] = policy;
  publisher_->Update([&](Snapshot& s) { s.ports[port_id] = policy; });
  return Status::Ok();
}

Status Datapath::DetachEthdev(uint16_t port_id) {
  std::lock_guard lock(mu_);
  attached_.erase(port_id);
  publisher_->Update([&](Snapshot& s) { s.ports[port_id] = PortPolicy{}; });
  macs_->ForgetPort(port_id);
  return Status::Ok();
}

Status Datapath::SetPodCidrs(const std::vector<IpPrefix>& guarded, const std::vector<IpAddr>& exempt) {
  std::lock_guard lock(mu_);
  publisher_->Update([&](Snapshot& s) { s.guard.Set(guarded, exempt); });
  return Status::Ok();
}

// ---- Observation --------------------------------------------------------------------------

fastpath::Counters Datapath::ReadCounters() const {
  fastpath::Counters out{};
  for (const Pipeline& p : pipelines_) {
    for (int i = 0; i < NF_COUNTERS; ++i) out[i] += p.stats->counters[i].load(std::memory_order_relaxed);
  }
  return out;
}

Status Datapath::ReadRuleHits(std::vector<fastpath::RuleHit>* out) const {
  std::unordered_map<uint64_t, fastpath::RuleHit> sums;
  for (const Pipeline& p : pipelines_) p.stats->rule_hits.SumInto(&sums);
  out->clear();
  out->reserve(sums.size());
  for (const auto& [key, h] : sums) out->push_back(h);
  return Status::Ok();
}

fastpath::DropCounts Datapath::ReadDropReasons() const {
  fastpath::DropCounts out{};
  for (const Pipeline& p : pipelines_) {
    for (int i = 0; i < NF_DROP_REASONS; ++i) out[i] += p.stats->drops[i].load(std::memory_order_relaxed);
  }
  return out;
}

fastpath::Traffic Datapath::ReadTraffic() const {
  fastpath::Traffic out{};
  for (const Pipeline& p : pipelines_) {
    for (int i = 0; i < NF_TRAFFIC_SLOTS; ++i) {
      out[i].packets += p.stats->traffic[i][0].load(std::memory_order_relaxed);
      out[i].bytes += p.stats->traffic[i][1].load(std::memory_order_relaxed);
    }
  }
  return out;
}

uint32_t Datapath::ReadEvents(nf_event* out, uint32_t max) const {
  std::lock_guard lock(events_mu_);
  uint32_t n = 0;
  // Round robin over the rings, so that a busy worker does not starve the others' events.
  for (size_t k = 0; k < pipelines_.size() && n < max; ++k) {
    const size_t i = (next_ring_ + k) % pipelines_.size();
    n += pipelines_[i].events->Pop(out + n, max - n);
  }
  if (!pipelines_.empty()) next_ring_ = static_cast<uint32_t>((next_ring_ + 1) % pipelines_.size());
  return n;
}

StatusOr<std::unique_ptr<fastpath::EventStream>> Datapath::OpenEvents(fastpath::EventStream::Handler handler) const {
  return std::unique_ptr<fastpath::EventStream>(new RingEvents(this, std::move(handler)));
}

Status Datapath::ReadConntrack(std::vector<fastpath::CtEntry>* out) const {
  out->clear();
  conntrack_->ReadAll([&](const nf_ct_key& k, const nf_ct_entry& e) { out->push_back({k, e}); });
  return Status::Ok();
}

Status Datapath::FlushConntrack() {
  std::lock_guard lock(mu_);
  conntrack_->Flush();
  return Status::Ok();
}

void Datapath::Housekeeping() {
  std::lock_guard lock(mu_);
  const uint64_t now = MonotonicCoarseNs();
  conntrack_->Collect([now](const nf_ct_key& k, const nf_ct_entry& e) {
    return now > e.last_seen_ns && now - e.last_seen_ns > ConntrackTimeout(e, k.proto);
  });
  const uint64_t precise = MonotonicNs();
  fragments_->Collect([precise](const nf_frag_key&, const nf_frag_entry& e) {
    return precise > e.first_ns && precise - e.first_ns > NF_FRAG_TIMEOUT_NS;
  });
  RecountPodConnectionsLocked();
}

Status Datapath::RecountPodConnections() {
  std::lock_guard lock(mu_);
  RecountPodConnectionsLocked();
  return Status::Ok();
}

void Datapath::RecountPodConnectionsLocked() {
  if (!options_.conntrack || options_.ct_pod_quota == 0) return;
  std::vector<fastpath::CtEntry> entries;
  conntrack_->ReadAll([&](const nf_ct_key& k, const nf_ct_entry& e) { entries.push_back({k, e}); });
  const std::map<uint32_t, uint64_t> held = fastpath::ConnectionsByInterface(entries);
  const Snapshot& s = *publisher_->live();  // ports change under mu_ only
  for (uint16_t p = 0; p < kMaxPorts; ++p) {
    const auto it = s.ports[p].role == PortRole::kEndpoint ? held.find(s.ports[p].ifindex) : held.end();
    pod_connections_->held[p].store(it == held.end() ? 0 : it->second, std::memory_order_relaxed);
  }
}

uint64_t Datapath::tx_dropped() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->tx_dropped();
  return n;
}

void Datapath::Lane::Process(uint16_t port, rte_mbuf** pkts, uint32_t n, uint8_t* actions, nf_decision* records) {
  Rcu& rcu = *dp_->rcu_;
  const uint32_t reader = worker_->options().reader;
  rcu.Online(reader);
  const Snapshot& s = *dp_->publisher_->live();
  worker_->Process(s, port, pkts, n, actions, records);
  worker_->Flush(s);
  rcu.Offline(reader);
}

}  // namespace netfence::dpdk
