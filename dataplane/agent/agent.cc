#include "dataplane/agent/agent.h"

#include <algorithm>

#include "dataplane/agent/node_tables.h"
#include "dataplane/common/netdev.h"

namespace netfence::agent {
namespace {

// "10.0.0.5/24" or "10.0.0.5" -> the address.
std::optional<IpAddr> HostAddress(const std::string& cidr) {
  return IpAddr::Parse(std::string_view(cidr).substr(0, cidr.find('/')));
}

}  // namespace

Agent::Agent(AgentOptions options, std::unique_ptr<xdp::XdpProgram> fast_path, Log info, Log warn)
    : options_(std::move(options)), fast_path_(std::move(fast_path)), info_(std::move(info)), warn_(std::move(warn)),
      registry_(options_.state_dir + "/endpoints.json") {
  next_generation_ = fast_path_->live_generation() + 1;  // continue after a restart
}

Status Agent::Start() {
  if (Status s = registry_.Load(); !s.ok()) return s;
  std::vector<Attachment> gone;
  for (const auto& [key, r] : registry_.records()) {
    auto index = netdev::IfIndex(r.host_interface);
    if (!index.ok() || *index != r.ifindex) gone.push_back(r.attachment);
  }
  for (const Attachment& a : gone) {
    info_("endpoint " + registry_.Find(a)->pod_key() + ": interface " + registry_.Find(a)->host_interface +
          " is gone (deleted while the agent was away): forgotten");
    registry_.Remove(a);
  }
  if (!gone.empty()) {
    if (Status s = registry_.Save(); !s.ok()) return s;
  }
  for (const std::string& name : options_.uplinks) {
    auto index = netdev::IfIndex(name);
    if (!index.ok()) return Status::Error("--uplink: " + index.status().message());
    if (Status s = fast_path_->BindUplink(*index); !s.ok()) return s;
    auto mode = fast_path_->Attach(*index, options_.attach_mode);
    if (!mode.ok()) return Status::Error("--uplink " + name + ": " + mode.status().message());
  }
  info_("registry: " + std::to_string(registry_.records().size()) + " endpoints; uplinks: " +
        std::to_string(options_.uplinks.size()));
  return Status::Ok();
}

Status Agent::SetClusterState(const k8s::ClusterState& state) {
  std::optional<k8s::ClusterState> previous = std::move(state_);
  state_ = state;
  if (Status s = Reprogram(); !s.ok()) {
    state_ = std::move(previous);
    return s;
  }
  if (!plugged_existing_) {
    plugged_existing_ = true;
    for (const auto& [key, r] : registry_.records()) {
      if (Status s = Plug(r); !s.ok()) warn_("endpoint " + r.pod_key() + ": " + s.message());
    }
  }
  return Status::Ok();
}

Status Agent::Reprogram() {
  if (!state_) return Status::Error("no cluster state yet");
  NodeTables node = CompileNodeTables(*state_, options_.node, registry_, next_generation_);
  for (const std::string& pod : node.unknown_pods) {
    warn_("endpoint " + pod + " is registered but not in the cluster state: it is enforced as an unknown address");
  }
  if (Status s = fast_path_->Program(node.tables); !s.ok()) return s;
  ++next_generation_;
  live_endpoints_.clear();
  for (const v1::Endpoint& e : node.tables.endpoints()) live_endpoints_.push_back(e.namespace_() + "/" + e.name());
  std::sort(live_endpoints_.begin(), live_endpoints_.end());
  info_("generation " + std::to_string(node.tables.generation()) + " live: " +
        std::to_string(node.tables.endpoints_size()) + " local endpoints, " +
        std::to_string(node.tables.stats().rules()) + " rule bits");
  return Status::Ok();
}

bool Agent::IsLocalEndpoint(const std::string& pod_key) const {
  return std::binary_search(live_endpoints_.begin(), live_endpoints_.end(), pod_key);
}

Status Agent::Plug(const EndpointRecord& r) {
  if (Status s = fast_path_->BindEndpoint(r.ifindex, r.ips); !s.ok()) return s;
  auto mode = fast_path_->Attach(r.ifindex, options_.attach_mode);
  if (!mode.ok()) return mode.status();
  return fast_path_->AttachTcEgress(r.ifindex);
}

void Agent::Unplug(const EndpointRecord& r) {
  auto index = netdev::IfIndex(r.host_interface);
  if (index.ok() && *index == r.ifindex) {
    (void)fast_path_->Detach(r.ifindex);
    (void)fast_path_->DetachTcEgress(r.ifindex);
  }
  (void)fast_path_->Unbind(r.ifindex);
}

Response Agent::Refuse(int code, std::string message) const {
  Response r;
  r.ok = false;
  r.code = code;
  r.message = std::move(message);
  r.generation = fast_path_->live_generation();
  return r;
}

Response Agent::Handle(const Request& request) {
  if (request.op == "add") return Add(request);
  if (request.op == "del") return Del(request);
  if (request.op == "check") return Check(request);
  if (request.op == "gc") return Gc(request);
  if (request.op == "status") {
    if (!ready()) return Refuse(kNotEnforced, "the agent has no tables yet (node " + options_.node + ")");
    Response r;
    r.ok = true;
    r.generation = live_generation();
    r.message = "node " + options_.node + ": generation " + std::to_string(r.generation) + " live, " +
                std::to_string(registry_.records().size()) + " endpoints";
    return r;
  }
  return Refuse(kBadRequest, "unknown op '" + request.op + "' (add, del, check, status, gc)");
}

Response Agent::Add(const Request& q) {
  const std::string pod = q.pod_namespace + "/" + q.pod_name;
  if (q.container_id.empty() || q.ifname.empty() || q.pod_namespace.empty() || q.pod_name.empty()) {
    return Refuse(kBadRequest, "add needs container_id, ifname, namespace and pod");
  }
  if (!state_) return Refuse(kCniTryAgainLater, "pod " + pod + ": the agent has no cluster state yet");

  EndpointRecord r;
  r.attachment = {q.container_id, q.ifname};
  r.netns = q.netns;
  r.pod_namespace = q.pod_namespace;
  r.pod_name = q.pod_name;
  for (const std::string& name : q.host_interfaces) {
    auto driver = netdev::Driver(name);
    if (driver.ok() && *driver == "veth") {
      r.host_interface = name;
      break;
    }
  }
  if (r.host_interface.empty()) {
    return Refuse(kNoHostInterface, "pod " + pod + ": none of the host-side interfaces of prevResult is a veth");
  }
  auto index = netdev::IfIndex(r.host_interface);
  if (!index.ok()) return Refuse(kNoHostInterface, "pod " + pod + ": " + index.status().message());
  r.ifindex = *index;
  for (const std::string& cidr : q.ips) {
    auto addr = HostAddress(cidr);
    if (!addr) return Refuse(kBadRequest, "pod " + pod + ": bad address '" + cidr + "' in prevResult.ips");
    r.ips.push_back(*addr);
  }
  bool known = std::any_of(state_->pods.begin(), state_->pods.end(), [&](const k8s::Pod& p) {
    return p.key() == pod && !p.host_network;
  });
  if (!known) {
    return Refuse(kUnknownPod, "pod " + pod + " is not in the cluster state of node " + options_.node +
                                   " (generation " + std::to_string(live_generation()) + "): it stays unplugged");
  }

  std::optional<EndpointRecord> previous;
  if (const EndpointRecord* old = registry_.Find(r.attachment)) previous = *old;
  registry_.Put(r);
  Status s = Reprogram();
  if (s.ok()) s = Plug(r);
  if (s.ok()) s = registry_.Save();
  if (!s.ok()) {
    registry_.Remove(r.attachment);
    if (previous) registry_.Put(*previous);
    Unplug(r);
    (void)Reprogram();
    return Refuse(kProgrammingFailed, "pod " + pod + ": " + s.message());
  }
  info_("plugged " + pod + " on " + r.host_interface + " (container " + q.container_id.substr(0, 12) + ")");
  Response ok;
  ok.ok = true;
  ok.generation = live_generation();
  ok.host_interface = r.host_interface;
  ok.message = "pod " + pod + " enforced at generation " + std::to_string(ok.generation);
  return ok;
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
  if (Status s = Reprogram(); !s.ok()) warn_("after deleting " + r.pod_key() + ": " + s.message());
  info_("unplugged " + r.pod_key() + " from " + r.host_interface);
  ok.generation = live_generation();
  ok.message = "pod " + r.pod_key() + " unplugged";
  return ok;
}

Response Agent::Check(const Request& q) {
  const EndpointRecord* r = registry_.Find({q.container_id, q.ifname});
  if (r == nullptr) return Refuse(kNotEnforced, "container " + q.container_id + "/" + q.ifname + " is not registered");
  auto index = netdev::IfIndex(r->host_interface);
  if (!index.ok() || *index != r->ifindex) {
    return Refuse(kNotEnforced, "pod " + r->pod_key() + ": interface " + r->host_interface + " is gone");
  }
  if (!fast_path_->IsAttached(r->ifindex)) {
    return Refuse(kNotEnforced, "pod " + r->pod_key() + ": the XDP program is not attached to " + r->host_interface);
  }
  if (!IsLocalEndpoint(r->pod_key())) {
    return Refuse(kNotEnforced, "pod " + r->pod_key() + " has no tables at generation " +
                                    std::to_string(live_generation()));
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
    if (Status s = Reprogram(); !s.ok()) warn_("after gc: " + s.message());
  }
  Response ok;
  ok.ok = true;
  ok.generation = live_generation();
  ok.message = std::to_string(stale.size()) + " stale attachments removed";
  return ok;
}

Status Agent::Uninstall() {
  // Take over first (an earlier agent's program instance may be the one attached), then remove.
  for (const auto& [key, r] : registry_.records()) {
    if (auto index = netdev::IfIndex(r.host_interface); index.ok() && *index == r.ifindex) {
      (void)fast_path_->Attach(r.ifindex, options_.attach_mode);
    }
    Unplug(r);
  }
  for (const std::string& name : options_.uplinks) {
    auto index = netdev::IfIndex(name);
    if (!index.ok()) continue;
    (void)fast_path_->Attach(*index, options_.attach_mode);
    (void)fast_path_->Detach(*index);
    (void)fast_path_->Unbind(*index);
  }
  while (!registry_.records().empty()) registry_.Remove(registry_.records().begin()->second.attachment);
  return registry_.Save();
}

}  // namespace netfence::agent
