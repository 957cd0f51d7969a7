#include "controlplane/distribution/node_views.h"

#include <algorithm>

namespace netfence::distribution {
namespace {

void AddEndpointKey(const compiler::EndpointName& n, v1::EndpointKey* k) {
  k->set_namespace_(n.first);
  k->set_name(n.second);
}

}  // namespace

void NodeViews::AddNode(const std::string& node, uint64_t generation) {
  auto [it, inserted] = views_.try_emplace(node);
  if (inserted) it->second.generation = generation;
}

void NodeViews::DropNodeIfEmpty(const std::string& node) {
  auto it = views_.find(node);
  if (it == views_.end() || !it->second.endpoints.empty() || !it->second.unknown.empty()) return;
  for (uint64_t t : it->second.tables) table_nodes_[t].erase(node);
  for (uint32_t i : it->second.identities) identity_nodes_[i].erase(node);
  views_.erase(it);
}

void NodeViews::SetRegistrations(const std::string& node, uint64_t sequence,
                                 std::vector<compiler::EndpointName> unknown) {
  NodeView& v = views_[node];
  v.endpoints_sequence = sequence;
  v.unknown = std::move(unknown);
  registration_changed_.insert(node);
}

void NodeViews::Recount(NodeView* v) const {
  const compiler::TableSet& set = compiler_.set();
  v->tables.clear();
  v->identities.clear();
  for (const auto& name : v->endpoints) {
    const v1::NodeEndpoint& e = set.endpoints.at(name);
    v->tables.insert(e.ingress_table());
    v->tables.insert(e.egress_table());
    v->identities.insert(e.identity());
  }
  for (uint64_t t : v->tables) {
    auto it = set.tables.find(t);
    if (it == set.tables.end()) continue;
    v->identities.insert(it->second.identity_ids().begin(), it->second.identity_ids().end());
  }
}

void NodeViews::FillMeta(const std::string& node, const NodeView& v, int64_t produced, v1::NodeUpdate* u) const {
  u->set_node(node);
  u->set_generation(v.generation);
  u->set_endpoints_sequence(v.endpoints_sequence);
  u->set_produced_unix_nanos(produced);
  for (const auto& n : v.unknown) AddEndpointKey(n, u->add_unknown_registered());
}

std::map<std::string, v1::NodeUpdate> NodeViews::Advance(const compiler::IncrementalCompiler::Changes& ch,
                                                          uint64_t generation, int64_t produced) {
  const compiler::TableSet& set = compiler_.set();
  // Which nodes' views change: where changed endpoints were or are, and which use changed
  // tables or name changed identities.
  std::set<std::string> touched = registration_changed_;
  registration_changed_.clear();
  std::map<std::string, std::set<compiler::EndpointName>> endpoints_before;  // of nodes whose set changes
  std::set<std::string> created;  // nodes seen for the first time: they get a snapshot
  auto endpoints_of = [&](const std::string& node) -> std::set<compiler::EndpointName>& {
    auto [it, inserted] = views_.try_emplace(node);
    if (inserted) created.insert(node);
    NodeView& v = it->second;
    endpoints_before.try_emplace(node, v.endpoints);
    touched.insert(node);
    return v.endpoints;
  };
  for (const auto& name : ch.endpoints) {
    if (auto old = endpoint_node_.find(name); old != endpoint_node_.end()) {
      endpoints_of(old->second).erase(name);
      endpoint_node_.erase(old);
    }
    if (auto e = set.endpoints.find(name); e != set.endpoints.end()) {
      endpoint_node_[name] = e->second.node();
      endpoints_of(e->second.node()).insert(name);
    }
  }
  for (uint64_t t : ch.tables) {
    if (auto it = table_nodes_.find(t); it != table_nodes_.end()) touched.insert(it->second.begin(), it->second.end());
  }
  for (uint32_t i : ch.identities) {
    if (auto it = identity_nodes_.find(i); it != identity_nodes_.end()) {
      touched.insert(it->second.begin(), it->second.end());
    }
  }

  // The ipcache part is the same for every node.
  v1::NodeUpdate common;
  for (const IpAddr& ip : ch.ipcache) {
    if (auto it = set.ipcache.find(ip); it != set.ipcache.end()) {
      *common.add_ipcache() = it->second;
    } else {
      common.add_removed_ipcache(compiler::AddrBytes(ip));
    }
  }

  std::map<std::string, v1::NodeUpdate> out;
  for (auto& [node, view] : views_) {
    v1::NodeUpdate& u = out[node];
    u = common;
    u.set_base_generation(view.generation);
    view.generation = generation;
    FillMeta(node, view, produced, &u);
    if (!touched.contains(node)) continue;

    NodeView before = view;
    if (auto b = endpoints_before.find(node); b != endpoints_before.end()) before.endpoints = b->second;
    Recount(&view);
    for (uint64_t t : before.tables) {
      if (!view.tables.contains(t)) table_nodes_[t].erase(node);
    }
    for (uint64_t t : view.tables) table_nodes_[t].insert(node);
    for (uint32_t i : before.identities) {
      if (!view.identities.contains(i)) identity_nodes_[i].erase(node);
    }
    for (uint32_t i : view.identities) identity_nodes_[i].insert(node);
    if (created.contains(node)) {
      u = Snapshot(node, produced);
      continue;
    }

    for (const auto& name : view.endpoints) {
      if (!before.endpoints.contains(name) || ch.endpoints.contains(name)) *u.add_endpoints() = set.endpoints.at(name);
    }
    for (const auto& name : before.endpoints) {
      if (!view.endpoints.contains(name)) AddEndpointKey(name, u.add_removed_endpoints());
    }
    for (uint64_t t : view.tables) {
      if (before.tables.contains(t) && !ch.tables.contains(t)) continue;
      auto it = set.tables.find(t);
      if (it == set.tables.end()) continue;
      auto* unit = u.add_tables();
      unit->set_id(t);
      *unit->mutable_table() = it->second;
    }
    for (uint64_t t : before.tables) {
      if (!view.tables.contains(t)) u.add_removed_tables(t);
    }
    for (uint32_t i : view.identities) {
      if (before.identities.contains(i) && !ch.identities.contains(i)) continue;
      if (auto it = set.identities.find(i); it != set.identities.end()) *u.add_identities() = it->second;
    }
    for (uint32_t i : before.identities) {
      if (!view.identities.contains(i)) u.add_removed_identities(i);
    }
  }
  // Indexes lose entries nobody uses.
  std::erase_if(table_nodes_, [](const auto& kv) { return kv.second.empty(); });
  std::erase_if(identity_nodes_, [](const auto& kv) { return kv.second.empty(); });
  return out;
}

v1::NodeUpdate NodeViews::Snapshot(const std::string& node, int64_t produced) const {
  const compiler::TableSet& set = compiler_.set();
  v1::NodeUpdate u;
  u.set_snapshot(true);
  auto it = views_.find(node);
  static const NodeView kEmpty;
  const NodeView& v = it == views_.end() ? kEmpty : it->second;
  FillMeta(node, v, produced, &u);
  u.mutable_ipcache()->Reserve(static_cast<int>(set.ipcache.size()));
  for (const auto& [ip, e] : set.ipcache) *u.add_ipcache() = e;
  for (const auto& name : v.endpoints) *u.add_endpoints() = set.endpoints.at(name);
  for (uint64_t t : v.tables) {
    auto tt = set.tables.find(t);
    if (tt == set.tables.end()) continue;
    auto* unit = u.add_tables();
    unit->set_id(t);
    *unit->mutable_table() = tt->second;
  }
  for (uint32_t i : v.identities) {
    if (auto ii = set.identities.find(i); ii != set.identities.end()) *u.add_identities() = ii->second;
  }
  return u;
}

const NodeView* NodeViews::Find(const std::string& node) const {
  auto it = views_.find(node);
  return it == views_.end() ? nullptr : &it->second;
}

}  // namespace netfence::distribution
