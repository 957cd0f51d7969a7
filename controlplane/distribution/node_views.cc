// SPDX-License-Identifier: Apache-2.0
#include "controlplane/distribution/node_views.h"

#include <algorithm>

namespace netfence::distribution {
namespace {

void AddEndpointKey(const tables::EndpointName& n, v1::EndpointKey* k) {
  k->set_namespace_(n.first);
  k->set_name(n.second);
}

std::vector<uint32_t> IdsOf(const tables::TableSet& set, uint64_t table) {
  auto it = set.tables.find(table);
  if (it == set.tables.end()) return {};
  return {it->second.identity_ids().begin(), it->second.identity_ids().end()};
}

}  // namespace

void NodeViews::AddNode(const std::string& node, uint64_t generation) {
  auto [it, inserted] = views_.try_emplace(node);
  if (inserted) it->second.generation = generation;
}

void NodeViews::DropNodeIfEmpty(const std::string& node) {
  auto it = views_.find(node);
  if (it == views_.end() || !it->second.endpoints.empty() || !it->second.unknown.empty()) return;
  views_.erase(it);  // no endpoints: it counts no table and no identity
}

void NodeViews::SetRegistrations(const std::string& node, uint64_t sequence,
                                 std::vector<tables::EndpointName> unknown) {
  NodeView& v = views_[node];
  v.endpoints_sequence = sequence;
  v.unknown = std::move(unknown);
  registration_changed_.insert(node);
}

void NodeViews::AddIdentity(const std::string& node, NodeView& v, uint32_t identity, int by, Touched& t) {
  int& n = v.identities[identity];
  t.identities.try_emplace(identity, n > 0);
  n += by;
  if (n > 0) {
    identity_nodes_[identity].insert(node);
    return;
  }
  v.identities.erase(identity);
  if (auto it = identity_nodes_.find(identity); it != identity_nodes_.end()) {
    it->second.erase(node);
    if (it->second.empty()) identity_nodes_.erase(it);
  }
}

void NodeViews::AddTable(const std::string& node, NodeView& v, uint64_t table, int by, Touched& t) {
  int& n = v.tables[table];
  const bool was = n > 0;
  t.tables.try_emplace(table, was);
  n += by;
  const bool is = n > 0;
  if (!is) v.tables.erase(table);
  if (was == is) return;
  // The table enters or leaves the view: so do (the counts of) the identities it lists.
  const std::vector<uint32_t>& ids = table_identities_[table];
  for (uint32_t id : ids) AddIdentity(node, v, id, is ? 1 : -1, t);
  if (is) {
    table_nodes_[table].insert(node);
  } else if (auto it = table_nodes_.find(table); it != table_nodes_.end()) {
    it->second.erase(node);
    if (it->second.empty()) table_nodes_.erase(it);
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
                                                         uint64_t generation, int64_t produced, bool full_snapshots) {
  const tables::TableSet& set = compiler_.set();
  std::map<std::string, Touched> touched;
  for (const std::string& node : registration_changed_) touched[node];
  registration_changed_.clear();
  std::set<std::string> created;  // nodes seen for the first time: they get a snapshot
  auto view_of = [&](const std::string& node) -> NodeView& {
    auto [it, inserted] = views_.try_emplace(node);
    if (inserted) created.insert(node);
    return it->second;
  };

  // Tables whose content changed, for the nodes holding them: the identities they list.
  for (uint64_t t : ch.tables) {
    std::vector<uint32_t> now = IdsOf(set, t);
    std::vector<uint32_t>& counted = table_identities_[t];
    if (now != counted) {
      if (auto users = table_nodes_.find(t); users != table_nodes_.end()) {
        for (const std::string& node : std::set<std::string>(users->second)) {
          NodeView& v = views_.at(node);
          Touched& tt = touched[node];
          for (uint32_t id : now) AddIdentity(node, v, id, 1, tt);
          for (uint32_t id : counted) AddIdentity(node, v, id, -1, tt);
        }
      }
      counted = std::move(now);
    }
    if (auto users = table_nodes_.find(t); users != table_nodes_.end()) {
      for (const std::string& node : users->second) touched[node].tables.try_emplace(t, true);
    }
  }
  // Endpoints that changed: out of the node they were on, into the one they are on.
  for (const auto& name : ch.endpoints) {
    if (auto old = endpoint_node_.find(name); old != endpoint_node_.end()) {
      const std::string node = old->second;
      NodeView& v = views_.at(node);
      Touched& tt = touched[node];
      const NodeView::Counted c = v.endpoints.at(name);
      tt.endpoints.insert(name);
      v.endpoints.erase(name);
      AddIdentity(node, v, c.identity, -1, tt);
      AddTable(node, v, c.ingress, -1, tt);
      AddTable(node, v, c.egress, -1, tt);
      endpoint_node_.erase(old);
    }
    if (auto e = set.endpoints.find(name); e != set.endpoints.end()) {
      const std::string& node = e->second.node();
      NodeView& v = view_of(node);
      Touched& tt = touched[node];
      const NodeView::Counted c{e->second.identity(), e->second.ingress_table(), e->second.egress_table()};
      for (uint64_t t : {c.ingress, c.egress}) {
        if (!table_identities_.contains(t)) table_identities_[t] = IdsOf(set, t);
      }
      tt.endpoints.insert(name);
      v.endpoints[name] = c;
      AddIdentity(node, v, c.identity, 1, tt);
      AddTable(node, v, c.ingress, 1, tt);
      AddTable(node, v, c.egress, 1, tt);
      endpoint_node_[name] = node;
    }
  }
  // Identities whose content changed (an id now of another key): where they are named.
  for (uint32_t i : ch.identities) {
    if (auto it = identity_nodes_.find(i); it != identity_nodes_.end()) {
      for (const std::string& node : it->second) touched[node].identities.try_emplace(i, true);
    }
  }
  for (uint64_t t : ch.tables) {
    if (!set.tables.contains(t) && !table_nodes_.contains(t)) table_identities_.erase(t);
  }

  // The ipcache part is the same for every node.
  v1::NodeUpdate common;
  for (const IpAddr& ip : ch.ipcache) {
    if (auto it = set.ipcache.find(ip); it != set.ipcache.end()) {
      *common.add_ipcache() = it->second;
    } else {
      common.add_removed_ipcache(tables::AddrBytes(ip));
    }
  }

  std::map<std::string, v1::NodeUpdate> out;
  for (auto& [node, view] : views_) {
    v1::NodeUpdate& u = out[node];
    const uint64_t base = view.generation;
    view.generation = generation;
    if (created.contains(node)) {
      if (full_snapshots) {
        u = Snapshot(node, produced);
      } else {
        u.set_snapshot(true);
        FillMeta(node, view, produced, &u);
      }
      continue;
    }
    u = common;
    u.set_base_generation(base);
    FillMeta(node, view, produced, &u);
    auto t = touched.find(node);
    if (t == touched.end()) continue;
    for (const auto& name : t->second.endpoints) {
      if (view.endpoints.contains(name)) {
        *u.add_endpoints() = set.endpoints.at(name);
      } else {
        AddEndpointKey(name, u.add_removed_endpoints());
      }
    }
    for (const auto& [table, was] : t->second.tables) {
      const bool is = view.tables.contains(table);
      if (is && (!was || ch.tables.contains(table))) {
        auto unit = set.tables.find(table);
        if (unit == set.tables.end()) continue;
        auto* tu = u.add_tables();
        tu->set_id(table);
        *tu->mutable_table() = unit->second;
      } else if (!is && was) {
        u.add_removed_tables(table);
      }
    }
    for (const auto& [id, was] : t->second.identities) {
      const bool is = view.identities.contains(id);
      if (is && (!was || ch.identities.contains(id))) {
        if (auto it = set.identities.find(id); it != set.identities.end()) *u.add_identities() = it->second;
      } else if (!is && was) {
        u.add_removed_identities(id);
      }
    }
  }
  return out;
}

v1::NodeUpdate NodeViews::Snapshot(const std::string& node, int64_t produced, bool with_ipcache) const {
  const tables::TableSet& set = compiler_.set();
  v1::NodeUpdate u;
  u.set_snapshot(true);
  auto it = views_.find(node);
  static const NodeView kEmpty;
  const NodeView& v = it == views_.end() ? kEmpty : it->second;
  FillMeta(node, v, produced, &u);
  if (with_ipcache) {
    u.mutable_ipcache()->Reserve(static_cast<int>(set.ipcache.size()));
    for (const auto& [ip, e] : set.ipcache) *u.add_ipcache() = e;
  }
  for (const auto& [name, c] : v.endpoints) *u.add_endpoints() = set.endpoints.at(name);
  for (const auto& [t, n] : v.tables) {
    auto tt = set.tables.find(t);
    if (tt == set.tables.end()) continue;
    auto* unit = u.add_tables();
    unit->set_id(t);
    *unit->mutable_table() = tt->second;
  }
  for (const auto& [i, n] : v.identities) {
    if (auto ii = set.identities.find(i); ii != set.identities.end()) *u.add_identities() = ii->second;
  }
  return u;
}

const NodeView* NodeViews::Find(const std::string& node) const {
  auto it = views_.find(node);
  return it == views_.end() ? nullptr : &it->second;
}

}  // namespace netfence::distribution
