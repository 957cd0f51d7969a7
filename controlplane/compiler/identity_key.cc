// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/identity_key.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <tuple>

#include "controlplane/compiler/compiler.h"

namespace netfence::compiler {
namespace {

// A 64-bit hash of a sequence of strings and numbers (std::hash of each, mixed in order).
// Stable for one build of netfence; ids derived from it are not a wire contract.
struct Hasher {
  uint64_t h = 0x9E3779B97F4A7C15ull;
  void mix(uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  void str(const std::string& s) { mix(std::hash<std::string_view>{}(s) ^ s.size()); }
  void num(int64_t v) { mix(static_cast<uint64_t>(v)); }
};

}  // namespace

void NamedPorts(const k8s::Pod& pod, std::vector<const k8s::ContainerPort*>* out) {
  out->clear();
  for (const auto& p : pod.ports) {
    if (!p.name.empty()) out->push_back(&p);
  }
  std::sort(out->begin(), out->end(), [](const k8s::ContainerPort* a, const k8s::ContainerPort* b) {
    return std::tie(a->name, a->protocol, a->container_port) < std::tie(b->name, b->protocol, b->container_port);
  });
}

uint64_t IdentityHash(const k8s::Pod& pod) {
  Hasher f;
  f.str(pod.meta.ns);
  for (const auto& [k, v] : pod.meta.labels) {
    f.str(k);
    f.str(v);
  }
  // Named ports in any order: their hashes are summed, which is order-independent.
  uint64_t ports = 0;
  for (const auto& p : pod.ports) {
    if (p.name.empty()) continue;
    Hasher pf;
    pf.str(p.name);
    pf.str(p.protocol);
    pf.num(p.container_port);
    ports += pf.h;
  }
  f.num(static_cast<int64_t>(ports));
  return f.h;
}

int CompareIdentity(const k8s::Pod& a, const k8s::Pod& b) {
  if (int c = a.meta.ns.compare(b.meta.ns)) return c;
  if (a.meta.labels != b.meta.labels) return a.meta.labels < b.meta.labels ? -1 : 1;
  std::vector<const k8s::ContainerPort*> pa, pb;
  NamedPorts(a, &pa);
  NamedPorts(b, &pb);
  auto key = [](const k8s::ContainerPort* p) { return std::tie(p->name, p->protocol, p->container_port); };
  for (size_t i = 0; i < pa.size() && i < pb.size(); ++i) {
    if (key(pa[i]) != key(pb[i])) return key(pa[i]) < key(pb[i]) ? -1 : 1;
  }
  return pa.size() == pb.size() ? 0 : (pa.size() < pb.size() ? -1 : 1);
}

bool SameIdentity(const k8s::Pod& a, const k8s::Pod& b) {
  if (a.meta.ns != b.meta.ns || a.meta.labels != b.meta.labels) return false;
  auto same = [](const k8s::ContainerPort& x, const k8s::ContainerPort& y) {
    return x.name == y.name && x.protocol == y.protocol && x.container_port == y.container_port;
  };
  if (a.ports.size() == b.ports.size() && std::equal(a.ports.begin(), a.ports.end(), b.ports.begin(), same)) {
    return true;
  }
  return CompareIdentity(a, b) == 0;
}

void FillIdentity(uint32_t id, const k8s::Pod& pod, v1::Identity* out) {
  out->set_id(id);
  out->set_namespace_(pod.meta.ns);
  for (const auto& [k, v] : pod.meta.labels) {
    auto* l = out->add_labels();
    l->set_key(k);
    l->set_value(v);
  }
  std::vector<std::tuple<std::string, uint32_t, uint32_t>> named;
  for (const auto& cp : pod.ports) {
    if (cp.name.empty()) continue;
    named.emplace_back(cp.name, static_cast<uint32_t>(*k8s::ParseProtocol(cp.protocol)),
                       static_cast<uint32_t>(cp.container_port));
  }
  std::sort(named.begin(), named.end());
  for (const auto& [name, proto, port] : named) {
    auto* np = out->add_named_ports();
    np->set_name(name);
    np->set_protocol(proto);
    np->set_port(port);
  }
}

namespace {
uint32_t g_preferred_space = kMaxIdentity - kFirstPodIdentity;
uint32_t g_max_identity = kMaxIdentity;
}  // namespace

uint32_t PreferredIdentityId(uint64_t hash) {
  return kFirstPodIdentity + static_cast<uint32_t>(hash % g_preferred_space);
}

uint32_t NextIdentityId(uint32_t id) { return id + 1 >= g_max_identity ? kFirstPodIdentity : id + 1; }

uint32_t IdentityIdLimit() { return g_max_identity; }

void SetIdentitySpaceForTesting(uint32_t preferred_space, uint32_t max_identity) {
  g_preferred_space = preferred_space;
  g_max_identity = max_identity;
}

}  // namespace netfence::compiler
