// SPDX-License-Identifier: Apache-2.0
#include "controlplane/distribution/endpoint_overlay.h"

#include <variant>

namespace netfence::distribution {

namespace {

// Whether every registered address is one the API reports for the pod (any, while it
// reports none).
bool ApiReports(const k8s::Pod& api, const std::vector<IpAddr>& registered) {
  if (api.pod_ips.empty()) return true;
  for (const IpAddr& ip : registered) {
    bool found = false;
    for (const std::string& text : api.pod_ips) {
      auto a = IpAddr::Parse(text);
      found = found || (a && *a == ip);
    }
    if (!found) return false;
  }
  return true;
}

// Whether every address is inside one of the prefixes (any, when there are none).
bool Inside(const std::vector<IpPrefix>& cidrs, const std::vector<IpAddr>& ips) {
  if (cidrs.empty()) return true;
  for (const IpAddr& ip : ips) {
    bool in = false;
    for (const IpPrefix& c : cidrs) in = in || c.contains(ip);
    if (!in) return false;
  }
  return true;
}

}  // namespace

bool EndpointOverlay::AddressesAllowed(const k8s::Pod& api, const std::string& node,
                                       const std::vector<IpAddr>& ips) const {
  if (!api.pod_ips.empty()) return ApiReports(api, ips);
  auto cidrs = pod_cidrs_.find(node);
  return cidrs == pod_cidrs_.end() || Inside(cidrs->second, ips);
}

std::optional<k8s::Pod> EndpointOverlay::Effective(const tables::EndpointName& name) const {
  auto api = api_pods_.find(name);
  if (api == api_pods_.end()) return std::nullopt;
  k8s::Pod pod = api->second;
  auto c = claims_.find(name);
  if (c == claims_.end() || c->second.empty() || pod.host_network) return pod;
  // Only the node the scheduler bound the pod to may register it; a pod bound nowhere (a
  // manifest directory) goes to the first node by name.
  auto claim = pod.node_name.empty() ? c->second.begin() : c->second.find(pod.node_name);
  if (claim == c->second.end()) return pod;
  pod.node_name = claim->first;
  if (!claim->second.ips.empty() && AddressesAllowed(api->second, claim->first, claim->second.ips)) {
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
    if (const auto* node = std::get_if<k8s::Node>(&e.object)) {
      // The node's pod CIDRs bound what it may register for pods the API has no address for.
      std::vector<IpPrefix> cidrs;
      for (const std::string& text : node->pod_cidrs) {
        if (auto c = IpPrefix::Parse(text)) cidrs.push_back(*c);
      }
      const std::string name = node->meta.name;
      const bool changed = e.op == source::Op::kDelete ? pod_cidrs_.erase(name) != 0 : pod_cidrs_[name] != cidrs;
      if (e.op != source::Op::kDelete) pod_cidrs_[name] = std::move(cidrs);
      out.push_back(std::move(e));
      if (auto claimed = by_node_.find(name); changed && claimed != by_node_.end()) {
        for (const auto& pod : claimed->second) Refresh(pod, &out);
      }
      continue;
    }
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
    if (auto api = api_pods_.find(name); api != api_pods_.end() && !api->second.host_network) {
      if (!api->second.node_name.empty() && api->second.node_name != node)
        ++refusals_.wrong_node;
      else if (!api->second.pod_ips.empty() && !ApiReports(api->second, r.ips))
        ++refusals_.foreign_address;
      else if (!AddressesAllowed(api->second, node, r.ips))
        ++refusals_.outside_pod_cidr;
    }
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
    if (!pod || !pod->IsEndpoint() || pod->node_name != node) out.push_back(name);
  }
  return out;
}

std::set<std::string> EndpointOverlay::Nodes() const {
  std::set<std::string> out;
  for (const auto& [node, names] : by_node_) out.insert(node);
  return out;
}

}  // namespace netfence::distribution
