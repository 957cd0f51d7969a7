// SPDX-License-Identifier: Apache-2.0
#include "controlplane/source/cluster_store.h"

#include <type_traits>

namespace netfence::source {
namespace {

std::string MapKey(const k8s::ObjectMeta& m) { return m.ns.empty() ? m.name : m.ns + "/" + m.name; }
std::string MapKey(const k8s::ClusterNetworkPolicy& p) { return p.key(); }
template <typename T>
std::string MapKey(const T& o) {
  return MapKey(o.meta);
}

template <typename T>
bool ApplyTo(std::map<std::string, T>& objects, Op op, const T& object) {
  const std::string key = MapKey(object);
  if (op == Op::kDelete) return objects.erase(key) > 0;
  auto [it, inserted] = objects.try_emplace(key, object);
  if (inserted) return true;
  if (it->second == object) return false;
  it->second = object;
  return true;
}

template <typename T>
void DiffKind(const std::map<std::string, T>& have, const std::vector<T>& want, std::vector<Event>* deletes,
              std::vector<Event>* upserts) {
  std::map<std::string, const T*> next;
  for (const T& o : want) next[MapKey(o)] = &o;
  for (const auto& [key, o] : have) {
    if (!next.contains(key)) deletes->push_back({Op::kDelete, o});
  }
  for (const auto& [key, o] : next) {
    auto it = have.find(key);
    if (it == have.end() || !(it->second == *o)) upserts->push_back({Op::kUpsert, *o});
  }
}

}  // namespace

std::string ObjectKey(const std::string& kind, const std::string& ns, const std::string& name) {
  return kind + " " + (ns.empty() ? name : ns + "/" + name);
}

std::string ObjectKey(const k8s::Object& o) {
  const k8s::ObjectMeta& m = k8s::MetaOf(o);
  return ObjectKey(k8s::KindOf(o), m.ns, m.name);
}

std::string ClusterStore::KeyOf(const k8s::Object& o) {
  return std::visit([](const auto& x) { return MapKey(x); }, o);
}

bool ClusterStore::Apply(const Event& event) {
  return std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, k8s::Namespace>) return ApplyTo(namespaces_, event.op, o);
        if constexpr (std::is_same_v<T, k8s::Pod>) return ApplyTo(pods_, event.op, o);
        if constexpr (std::is_same_v<T, k8s::NetworkPolicy>) return ApplyTo(policies_, event.op, o);
        if constexpr (std::is_same_v<T, k8s::Node>) return ApplyTo(nodes_, event.op, o);
        if constexpr (std::is_same_v<T, k8s::ClusterNetworkPolicy>) return ApplyTo(cluster_policies_, event.op, o);
      },
      event.object);
}

std::vector<Event> ClusterStore::ApplyAll(std::vector<Event> events) {
  std::vector<Event> changed;
  changed.reserve(events.size());
  for (Event& e : events) {
    if (Apply(e)) changed.push_back(std::move(e));
  }
  return changed;
}

std::vector<Event> ClusterStore::Diff(const k8s::ClusterState& next) const {
  std::vector<Event> deletes, upserts;
  DiffKind(namespaces_, next.namespaces, &deletes, &upserts);
  DiffKind(pods_, next.pods, &deletes, &upserts);
  DiffKind(policies_, next.policies, &deletes, &upserts);
  DiffKind(nodes_, next.nodes, &deletes, &upserts);
  DiffKind(cluster_policies_, next.cluster_policies, &deletes, &upserts);
  deletes.insert(deletes.end(), std::make_move_iterator(upserts.begin()), std::make_move_iterator(upserts.end()));
  return deletes;
}

k8s::ClusterState ClusterStore::State() const {
  k8s::ClusterState s;
  s.namespaces.reserve(namespaces_.size());
  s.pods.reserve(pods_.size());
  s.policies.reserve(policies_.size());
  for (const auto& [k, o] : namespaces_) s.namespaces.push_back(o);
  for (const auto& [k, o] : pods_) s.pods.push_back(o);
  for (const auto& [k, o] : policies_) s.policies.push_back(o);
  s.nodes.reserve(nodes_.size());
  s.cluster_policies.reserve(cluster_policies_.size());
  for (const auto& [k, o] : nodes_) s.nodes.push_back(o);
  for (const auto& [k, o] : cluster_policies_) s.cluster_policies.push_back(o);
  return s;
}

}  // namespace netfence::source
