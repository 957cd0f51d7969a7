// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <iostream>

#include "controlplane/compiler/compiler.h"
#include "controlplane/ctl/ctl.h"
#include "controlplane/kube/kube_config.h"
#include "controlplane/kube/list_cluster.h"

namespace netfence::ctl {

void SourceFlags::Add(CLI::App* cmd) {
  auto* m = cmd->add_option("--manifests", manifests,
                            "Directory of YAML/JSON manifests (Namespace, Pod with status.podIP(s), Node, "
                            "NetworkPolicy, ClusterNetworkPolicy v1alpha2, AdminNetworkPolicy and "
                            "BaselineAdminNetworkPolicy v1alpha1, Lists), read recursively")
                ->check(CLI::ExistingDirectory);
  auto* k = cmd->add_option("--kubeconfig", kubeconfig,
                            "Read the live cluster through this kubeconfig (with neither flag: $KUBECONFIG, the "
                            "in-cluster service account, ~/.kube/config)");
  m->excludes(k);
  k->excludes(m);
  cmd->add_option("--request-timeout", timeout_s, "Seconds to wait for the API server (live cluster)")
      ->capture_default_str();
  cmd->add_option("--default-enforcement", default_enforcement,
                  "As the controller's flag: audit puts the policies without an annotation "
                  "netfence.io/enforcement (their own or their namespace's) in audit")
      ->check(CLI::IsMember({"enforce", "audit"}))
      ->capture_default_str();
}

std::optional<k8s::ClusterState> LoadCluster(const SourceFlags& flags) {
  k8s::LoadResult r;
  std::string where;
  if (!flags.manifests.empty()) {
    r = k8s::LoadManifestDir(flags.manifests);
    where = flags.manifests;
  } else {
    auto config = kube::ResolveKubeConfig(flags.kubeconfig);
    if (!config.ok()) {
      std::cerr << "error: " << config.status().message() << "\n(give --manifests DIR or --kubeconfig FILE)\n";
      return std::nullopt;
    }
    auto listed = kube::ListCluster(*config, std::chrono::seconds(flags.timeout_s));
    if (!listed.ok()) {
      std::cerr << "error: " << listed.status().message() << "\n";
      return std::nullopt;
    }
    r = std::move(listed).value();
    where = "the cluster at " + config->server;
  }
  for (const auto& e : r.errors) std::cerr << "error: " << e.str() << "\n";
  if (!r.errors.empty()) {
    std::cerr << "netfencectl: " << r.errors.size() << " invalid object(s) in " << where << "; nothing was evaluated\n";
    return std::nullopt;
  }
  if (!r.ignored_kinds.empty()) {
    std::cerr << "note: ignored objects of kinds netfence does not read:";
    for (const auto& [kind, n] : r.ignored_kinds) std::cerr << " " << kind << " (" << n << ")";
    std::cerr << "\n";
  }
  return std::move(r.state);
}

std::optional<Compiled> CompileCluster(const k8s::ClusterState& state, bool audit_by_default) {
  Compiled c;
  c.tables = std::make_shared<const v1::RuleTables>(
      compiler::Compile(state, compiler::Options{.audit_by_default = audit_by_default}));
  auto loaded = classifier::Classifier::Load(c.tables);
  if (!loaded.ok()) {
    std::cerr << "netfencectl: internal error: compiled tables rejected: " << loaded.status().message() << "\n";
    return std::nullopt;
  }
  c.classifier = *loaded;
  return c;
}

std::optional<k8s::Protocol> ParseProtocolFlag(const std::string& s) {
  std::string up = s;
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char ch) { return std::toupper(ch); });
  return k8s::ParseProtocol(up);
}

}  // namespace netfence::ctl
