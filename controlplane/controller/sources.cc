// SPDX-License-Identifier: Apache-2.0
#include "controlplane/controller/sources.h"

#include "controlplane/kube/kube_source.h"
#include "controlplane/source/manifest_dir_source.h"

namespace netfence::controller {

void SourceFlags::Add(CLI::App* app) {
  auto* m = app->add_option("--manifests", manifests,
                            "Read the cluster from this directory of YAML/JSON manifests (watched for changes)")
                ->check(CLI::ExistingDirectory);
  auto* k = app->add_option("--kubeconfig", kubeconfig, "Read the cluster from the Kubernetes API of this kubeconfig");
  m->excludes(k);
  k->excludes(m);
}

StatusOr<std::unique_ptr<source::Source>> MakeSource(boost::asio::io_context& io, const SourceFlags& flags,
                                                     std::function<void(const std::string&)> info) {
  if (!flags.manifests.empty()) {
    return std::unique_ptr<source::Source>(std::make_unique<source::ManifestDirSource>(io, flags.manifests, info));
  }
  auto config = kube::ResolveKubeConfig(flags.kubeconfig);
  if (!config.ok()) return config.status();
  kube::KubeSourceOptions options;
  options.log = info;
  return std::unique_ptr<source::Source>(std::make_unique<kube::KubeSource>(io, std::move(config).value(), options));
}

}  // namespace netfence::controller
