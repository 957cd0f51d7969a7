// SPDX-License-Identifier: Apache-2.0
#include "controlplane/distribution/endpoint_overlay.h"

namespace netfence::distribution {

std::optional<k8s::Pod> EndpointOverlay::Effective(const tables::EndpointName& name) const {
  auto api = api_pods_.find(name);
  if (api == api_pods_.end()) return std::nullopt;
  k8s::Pod pod = api->second;
  auto c = claims_.find(name);
  if (c == claims_.end() || c->second.empty() || pod.host_network) return pod;
  // Two nodes claiming one pod is a transient (a DEL not yet run on the old node): the node
  // the scheduler placed it on wins, else the first by name.
  auto claim = c->second.find(pod.node_name);
  if (claim == c->second.end()) claim = c->second.begin();
  pod.node_name = claim->first;
  if (!claim->second.ips.empty()) {
    pod.pod_ips.clear();
    for (const IpAddr& ip : claim->second.ips) pod.pod_ips.push_back(ip.str());
  }
  return pod;
}

void EndpointOverlay::Refresh(const tables::EndpointName& name, std::vector<source::Event>* out) {
  std::optional<k8s::Pod> now = Effective(name);
  auto had = given_.find(name);
  if (!now) {
    if (had != given_.end()) {
      out->push_back({source::Op::kDelete, had->second});
      given_.erase(had);
    }
    return;
  }
  if (had != given_.end() && had->second == *now) return;
  out->push_back({source::Op::kUpsert, *now});
  given_[name] = std::move(*now);
}

std::vector<source::Event> EndpointOverlay::OnSourceEvents(std::vector<source::Event> events) {
  std::vector<source::Event> out;
  out.reserve(events.size());
  for (source::Event& e : events) {
    if (!std::holds_alternative<k8s::Pod>(e.object)) {
      out.push_back(std::move(e));
      continue;
    }
    const auto& pod = std::get<k8s::Pod>(e.object);
    tables::EndpointName name{pod.meta.ns, pod.meta.name};
    if (e.op == source::Op::kDelete) {
      api_pods_.erase(name);
    } else {
      api_pods_[name] = pod;
    }
    Refresh(name, &out);
  }
  return out;
}

std::vector<source::Event> EndpointOverlay::SetRegistrations(const std::string& node,
                                                             const std::vector<Registration>& regs) {
  std::set<tables::EndpointName> touched = by_node_[node];
  for (const auto& name : touched) {
    auto c = claims_.find(name);
    if (c == claims_.end()) continue;
    c->second.erase(node);
    if (c->second.empty()) claims_.erase(c);
  }
  std::set<tables::EndpointName> now;
  for (const Registration& r : regs) {
    tables::EndpointName name{r.ns, r.name};
    claims_[name][node] = {node, r.ips};
    now.insert(name);
    touched.insert(name);
  }
  if (now.empty()) {
    by_node_.erase(node);
  } else {
    by_node_[node] = std::move(now);
  }
  std::vector<source::Event> out;
  for (const auto& name : touched) Refresh(name, &out);
  return out;
}

std::vector<tables::EndpointName> EndpointOverlay::Unknown(const std::string& node) const {
  std::vector<tables::EndpointName> out;
  auto it = by_node_.find(node);
  if (it == by_node_.end()) return out;
  for (const auto& name : it->second) {
    std::optional<k8s::Pod> pod = Effective(name);
    if (!pod || !pod->IsEndpoint()) out.push_back(name);
  }
  return out;
}

std::set<std::string> EndpointOverlay::Nodes() const {
  std::set<std::string> out;
  for (const auto& [node, names] : by_node_) out.insert(node);
  return out;
}

}  // namespace netfence::distribution
