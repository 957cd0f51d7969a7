// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/datapath_service.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace netfence::dpdk {
namespace {

constexpr uint32_t kMaxEventsPerBatch = 4096;
constexpr size_t kConntrackPerBatch = 2048;

grpc::Status Failed(const Status& s) { return {grpc::StatusCode::FAILED_PRECONDITION, s.message()}; }

StatusOr<IpAddr> Address(const std::string& bytes, const char* field) {
  if (bytes.size() != 16)
    return Status::Error(std::string(field) + ": " + std::to_string(bytes.size()) + " bytes, not 16");
  IpAddr a;
  std::memcpy(a.bytes.data(), bytes.data(), 16);
  return a;
}

fastpath::Port PortOf(const v1::PortRequest& r) {
  return {r.ifindex(), r.interface(), r.pod_netns(), r.pod_interface()};
}

}  // namespace

DatapathService::DatapathService(Datapath* datapath, std::string instance)
    : dp_(datapath), instance_(std::move(instance)) {}

void DatapathService::Describe(v1::DatapathInstance* out) const {
  out->set_instance(instance_);
  out->set_live_generation(dp_->live_generation());
  out->set_live_epoch(dp_->live_epoch());
  out->set_conntrack_capacity(dp_->conntrack_capacity());
  out->set_pid(static_cast<int32_t>(::getpid()));
  out->set_workers(dp_->workers());
  out->set_started_unix_nanos(dp_->rule_hits_since_unix_ns());
}

grpc::Status DatapathService::Hello(grpc::ServerContext*, const v1::DatapathHello*, v1::DatapathInstance* out) {
  Describe(out);
  return grpc::Status::OK;
}

grpc::Status DatapathService::Program(grpc::ServerContext*, const v1::ProgramRequest* in, v1::DatapathInstance* out) {
  if (Status s = dp_->ProgramEpoch(in->tables(), in->epoch()); !s.ok()) {
    return {grpc::StatusCode::INVALID_ARGUMENT, s.message()};
  }
  Describe(out);
  return grpc::Status::OK;
}

grpc::Status DatapathService::LiveTables(grpc::ServerContext*, const v1::DatapathHello*, v1::RuleTables* out) {
  if (auto t = dp_->live_tables()) *out = *t;
  return grpc::Status::OK;
}

grpc::Status DatapathService::PlugPort(grpc::ServerContext*, const v1::PortRequest* in, v1::PortReply* out) {
  Status s = Status::Ok();
  if (in->kind() == v1::PortRequest::ENDPOINT) {
    std::vector<IpAddr> addrs;
    for (const std::string& b : in->addresses()) {
      auto a = Address(b, "addresses");
      if (!a.ok())
        return {grpc::StatusCode::INVALID_ARGUMENT, "interface " + in->interface() + ": " + a.status().message()};
      addrs.push_back(*a);
    }
    s = dp_->PlugEndpoint(PortOf(*in), addrs);
  } else if (in->kind() == v1::PortRequest::UPLINK) {
    s = dp_->PlugUplink(PortOf(*in));
  } else {
    return {grpc::StatusCode::INVALID_ARGUMENT, "interface " + in->interface() + ": kind: ENDPOINT or UPLINK"};
  }
  if (!s.ok()) return Failed(s);
  out->set_enforced(true);
  return grpc::Status::OK;
}

grpc::Status DatapathService::UnplugPort(grpc::ServerContext*, const v1::PortRequest* in, v1::PortReply* out) {
  if (Status s = dp_->Unplug(PortOf(*in)); !s.ok()) return Failed(s);
  out->set_enforced(false);
  return grpc::Status::OK;
}

grpc::Status DatapathService::PortStatus(grpc::ServerContext*, const v1::PortRequest* in, v1::PortReply* out) {
  out->set_enforced(dp_->Enforces(PortOf(*in)));
  return grpc::Status::OK;
}

grpc::Status DatapathService::SetPodCidrs(grpc::ServerContext*, const v1::PodCidrsRequest* in,
                                          v1::DatapathInstance* out) {
  if (in->guarded_addresses_size() != in->guarded_lengths_size()) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "guarded_addresses and guarded_lengths differ in length"};
  }
  std::vector<IpPrefix> guarded;
  std::vector<IpAddr> exempt;
  for (int i = 0; i < in->guarded_addresses_size(); ++i) {
    auto a = Address(in->guarded_addresses(i), "guarded_addresses");
    if (!a.ok() || in->guarded_lengths(i) > 128) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "guarded prefix " + std::to_string(i) + " is malformed"};
    }
    guarded.push_back({*a, static_cast<uint8_t>(in->guarded_lengths(i))});
  }
  for (const std::string& b : in->exempt()) {
    auto a = Address(b, "exempt");
    if (!a.ok()) return {grpc::StatusCode::INVALID_ARGUMENT, a.status().message()};
    exempt.push_back(*a);
  }
  if (Status s = dp_->SetPodCidrs(guarded, exempt); !s.ok()) return Failed(s);
  Describe(out);
  return grpc::Status::OK;
}

grpc::Status DatapathService::ReadStats(grpc::ServerContext*, const v1::DatapathHello*, v1::DatapathStats* out) {
  for (uint64_t v : dp_->ReadCounters()) out->add_counters(v);
  for (uint64_t v : dp_->ReadDropReasons()) out->add_drop_reasons(v);
  for (const nf_traffic& t : dp_->ReadTraffic()) {
    out->add_traffic(t.packets);
    out->add_traffic(t.bytes);
  }
  return grpc::Status::OK;
}

grpc::Status DatapathService::ReadEvents(grpc::ServerContext* ctx, const v1::ReadEventsRequest* in,
                                         v1::EventBatch* out) {
  const uint32_t max =
      in->max_events() == 0 || in->max_events() > kMaxEventsPerBatch ? kMaxEventsPerBatch : in->max_events();
  std::string* bytes = out->mutable_events();
  bytes->resize(static_cast<size_t>(max) * sizeof(nf_event));
  auto* events = reinterpret_cast<nf_event*>(bytes->data());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(in->wait_ms());
  uint32_t n = dp_->ReadEvents(events, max);
  while (n == 0 && std::chrono::steady_clock::now() < deadline && !ctx->IsCancelled()) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    n = dp_->ReadEvents(events, max);
  }
  bytes->resize(static_cast<size_t>(n) * sizeof(nf_event));
  out->set_count(n);
  return grpc::Status::OK;
}

grpc::Status DatapathService::ReadConntrack(grpc::ServerContext*, const v1::DatapathHello*,
                                            grpc::ServerWriter<v1::ConntrackBatch>* out) {
  std::vector<fastpath::CtEntry> entries;
  if (Status s = dp_->ReadConntrack(&entries); !s.ok()) return Failed(s);
  constexpr size_t kRecord = sizeof(nf_ct_key) + sizeof(nf_ct_entry);
  for (size_t at = 0; at < entries.size(); at += kConntrackPerBatch) {
    const size_t n = std::min(kConntrackPerBatch, entries.size() - at);
    v1::ConntrackBatch batch;
    std::string* bytes = batch.mutable_entries();
    bytes->resize(n * kRecord);
    for (size_t i = 0; i < n; ++i) {
      std::memcpy(bytes->data() + i * kRecord, &entries[at + i].key, sizeof(nf_ct_key));
      std::memcpy(bytes->data() + i * kRecord + sizeof(nf_ct_key), &entries[at + i].entry, sizeof(nf_ct_entry));
    }
    batch.set_count(static_cast<uint32_t>(n));
    if (!out->Write(batch)) break;
  }
  return grpc::Status::OK;
}

grpc::Status DatapathService::FlushConntrack(grpc::ServerContext*, const v1::DatapathHello*,
                                             v1::DatapathInstance* out) {
  if (Status s = dp_->FlushConntrack(); !s.ok()) return Failed(s);
  Describe(out);
  return grpc::Status::OK;
}

grpc::Status DatapathService::ReadRuleHits(grpc::ServerContext*, const v1::DatapathHello*, v1::RuleHitBatch* out) {
  std::vector<fastpath::RuleHit> hits;
  if (Status s = dp_->ReadRuleHits(&hits); !s.ok()) return Failed(s);
  std::string bytes;
  bytes.reserve(hits.size() * (sizeof(uint64_t) + sizeof(nf_rule_hits)));
  for (const fastpath::RuleHit& h : hits) {
    const nf_rule_hits v{h.allowed, h.denied, h.last_ns};
    bytes.append(reinterpret_cast<const char*>(&h.key), sizeof(h.key));
    bytes.append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  out->set_hits(std::move(bytes));
  out->set_count(static_cast<uint32_t>(hits.size()));
  return grpc::Status::OK;
}

StatusOr<std::unique_ptr<grpc::Server>> ServeDatapath(const std::string& target, DatapathService* service) {
  std::string path;
  if (target.rfind("unix:", 0) == 0) {
    path = target.substr(5);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    std::filesystem::remove(path, ec);  // a previous instance's
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(target, grpc::InsecureServerCredentials());
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(512 << 20);  // a node's tables
  builder.SetMaxSendMessageSize(512 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return Status::Error("serving on " + target + " failed");
  if (!path.empty()) ::chmod(path.c_str(), 0600);
  return server;
}

}  // namespace netfence::dpdk
