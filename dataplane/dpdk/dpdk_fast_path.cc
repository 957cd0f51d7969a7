// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/dpdk_fast_path.h"

#include <grpcpp/grpcpp.h>

#include <cstring>

namespace netfence::dpdk {
namespace {

constexpr auto kCallDeadline = std::chrono::seconds(10);
constexpr auto kProgramDeadline = std::chrono::seconds(120);  // a big table set, a grace period

void Deadline(grpc::ClientContext* ctx, std::chrono::seconds d) {
  ctx->set_deadline(std::chrono::system_clock::now() + d);
}

std::string Bytes(const IpAddr& a) { return std::string(reinterpret_cast<const char*>(a.bytes.data()), 16); }

class RemoteEvents final : public fastpath::EventStream {
 public:
  RemoteEvents(const DpdkFastPath* fp, Handler handler) : fp_(fp), handler_(std::move(handler)) {}
  StatusOr<int> Drain() override { return fp_->ReadEvents(0, handler_); }
  StatusOr<int> Poll(int timeout_ms) override { return fp_->ReadEvents(timeout_ms, handler_); }

 private:
  const DpdkFastPath* fp_;
  Handler handler_;
};

}  // namespace

DpdkFastPath::DpdkFastPath(DpdkFastPathOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(512 << 20);
  args.SetMaxSendMessageSize(512 << 20);
  // Reconnect quickly when netfence-dpdk comes back.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  channel_ = grpc::CreateCustomChannel(options_.target, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::Datapath::NewStub(channel_);
}

StatusOr<std::unique_ptr<DpdkFastPath>> DpdkFastPath::Connect(DpdkFastPathOptions options) {
  std::unique_ptr<DpdkFastPath> fp(new DpdkFastPath(std::move(options)));
  const auto deadline = std::chrono::steady_clock::now() + fp->options_.connect_timeout;
  v1::DatapathInstance hello;
  Status s = fp->Hello(&hello);
  while (!s.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s = fp->Hello(&hello);
  }
  if (!s.ok()) return Status::Error(s.message() + " (is netfence-dpdk running?)");
  // Re-adopt what is live there: a restarted agent knows its tables from netfence-dpdk.
  if (hello.live_generation() != 0) {
    grpc::ClientContext ctx;
    Deadline(&ctx, kProgramDeadline);
    auto live = std::make_shared<v1::RuleTables>();
    v1::DatapathHello req;
    grpc::Status st = fp->stub_->LiveTables(&ctx, req, live.get());
    if (!st.ok()) return Status::Error(fp->Where() + ": live tables: " + st.error_message());
    fp->tables_ = std::move(live);
  }
  fp->Adopt(hello);
  fp->instance_ = hello.instance();
  fp->Log("enforcing through " + fp->Where() + " (instance " + hello.instance() + ", pid " +
          std::to_string(hello.pid()) + ", " + std::to_string(hello.workers()) + " workers, generation " +
          std::to_string(hello.live_generation()) + " live)");
  fp->watcher_ = std::thread([raw = fp.get()] { raw->Watch(); });
  return fp;
}

DpdkFastPath::~DpdkFastPath() {
  {
    std::lock_guard lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

Status DpdkFastPath::Hello(v1::DatapathInstance* out) const {
  grpc::ClientContext ctx;
  Deadline(&ctx, std::chrono::seconds(2));
  v1::DatapathHello req;
  grpc::Status st = stub_->Hello(&ctx, req, out);
  if (!st.ok()) return Status::Error(Where() + ": " + st.error_message());
  return Status::Ok();
}

void DpdkFastPath::Adopt(const v1::DatapathInstance& in) {
  live_generation_ = in.live_generation();
  live_epoch_ = in.live_epoch();
  conntrack_capacity_ = in.conntrack_capacity();
}

std::string DpdkFastPath::instance() const {
  std::lock_guard lock(mu_);
  return instance_;
}

Status DpdkFastPath::SendProgram(const v1::RuleTables& tables, uint32_t epoch) {
  grpc::ClientContext ctx;
  Deadline(&ctx, kProgramDeadline);
  v1::ProgramRequest req;
  *req.mutable_tables() = tables;
  req.set_epoch(epoch);
  v1::DatapathInstance out;
  grpc::Status st = stub_->Program(&ctx, req, &out);
  if (!st.ok()) return Status::Error(Where() + ": " + st.error_message());
  Adopt(out);
  return Status::Ok();
}

Status DpdkFastPath::Program(const v1::RuleTables& tables) {
  std::lock_guard lock(mu_);
  if (Status s = SendProgram(tables, 0); !s.ok()) return s;
  tables_ = std::make_shared<const v1::RuleTables>(tables);
  return Status::Ok();
}

Status DpdkFastPath::SendPlug(const PlugRecord& r) const {
  grpc::ClientContext ctx;
  Deadline(&ctx, kCallDeadline);
  v1::PortRequest req;
  req.set_interface(r.port.name);
  req.set_ifindex(r.port.ifindex);
  req.set_kind(r.uplink ? v1::PortRequest::UPLINK : v1::PortRequest::ENDPOINT);
  for (const IpAddr& a : r.addresses) req.add_addresses(Bytes(a));
  req.set_pod_netns(r.port.pod_netns);
  req.set_pod_interface(r.port.pod_interface);
  v1::PortReply out;
  grpc::Status st = stub_->PlugPort(&ctx, req, &out);
  if (!st.ok()) return Status::Error(Where() + ": " + st.error_message());
  return Status::Ok();
}

Status DpdkFastPath::PlugEndpoint(const fastpath::Port& port, const std::vector<IpAddr>& addresses) {
  std::lock_guard lock(mu_);
  PlugRecord r{port, false, addresses};
  if (Status s = SendPlug(r); !s.ok()) return s;
  ports_[port.name] = std::move(r);
  return Status::Ok();
}

Status DpdkFastPath::PlugUplink(const fastpath::Port& port) {
  std::lock_guard lock(mu_);
  PlugRecord r{port, true, {}};
  if (Status s = SendPlug(r); !s.ok()) return s;
  ports_[port.name] = std::move(r);
  return Status::Ok();
}

Status DpdkFastPath::Unplug(const fastpath::Port& port) {
  std::lock_guard lock(mu_);
  ports_.erase(port.name);
  grpc::ClientContext ctx;
  Deadline(&ctx, kCallDeadline);
  v1::PortRequest req;
  req.set_interface(port.name);
  req.set_ifindex(port.ifindex);
  v1::PortReply out;
  grpc::Status st = stub_->UnplugPort(&ctx, req, &out);
  if (!st.ok()) return Status::Error(Where() + ": " + st.error_message());
  return Status::Ok();
}

bool DpdkFastPath::Enforces(const fastpath::Port& port) const {
  grpc::ClientContext ctx;
  Deadline(&ctx, kCallDeadline);
  v1::PortRequest req;
  req.set_interface(port.name);
  req.set_ifindex(port.ifindex);
  v1::PortReply out;
  return stub_->PortStatus(&ctx, req, &out).ok() && out.enforced();
}

Status DpdkFastPath::SendPodCidrs() const {
  grpc::ClientContext ctx;
  Deadline(&ctx, kCallDeadline);
  v1::PodCidrsRequest req;
  for (const IpPrefix& p : guarded_) {
    req.add_guarded_addresses(Bytes(p.addr));
    req.add_guarded_lengths(p.len);
  }
  for (const IpAddr& a : exempt_) req.add_exempt(Bytes(a));
  v1::DatapathInstance out;
  grpc::Status st = stub_->SetPodCidrs(&ctx, req, &out);
  if (!st.ok()) return Status::Error(Where() + ": " + st.error_message());
  return Status::Ok();
}

Status DpdkFastPath::SetPodCidrs(const std::vector<IpPrefix>& guarded, const std::vector<IpAddr>& exempt) {
  std::lock_guard lock(mu_);
  guarded_ = guarded;
  exempt_ = exempt;
  return SendPodCidrs();
}

StatusOr<v1::DatapathStats> DpdkFastPath::Stats() const {
  grpc::ClientContext ctx;
  Deadline(&ctx, kCallDeadline);
  v1::DatapathHello req;
  v1::DatapathStats out;
  grpc::Status st = stub_->ReadStats(&ctx, req, &out);
  if (!st.ok()) return Status::Error(Where() + ": " + st.error_message());
  return out;
}

fastpath::Counters DpdkFastPath::ReadCounters() const {
  fastpath::Counters c{};
  auto s = Stats();
  if (s.ok()) {
    for (int i = 0; i < s->counters_size() && i < NF_COUNTERS; ++i) c[i] = s->counters(i);
  }
  return c;
}

fastpath::DropCounts DpdkFastPath::ReadDropReasons() const {
  fastpath::DropCounts d{};
  auto s = Stats();
  if (s.ok()) {
    for (int i = 0; i < s->drop_reasons_size() && i < NF_DROP_REASONS; ++i) d[i] = s->drop_reasons(i);
  }
  return d;
}

fastpath::Traffic DpdkFastPath::ReadTraffic() const {
  fastpath::Traffic t{};
  auto s = Stats();
  if (s.ok()) {
    for (int i = 0; i < NF_TRAFFIC_SLOTS && 2 * i + 1 < s->traffic_size(); ++i) {
      t[i].packets = s->traffic(2 * i);
      t[i].bytes = s->traffic(2 * i + 1);
    }
  }
  return t;
}

StatusOr<int> DpdkFastPath::ReadEvents(int wait_ms, const fastpath::EventStream::Handler& handler) const {
  int total = 0;
  for (;;) {
    grpc::ClientContext ctx;
    Deadline(&ctx, kCallDeadline + std::chrono::seconds(wait_ms / 1000 + 1));
    v1::ReadEventsRequest req;
    req.set_wait_ms(total == 0 ? static_cast<uint32_t>(wait_ms) : 0);
    v1::EventBatch batch;
    grpc::Status st = stub_->ReadEvents(&ctx, req, &batch);
    if (!st.ok()) {
      // netfence-dpdk is away: the reader's loop must not spin meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      return Status::Error(Where() + ": events: " + st.error_message());
    }
    const std::string& bytes = batch.events();
    const size_t n = bytes.size() / sizeof(nf_event);
    for (size_t i = 0; i < n; ++i) {
      nf_event e;
      std::memcpy(&e, bytes.data() + i * sizeof(nf_event), sizeof(nf_event));
      handler(e);
    }
    total += static_cast<int>(n);
    if (n < 4096) return total;  // the server's batch was not full: nothing more waits
  }
}

StatusOr<std::unique_ptr<fastpath::EventStream>> DpdkFastPath::OpenEvents(
    fastpath::EventStream::Handler handler) const {
  return std::unique_ptr<fastpath::EventStream>(new RemoteEvents(this, std::move(handler)));
}

Status DpdkFastPath::ReadConntrack(std::vector<fastpath::CtEntry>* out) const {
  out->clear();
  grpc::ClientContext ctx;
  Deadline(&ctx, std::chrono::seconds(60));
  v1::DatapathHello req;
  auto reader = stub_->ReadConntrack(&ctx, req);
  v1::ConntrackBatch batch;
  constexpr size_t kRecord = sizeof(nf_ct_key) + sizeof(nf_ct_entry);
  while (reader->Read(&batch)) {
    const std::string& bytes = batch.entries();
    for (size_t at = 0; at + kRecord <= bytes.size(); at += kRecord) {
      fastpath::CtEntry e;
      std::memcpy(&e.key, bytes.data() + at, sizeof(nf_ct_key));
      std::memcpy(&e.entry, bytes.data() + at + sizeof(nf_ct_key), sizeof(nf_ct_entry));
      out->push_back(e);
    }
  }
  grpc::Status st = reader->Finish();
  if (!st.ok()) return Status::Error(Where() + ": conntrack: " + st.error_message());
  return Status::Ok();
}

Status DpdkFastPath::ReadRuleHits(std::vector<fastpath::RuleHit>* out) const {
  out->clear();
  grpc::ClientContext ctx;
  Deadline(&ctx, kCallDeadline);
  v1::DatapathHello req;
  v1::RuleHitBatch batch;
  grpc::Status st = stub_->ReadRuleHits(&ctx, req, &batch);
  if (!st.ok()) return Status::Error(Where() + ": rule hits: " + st.error_message());
  constexpr size_t kRecord = sizeof(uint64_t) + sizeof(nf_rule_hits);
  const std::string& bytes = batch.hits();
  for (size_t at = 0; at + kRecord <= bytes.size(); at += kRecord) {
    fastpath::RuleHit h;
    nf_rule_hits v;
    std::memcpy(&h.key, bytes.data() + at, sizeof(h.key));
    std::memcpy(&v, bytes.data() + at + sizeof(h.key), sizeof(v));
    h.allowed = v.allowed;
    h.denied = v.denied;
    h.last_ns = v.last_ns;
    out->push_back(h);
  }
  return Status::Ok();
}

int64_t DpdkFastPath::rule_hits_since_unix_ns() const {
  v1::DatapathInstance now;
  return Hello(&now).ok() ? now.started_unix_nanos() : 0;
}

Status DpdkFastPath::FlushConntrack() {
  grpc::ClientContext ctx;
  Deadline(&ctx, kCallDeadline);
  v1::DatapathHello req;
  v1::DatapathInstance out;
  grpc::Status st = stub_->FlushConntrack(&ctx, req, &out);
  if (!st.ok()) return Status::Error(Where() + ": " + st.error_message());
  return Status::Ok();
}

void DpdkFastPath::Watch() {
  bool away = false;
  for (;;) {
    {
      std::unique_lock lock(watch_mu_);
      if (watch_cv_.wait_for(lock, options_.watch_interval, [this] { return stopping_; })) return;
    }
    v1::DatapathInstance now;
    if (Status s = Hello(&now); !s.ok()) {
      if (!away) Log(s.message() + ": the pods it switches are cut off until it is back");
      away = true;
      continue;
    }
    away = false;
    if (now.instance() != instance()) Restore(now);
  }
}

void DpdkFastPath::Restore(const v1::DatapathInstance& fresh) {
  std::lock_guard lock(mu_);
  Log("netfence-dpdk restarted (instance " + fresh.instance() + ", pid " + std::to_string(fresh.pid()) +
      "): giving it generation " + std::to_string(live_generation_.load()) + " and " + std::to_string(ports_.size()) +
      " ports");
  std::string failed;
  if (tables_ != nullptr) {
    if (Status s = SendProgram(*tables_, live_epoch_.load()); !s.ok()) {
      Log("restoring netfence-dpdk: tables: " + s.message() + " (tried again shortly)");
      return;  // the instance stays unknown: the next watch tries again
    }
  } else {
    Adopt(fresh);
  }
  if (!guarded_.empty() || !exempt_.empty()) {
    if (Status s = SendPodCidrs(); !s.ok()) failed += " pod CIDRs: " + s.message() + ";";
  }
  // Uplinks first: the node's other ports are reachable before its pods are.
  for (bool uplinks : {true, false}) {
    for (const auto& [name, r] : ports_) {
      if (r.uplink != uplinks) continue;
      if (Status s = SendPlug(r); !s.ok()) failed += " " + name + ": " + s.message() + ";";
    }
  }
  if (!failed.empty()) {
    Log("restoring netfence-dpdk:" + failed + " (those ports stay unplugged until the agent plugs them again)");
  }
  instance_ = fresh.instance();
  ++restorations_;
}

}  // namespace netfence::dpdk
