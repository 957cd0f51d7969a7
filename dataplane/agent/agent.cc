// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/agent.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/base/files.h"

namespace netfence::agent {
namespace {

// "10.0.0.5/24" or "10.0.0.5" -> the address.
std::optional<IpAddr> HostAddress(const std::string& cidr) {
  return IpAddr::Parse(std::string_view(cidr).substr(0, cidr.find('/')));
}

// "20 s", "150 ms".
std::string DurationText(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s" : std::to_string(d.count()) + " ms";
}

uint64_t UnixMicros() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

Agent::Agent(boost::asio::io_context& io, AgentOptions options, std::unique_ptr<fastpath::FastPath> fast_path,
             std::unique_ptr<TableSource> source, Log info, Log warn)
    : io_(io), options_(std::move(options)), fast_path_(std::move(fast_path)), source_(std::move(source)),
      info_(std::move(info)), warn_(std::move(warn)), registry_(options_.state_dir + "/endpoints.json"),
      report_sequence_(UnixMicros()) {}

Agent::~Agent() = default;

Status Agent::LoadView() {
  const std::string path = options_.state_dir + "/view.pb";
  if (!std::filesystem::exists(path)) return Status::Ok();  // a first start: nothing enforced before
  auto bytes = ReadWholeFile(path, "persisted view");
  if (!bytes.ok()) {
    warn_(bytes.status().message() + ": waiting for the table source");
    return Status::Ok();
  }
  v1::NodeUpdate snapshot;
  if (!snapshot.ParseFromString(*bytes) || !snapshot.snapshot()) {
    warn_(path + " is not a node view snapshot: ignored, waiting for the table source");
    return Status::Ok();
  }
  tables::TableSet set;
  if (Status s = tables::ApplyUpdate(snapshot, 0, &set); !s.ok()) {
    warn_(path + ": " + s.message() + ": ignored");
    return Status::Ok();
  }
  if (fast_path_->live_generation() != snapshot.generation()) {
    // The maps hold another generation (or none): enforce the last good view now, before
    // the source answers.
    if (Status s = MakeLive(set, snapshot.generation()); !s.ok()) return s;
    info_("enforcing the persisted view, generation " + std::to_string(snapshot.generation()));
  } else {
    v1::RuleTables tables = tables::Assemble(set, snapshot.generation(), {}, /*fast_path_ipcache=*/true);
    v1::RuleTables unnumbered = tables;
    unnumbered.set_generation(0);
    live_key_ = unnumbered.SerializeAsString();
    if (on_live_) on_live_(snapshot.generation(), tables, set);
  }
  view_ = std::move(set);
  view_generation_ = snapshot.generation();
  seen_sequence_ = snapshot.endpoints_sequence();
  return Status::Ok();
}

Status Agent::ApplyJournaledDeletes() {
  if (options_.deleted_journal.empty()) return Status::Ok();
  std::vector<std::string> errors;
  auto journaled = ReadJournaledDeletes(options_.deleted_journal, &errors);
  for (const std::string& e : errors) warn_("journaled DEL ignored: " + e);
  bool changed = false;
  for (const JournaledDelete& d : journaled) {
    if (const EndpointRecord* found = registry_.Find({d.request.container_id, d.request.ifname})) {
      const EndpointRecord r = *found;
      registry_.Remove(r.attachment);
      Unplug(r);
      changed = true;
      ++reconciled_.deletes_applied;
      info_("endpoint " + r.pod_key() + " (container " + r.attachment.container_id.substr(0, 12) +
            "): DEL received while the agent was away: unplugged");
    }
    std::error_code ec;
    std::filesystem::remove(d.path, ec);
  }
  return changed ? registry_.Save() : Status::Ok();
}

Status Agent::ForgetGoneInterfaces() {
  std::vector<EndpointRecord> gone;
  for (const auto& [key, r] : registry_.records()) {
    auto index = options_.devices->IfIndex(r.host_interface);
    if (!index.ok() || *index != r.ifindex) gone.push_back(r);
  }
  for (const EndpointRecord& r : gone) {
    info_("endpoint " + r.pod_key() + ": interface " + r.host_interface +
          " is gone (deleted while the agent was away): forgotten");
    registry_.Remove(r.attachment);
    Unplug(r);  // its ifindex leaves the fast path's interface table too
    ++reconciled_.interfaces_forgotten;
  }
  return gone.empty() ? Status::Ok() : registry_.Save();
}

void Agent::FailClosedUnregistered(bool ran_before) {
  auto links = options_.devices->Links();
  if (!links.ok()) {
    warn_("listing interfaces: " + links.status().message() + " (unregistered pod veths not checked)");
    return;
  }
  std::set<int> registered;
  for (const auto& [key, r] : registry_.records()) registered.insert(r.ifindex);
  std::set<std::string> uplinks(options_.uplinks.begin(), options_.uplinks.end());
  // The pods' bridges: masters of registered veths, and every bridge with a veth port when
  // nothing is registered yet (the CNI bridge is the one bridge pods are plugged into).
  std::set<uint32_t> pod_bridges;
  for (const netdev::Link& l : *links) {
    if (l.kind == "veth" && l.master != 0 && registered.contains(l.ifindex)) pod_bridges.insert(l.master);
  }
  const bool any_bridge = pod_bridges.empty();
  for (const netdev::Link& l : *links) {
    if (l.kind != "veth" || l.master == 0 || registered.contains(l.ifindex) || uplinks.contains(l.name)) continue;
    if (!any_bridge && !pod_bridges.contains(l.master)) continue;
    if (!ran_before) {
      // netfence is new on this node: pods that predate it keep running, judged by address.
      info_("interface " + l.name +
            " belongs to a pod plugged before netfence was installed: its traffic is judged "
            "by address, not bound to the pod (restart the pod to bind it)");
      continue;
    }
    if (!l.up) {
      downed_.insert(l.ifindex);
      continue;
    }
    if (Status s = options_.devices->SetUp(l.name, false); !s.ok()) {
      warn_("interface " + l.name +
            " is on the pods' bridge but no pod registered it; setting it down: " + s.message());
      continue;
    }
    downed_.insert(l.ifindex);
    ++reconciled_.interfaces_down;
    warn_("interface " + l.name +
          " is on the pods' bridge but no pod registered it (plugged while netfence-cni was "
          "not in the chain?): set down (fail closed); restart its pod");
  }
}

Status Agent::Start() {
  // An agent ran on this node before (a restart, a rollout): every pod veth since then went
  // through netfence-cni, so an unregistered one slipped through a gap and is set down.
  std::error_code ec;
  const bool ran_before = std::filesystem::exists(options_.state_dir + "/endpoints.json", ec) ||
                          std::filesystem::exists(options_.state_dir + "/view.pb", ec);
  if (Status s = registry_.Load(); !s.ok()) return s;
  if (Status s = ApplyJournaledDeletes(); !s.ok()) return s;
  if (Status s = ForgetGoneInterfaces(); !s.ok()) return s;
  if (Status s = LoadView(); !s.ok()) return s;
  if (Status s = GuardPodCidrs(); !s.ok()) return Status::Error("--pod-cidr: " + s.message());
  for (const std::string& name : options_.uplinks) {
    auto index = options_.devices->IfIndex(name);
    if (!index.ok()) return Status::Error("--uplink: " + index.status().message());
    if (Status s = fast_path_->PlugUplink({*index, name}); !s.ok())
      return Status::Error("--uplink " + name + ": " + s.message());
  }
  if (view_generation_ != 0) PlugRegistered();
  FailClosedUnregistered(ran_before);
  info_("registry: " + std::to_string(registry_.records().size()) +
        " endpoints; uplinks: " + std::to_string(options_.uplinks.size()) + "; tables from " + source_->Describe());
  return source_->Start(view_generation_, Report(), [this](v1::NodeUpdate u) { OnUpdate(std::move(u)); });
}

Status Agent::MakeLive(const tables::TableSet& set, uint64_t generation) {
  v1::RuleTables tables = tables::Assemble(set, generation, {}, /*fast_path_ipcache=*/true);
  // A generation whose tables are those already live (an address elsewhere in the cluster
  // changed, nothing this node's policies name) needs no programming: it is realised as is.
  v1::RuleTables unnumbered = tables;
  unnumbered.set_generation(0);
  std::string key = unnumbered.SerializeAsString();
  if (key != live_key_ || fast_path_->live_generation() == 0) {
    if (Status s = fast_path_->Program(tables); !s.ok()) return s;
    live_key_ = std::move(key);
    ++programmed_;
  }
  if (on_live_) on_live_(generation, tables, set);
  const std::string bytes = tables::SnapshotOf(set, generation, seen_sequence_).SerializeAsString();
  if (Status s = WriteFileAtomically(options_.state_dir + "/view.pb", bytes); !s.ok()) {
    warn_("persisting the view: " + s.message() + " (a restart would wait for the table source)");
  }
  return Status::Ok();
}

void Agent::OnUpdate(v1::NodeUpdate u) {
  if (!u.snapshot() && u.base_generation() != view_generation_) {
    source_->Resync("holding generation " + std::to_string(view_generation_) + ", got a delta for " +
                    std::to_string(u.base_generation()));
    return;
  }
  // Applied in place (a malformed update is refused before anything changes): the view is
  // what the source says it is, whether or not the fast path takes it.
  const uint64_t generation = u.generation();
  const bool snapshot = u.snapshot();
  if (Status s = tables::ApplyUpdate(std::move(u), view_generation_, &view_); !s.ok()) {
    warn_("update " + std::to_string(generation) + ": " + s.message());
    source_->Ack(generation, false, s.message());
    source_->Resync(s.message());
    return;
  }
  view_generation_ = generation;
  seen_sequence_ = u.endpoints_sequence();
  unknown_.clear();
  for (const auto& k : u.unknown_registered()) unknown_.insert({k.namespace_(), k.name()});
  if (Status s = MakeLive(view_, generation); !s.ok()) {
    // The last good tables stay live; the next update that programs cleanly takes over.
    warn_("generation " + std::to_string(generation) + " refused by the fast path, generation " +
          std::to_string(live_generation()) + " stays live: " + s.message());
    source_->Ack(generation, false, s.message());
    return;
  }
  source_->Ack(generation, true, "");
  info_("generation " + std::to_string(generation) + " live (" + (snapshot ? "snapshot" : "delta") +
        "): " + std::to_string(view_.endpoints.size()) + " local endpoints, " + std::to_string(view_.tables.size()) +
        " tables, " + std::to_string(view_.ipcache.size()) + " addresses");
  if (!plugged_registered_) PlugRegistered();
  ResolvePendingAdds(u);
}

bool Agent::IsLocalEndpoint(const std::string& ns, const std::string& name) const {
  auto it = view_.endpoints.find({ns, name});
  return it != view_.endpoints.end() && it->second.node() == options_.node;
}

Status Agent::GuardPodCidrs() {
  std::vector<IpAddr> node_addresses;
  if (!options_.pod_cidrs.empty()) {
    auto all = options_.devices->Addresses();
    if (!all.ok()) return all.status();
    for (const IpAddr& a : *all) {
      for (const IpPrefix& p : options_.pod_cidrs) {
        if (p.contains(a)) node_addresses.push_back(a);
      }
    }
  }
  return fast_path_->SetPodCidrs(options_.pod_cidrs, node_addresses);  // a few entries, idempotent
}

void Agent::PlugRegistered() {
  plugged_registered_ = true;
  for (const auto& [key, r] : registry_.records()) {
    if (Status s = Plug(r); !s.ok()) warn_("endpoint " + r.pod_key() + ": " + s.message());
  }
}

Status Agent::Plug(const EndpointRecord& r) {
  if (Status s = fast_path_->PlugEndpoint({r.ifindex, r.host_interface}, r.ips); !s.ok()) return s;
  if (downed_.erase(r.ifindex) > 0) {
    // Set down at start before its pod's ADD arrived (the ADD was under way while the agent
    // restarted): protected now, so up again.
    if (Status s = options_.devices->SetUp(r.host_interface, true); !s.ok()) return s;
  }
  return Status::Ok();
}

void Agent::Unplug(const EndpointRecord& r) {
  if (Status s = fast_path_->Unplug({r.ifindex, r.host_interface}); !s.ok()) {
    warn_("endpoint " + r.pod_key() + ": " + s.message());
  }
}

v1::EndpointReport Agent::Report() {
  v1::EndpointReport report;
  report.set_sequence(report_sequence_);
  for (const auto& [key, r] : registry_.records()) {
    auto* e = report.add_endpoints();
    e->set_namespace_(r.pod_namespace);
    e->set_name(r.pod_name);
    for (const IpAddr& ip : r.ips) e->add_ips(tables::AddrBytes(ip));
  }
  return report;
}

void Agent::SendReport() {
  ++report_sequence_;
  source_->ReportEndpoints(Report());
}

Response Agent::Refuse(int code, std::string message) const {
  Response r;
  r.ok = false;
  r.code = code;
  r.message = std::move(message);
  r.generation = fast_path_->live_generation();
  return r;
}

void Agent::Handle(const Request& request, Reply reply) {
  if (request.op == "add") return Add(request, std::move(reply));
  if (request.op == "del") return reply(Del(request));
  if (request.op == "check") return reply(Check(request));
  if (request.op == "gc") return reply(Gc(request));
  if (request.op == "status") return reply(StatusOf());
  reply(Refuse(kBadRequest, "unknown op '" + request.op + "' (add, del, check, status, gc)"));
}

Response Agent::StatusOf() const {
  const std::string from = source_->Describe() + (source_->connected() ? "" : " (not connected)");
  if (!ready()) return Refuse(kNotEnforced, "node " + options_.node + ": no tables yet, waiting for " + from);
  Response r;
  r.ok = true;
  r.generation = live_generation();
  r.message = "node " + options_.node + ": generation " + std::to_string(r.generation) + " live, " +
              std::to_string(registry_.records().size()) + " endpoints, tables from " + from;
  return r;
}

void Agent::Add(const Request& q, Reply reply) {
  const std::string pod = q.pod_namespace + "/" + q.pod_name;
  if (q.container_id.empty() || q.ifname.empty() || q.pod_namespace.empty() || q.pod_name.empty()) {
    return reply(Refuse(kBadRequest, "add needs container_id, ifname, namespace and pod"));
  }
  if (!ready()) {
    return reply(Refuse(kCniTryAgainLater, "pod " + pod + ": the agent of node " + options_.node +
                                               " has no tables yet (waiting for " + source_->Describe() + ")"));
  }
  EndpointRecord r;
  r.attachment = {q.container_id, q.ifname};
  r.netns = q.netns;
  r.pod_namespace = q.pod_namespace;
  r.pod_name = q.pod_name;
  for (const std::string& name : q.host_interfaces) {
    auto driver = options_.devices->Driver(name);
    if (driver.ok() && *driver == "veth") {
      r.host_interface = name;
      break;
    }
  }
  if (r.host_interface.empty()) {
    return reply(Refuse(kNoHostInterface, "pod " + pod + ": none of the host-side interfaces of prevResult is a veth"));
  }
  auto index = options_.devices->IfIndex(r.host_interface);
  if (!index.ok()) return reply(Refuse(kNoHostInterface, "pod " + pod + ": " + index.status().message()));
  r.ifindex = *index;
  for (const std::string& cidr : q.ips) {
    auto addr = HostAddress(cidr);
    if (!addr) return reply(Refuse(kBadRequest, "pod " + pod + ": bad address '" + cidr + "' in prevResult.ips"));
    r.ips.push_back(*addr);
  }

  // The interface plugin may have given the node a new address in the pod CIDRs (the bridge's
  // gateway, at the first pod): it stays reachable.
  if (Status s = GuardPodCidrs(); !s.ok()) warn_("--pod-cidr: " + s.message());

  // Register, tell the source, and answer once a generation that reflects the registration
  // is live (or says the pod is unknown), or the wait times out.
  PendingAdd p;
  p.record = r;
  if (const EndpointRecord* old = registry_.Find(r.attachment)) p.previous = *old;
  registry_.Put(r);
  SendReport();
  p.sequence = report_sequence_;
  p.reply = std::move(reply);
  p.timer = std::make_unique<boost::asio::steady_timer>(io_, options_.add_timeout);
  const uint64_t seq = p.sequence;
  p.timer->async_wait([this, seq, pod](boost::system::error_code ec) {
    if (ec) return;
    FinishAdd(seq, Refuse(kCniTryAgainLater, "pod " + pod + ": no tables for it from " + source_->Describe() +
                                                 " within " + DurationText(options_.add_timeout) +
                                                 (source_->connected() ? "" : " (not connected)")));
  });
  pending_.emplace(seq, std::move(p));
}

void Agent::ResolvePendingAdds(const v1::NodeUpdate& u) {
  std::vector<std::pair<uint64_t, Response>> done;
  for (auto& [seq, p] : pending_) {
    if (seq > u.endpoints_sequence()) continue;
    const EndpointRecord& r = p.record;
    const std::string gen = std::to_string(view_generation_);
    if (IsLocalEndpoint(r.pod_namespace, r.pod_name)) {
      Status s = Plug(r);
      if (s.ok()) s = registry_.Save();
      if (!s.ok()) {
        done.emplace_back(seq, Refuse(kProgrammingFailed, "pod " + r.pod_key() + ": " + s.message()));
        continue;
      }
      info_("plugged " + r.pod_key() + " on " + r.host_interface + " (container " +
            r.attachment.container_id.substr(0, 12) + ") at generation " + gen);
      Response ok;
      ok.ok = true;
      ok.generation = live_generation();
      ok.host_interface = r.host_interface;
      ok.message = "pod " + r.pod_key() + " enforced at generation " + gen;
      done.emplace_back(seq, ok);
    } else if (unknown_.contains({r.pod_namespace, r.pod_name})) {
      done.emplace_back(seq, Refuse(kUnknownPod, "pod " + r.pod_key() + " is not in the cluster state of node " +
                                                     options_.node + " (generation " + gen +
                                                     "), or is host-network or finished: it stays unplugged"));
    } else {
      done.emplace_back(seq, Refuse(kUnknownPod, "pod " + r.pod_key() + " has no tables on node " + options_.node +
                                                     " at generation " + gen + ": it stays unplugged"));
    }
  }
  for (auto& [seq, response] : done) FinishAdd(seq, std::move(response));
}

void Agent::FinishAdd(uint64_t seq, Response response) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  PendingAdd p = std::move(it->second);
  pending_.erase(it);
  p.timer->cancel();
  if (!response.ok) {
    const EndpointRecord* now = registry_.Find(p.record.attachment);
    if (now != nullptr && now->ifindex == p.record.ifindex) {
      registry_.Remove(p.record.attachment);
      if (p.previous) registry_.Put(*p.previous);
      Unplug(p.record);
      SendReport();
    }
    warn_(response.message);
  }
  p.reply(std::move(response));
}

Response Agent::Del(const Request& q) {
  const EndpointRecord* found = registry_.Find({q.container_id, q.ifname});
  Response ok;
  ok.ok = true;
  if (found == nullptr) {
    ok.generation = live_generation();
    ok.message = "no such attachment (already deleted)";
    return ok;
  }
  EndpointRecord r = *found;
  registry_.Remove(r.attachment);
  Unplug(r);
  if (Status s = registry_.Save(); !s.ok()) warn_(s.message());
  SendReport();
  info_("unplugged " + r.pod_key() + " from " + r.host_interface);
  ok.generation = live_generation();
  ok.message = "pod " + r.pod_key() + " unplugged";
  return ok;
}

Response Agent::Check(const Request& q) {
  const EndpointRecord* r = registry_.Find({q.container_id, q.ifname});
  if (r == nullptr) return Refuse(kNotEnforced, "container " + q.container_id + "/" + q.ifname + " is not registered");
  auto index = options_.devices->IfIndex(r->host_interface);
  if (!index.ok() || *index != r->ifindex) {
    return Refuse(kNotEnforced, "pod " + r->pod_key() + ": interface " + r->host_interface + " is gone");
  }
  if (!fast_path_->Enforces({r->ifindex, r->host_interface})) {
    return Refuse(kNotEnforced, "pod " + r->pod_key() + ": the " + std::string(fast_path_->name()) +
                                    " fast path does not enforce on " + r->host_interface);
  }
  if (!IsLocalEndpoint(r->pod_namespace, r->pod_name)) {
    return Refuse(kNotEnforced,
                  "pod " + r->pod_key() + " has no tables at generation " + std::to_string(view_generation_));
  }
  Response ok;
  ok.ok = true;
  ok.generation = live_generation();
  ok.host_interface = r->host_interface;
  return ok;
}

Response Agent::Gc(const Request& q) {
  std::vector<EndpointRecord> stale;
  for (const auto& [key, r] : registry_.records()) {
    if (std::find(q.valid.begin(), q.valid.end(), r.attachment) == q.valid.end()) stale.push_back(r);
  }
  for (const EndpointRecord& r : stale) {
    registry_.Remove(r.attachment);
    Unplug(r);
    info_("gc: unplugged " + r.pod_key());
  }
  if (!stale.empty()) {
    if (Status s = registry_.Save(); !s.ok()) warn_(s.message());
    SendReport();
  }
  Response ok;
  ok.ok = true;
  ok.generation = live_generation();
  ok.message = std::to_string(stale.size()) + " stale attachments removed";
  return ok;
}

Status Agent::Uninstall() {
  if (Status s = registry_.Load(); !s.ok()) return s;
  // Unplug removes whichever instance of the fast path enforces (an earlier agent's too).
  for (const auto& [key, r] : registry_.records()) Unplug(r);
  for (const std::string& name : options_.uplinks) {
    auto index = options_.devices->IfIndex(name);
    if (!index.ok()) continue;  // gone: nothing attached to it any more
    if (Status s = fast_path_->Unplug({*index, name}); !s.ok()) warn_("--uplink " + name + ": " + s.message());
  }
  while (!registry_.records().empty()) registry_.Remove(registry_.records().begin()->second.attachment);
  std::error_code ec;
  std::filesystem::remove(options_.state_dir + "/view.pb", ec);
  return registry_.Save();
}

}  // namespace netfence::agent
