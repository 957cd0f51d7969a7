// SPDX-License-Identifier: Apache-2.0
#include <iostream>

#include "controlplane/ctl/ctl.h"
#include "controlplane/reach/matrix.h"

namespace netfence::ctl {

void AddMatrixCommand(CLI::App* app) {
  struct Opts {
    SourceFlags source;
    std::string protocol = "TCP";
    int port = 0;
    bool audit = false;
    std::string output = "json";
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app->add_subcommand("matrix", "Reachability of every ordered pair of pods on one protocol and port");
  opts->source.Add(cmd);
  cmd->add_option("--protocol", opts->protocol, "TCP, UDP or SCTP")->capture_default_str();
  cmd->add_option("--port", opts->port, "Destination port (1-65535)")->required()->check(CLI::Range(1, 65535));
  cmd->add_flag("--audit", opts->audit,
                "Also the verdicts with the policies in audit (annotation netfence.io/enforcement: audit) "
                "enforced: \"audit_allowed\" and the pairs that differ (\"audit_differs\")");
  cmd->add_option("-o,--output", opts->output, "json (the contract other tools read) or table (for a person)")
      ->check(CLI::IsMember({"json", "table"}))
      ->capture_default_str();
  cmd->footer(
      "Every pod with an IP is a row and a column (a host-network pod at its node's address,\n"
      "status.hostIP). A cell is true when the source's egress policy and the destination's\n"
      "ingress policy both allow a new connection (with ClusterNetworkPolicies: Admin tier,\n"
      "then NetworkPolicy, then Baseline tier); a pod always reaches itself. Evaluated through\n"
      "the compiled tables and the production classifier.\n\n"
      "Example:\n  netfencectl matrix --manifests examples/cluster --protocol TCP --port 80 -o table");
  cmd->callback([opts]() {
    auto proto = ParseProtocolFlag(opts->protocol);
    if (!proto) {
      std::cerr << "netfencectl matrix: --protocol: \"" << opts->protocol << "\" is not one of TCP, UDP, SCTP\n";
      throw CLI::RuntimeError(2);
    }
    auto state = LoadCluster(opts->source);
    if (!state) throw CLI::RuntimeError(1);
    auto compiled = CompileCluster(*state, opts->source.audit_by_default());
    if (!compiled) throw CLI::RuntimeError(3);
    auto m = reach::ComputeMatrix(*state, *compiled->classifier, *proto, static_cast<uint16_t>(opts->port));
    if (opts->output == "table") {
      std::cout << k8s::ProtocolName(*proto) << "/" << opts->port << "\n" << m.ToTable(opts->audit);
    } else {
      std::cout << m.ToJson(opts->audit).dump() << "\n";
    }
  });
}

}  // namespace netfence::ctl
