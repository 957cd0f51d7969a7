#include "dataplane/agent/node_tables.h"

#include <set>
#include <unordered_map>

#include "controlplane/compiler/compiler.h"

namespace netfence::agent {

NodeTables CompileNodeTables(k8s::ClusterState state, const std::string& node, const Registry& registry,
                             uint64_t generation) {
  NodeTables out;
  std::unordered_map<std::string, k8s::Pod*> pods;
  for (k8s::Pod& pod : state.pods) pods[pod.key()] = &pod;

  std::set<std::string> local;
  for (const auto& [key, record] : registry.records()) {
    auto it = pods.find(record.pod_key());
    if (it == pods.end() || it->second->host_network) {
      out.unknown_pods.push_back(record.pod_key());
      continue;
    }
    k8s::Pod& pod = *it->second;
    pod.node_name = node;
    if (!record.ips.empty()) {
      pod.pod_ips.clear();
      for (const IpAddr& ip : record.ips) pod.pod_ips.push_back(ip.str());
    }
    local.insert(record.pod_key());
  }

  compiler::Options options;
  options.generation = generation;
  out.tables = compiler::Compile(state, options);
  auto* endpoints = out.tables.mutable_endpoints();
  int kept = 0;
  for (int i = 0; i < endpoints->size(); ++i) {
    const v1::Endpoint& e = endpoints->Get(i);
    if (e.node() != node && !local.contains(e.namespace_() + "/" + e.name())) continue;
    if (kept != i) endpoints->SwapElements(kept, i);
    ++kept;
  }
  endpoints->DeleteSubrange(kept, endpoints->size() - kept);
  out.tables.mutable_stats()->set_endpoints(static_cast<uint32_t>(kept));
  return out;
}

}  // namespace netfence::agent
