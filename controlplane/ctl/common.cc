#include <algorithm>
#include <iostream>

#include "controlplane/compiler/compiler.h"
#include "controlplane/ctl/ctl.h"

namespace netfence::ctl {

void SourceFlags::Add(CLI::App* cmd) {
  cmd->add_option("--manifests", manifests,
                  "Directory of YAML/JSON manifests (Namespace, Pod with status.podIP(s), NetworkPolicy, Lists), "
                  "read recursively")
      ->required()
      ->check(CLI::ExistingDirectory);
}

std::optional<k8s::ClusterState> LoadCluster(const SourceFlags& flags) {
  k8s::LoadResult r = k8s::LoadManifestDir(flags.manifests);
  for (const auto& e : r.errors) std::cerr << "error: " << e.str() << "\n";
  if (!r.errors.empty()) {
    std::cerr << "netfencectl: " << r.errors.size() << " invalid object(s) in " << flags.manifests
              << "; nothing was evaluated\n";
    return std::nullopt;
  }
  if (!r.ignored_kinds.empty()) {
    std::cerr << "note: ignored objects of kinds netfence does not read:";
    for (const auto& [kind, n] : r.ignored_kinds) std::cerr << " " << kind << " (" << n << ")";
    std::cerr << "\n";
  }
  return std::move(r.state);
}

std::optional<Compiled> CompileCluster(const k8s::ClusterState& state) {
  Compiled c;
  c.tables = std::make_shared<const v1::RuleTables>(compiler::Compile(state));
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
