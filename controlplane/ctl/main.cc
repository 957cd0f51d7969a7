// SPDX-License-Identifier: Apache-2.0
// netfencectl: ask netfence what a set of NetworkPolicies allows, and why.
#include <iostream>

#include "controlplane/ctl/ctl.h"

int main(int argc, char** argv) {
  CLI::App app{"netfencectl: inspect how netfence compiles and enforces Kubernetes NetworkPolicy"};
  app.set_version_flag("--version", NETFENCE_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Commands read a cluster from --manifests DIR: every YAML/JSON file in it (Namespaces, Pods\n"
      "with status.podIP, NetworkPolicies, ClusterNetworkPolicies, Nodes, Lists), or the live cluster\n"
      "through --kubeconfig FILE. Invalid objects are reported with the object and\n"
      "field, and nothing is evaluated.\n\n"
      "Examples:\n"
      "  netfencectl matrix  --manifests examples/cluster --protocol TCP --port 80 -o table\n"
      "  netfencectl explain --manifests examples/cluster --from shop/api --to shop/db --port 5432\n"
      "  netfencectl diff    --manifests examples/cluster -f new-policy.yaml -o table\n"
      "  netfencectl compile --manifests examples/cluster\n"
      "  netfencectl status  --controller 127.0.0.1:9443 --insecure-plaintext\n"
      "  netfencectl stats   --controller 127.0.0.1:9443 --insecure-plaintext --unused\n"
      "  netfencectl flows   --file /var/log/netfence/flows.jsonl --verdict denied --since 10m");
  netfence::ctl::AddMatrixCommand(&app);
  netfence::ctl::AddExplainCommand(&app);
  netfence::ctl::AddDiffCommand(&app);
  netfence::ctl::AddCompileCommand(&app);
  netfence::ctl::AddFlowsCommand(&app);
  netfence::ctl::AddStatusCommand(&app);
  netfence::ctl::AddStatsCommand(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
