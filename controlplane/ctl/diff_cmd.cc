// SPDX-License-Identifier: Apache-2.0
// netfencectl diff: which connections a change would flip, before it is applied.
#include <filesystem>
#include <iostream>
#include <optional>

#include "common/base/files.h"
#include "controlplane/ctl/ctl.h"
#include "controlplane/reach/diff.h"
#include "controlplane/reach/replay.h"

namespace netfence::ctl {
namespace {

// The objects of every CHANGE file or directory; false (errors printed) on any invalid one.
bool LoadChange(const std::vector<std::string>& paths, k8s::ClusterState* out) {
  k8s::LoadResult all;
  for (const std::string& path : paths) {
    if (std::filesystem::is_directory(path)) {
      k8s::LoadResult r = k8s::LoadManifestDir(path);
      auto& s = r.state;
      all.errors.insert(all.errors.end(), r.errors.begin(), r.errors.end());
      all.state.namespaces.insert(all.state.namespaces.end(), s.namespaces.begin(), s.namespaces.end());
      all.state.pods.insert(all.state.pods.end(), s.pods.begin(), s.pods.end());
      all.state.policies.insert(all.state.policies.end(), s.policies.begin(), s.policies.end());
      all.state.nodes.insert(all.state.nodes.end(), s.nodes.begin(), s.nodes.end());
      all.state.cluster_policies.insert(all.state.cluster_policies.end(), s.cluster_policies.begin(),
                                        s.cluster_policies.end());
      continue;
    }
    auto text = ReadWholeFile(path, "change file");
    if (!text.ok()) {
      std::cerr << "error: -f " << path << ": " << text.status().message() << "\n";
      return false;
    }
    k8s::LoadManifestText(*text, path, &all);
  }
  for (const auto& e : all.errors) std::cerr << "error: " << e.str() << "\n";
  if (!all.errors.empty()) {
    std::cerr << "netfencectl diff: " << all.errors.size()
              << " invalid object(s) in the change; nothing was compared\n";
    return false;
  }
  *out = std::move(all.state);
  return true;
}

}  // namespace

void AddDiffCommand(CLI::App* app) {
  struct Opts {
    SourceFlags source;
    std::vector<std::string> changes;
    std::vector<std::string> deletes;
    std::vector<std::string> flows;
    bool no_rotated = false;
    std::string protocol;
    int port = 0;
    std::string output = "json";
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app->add_subcommand("diff", "Which connections a change would flip, before it is applied");
  opts->source.Add(cmd);
  cmd->add_option("-f,--filename", opts->changes,
                  "File or directory of objects as they would be after the change (NetworkPolicy, "
                  "ClusterNetworkPolicy, Namespace, Pod, Node: new, or replacing the object of the same kind and "
                  "name); repeatable");
  cmd->add_option("--delete", opts->deletes,
                  "An object the change deletes: KIND/NAMESPACE/NAME (NetworkPolicy, Pod) or KIND/NAME "
                  "(Namespace, Node, ClusterNetworkPolicy...); repeatable");
  cmd->add_option("--flows", opts->flows,
                  "A flow log (netfence.flow/v1, as netfence-agent writes it; its rotated siblings "
                  "FILE-<time>.jsonl are read too): also list the connections it recorded that the change would "
                  "cut or newly admit; repeatable (several nodes' logs)");
  cmd->add_flag("--no-rotated", opts->no_rotated, "With --flows: read only FILE, not its rotated siblings");
  auto* proto = cmd->add_option("--protocol", opts->protocol, "Only this protocol (TCP, UDP or SCTP), with --port");
  auto* port =
      cmd->add_option("--port", opts->port, "Only this destination port (1-65535)")->check(CLI::Range(1, 65535));
  proto->needs(port);
  cmd->add_option("-o,--output", opts->output, "json (for tools) or table (for a person)")
      ->check(CLI::IsMember({"json", "table"}))
      ->capture_default_str();
  cmd->footer(
      "Compiles the cluster as it is and as it would be after the change, and judges every ordered\n"
      "pair of pods (as `matrix` does) on every port some pod declares or some policy names (or\n"
      "only --protocol/--port; --port alone means TCP). Prints the pairs whose verdict flips:\n"
      "  {\"flips\":[{\"from\":\"ns/a\",\"to\":\"ns/b\",\"protocol\":\"TCP\",\"port\":80,\"before\":true,\n"
      "              \"after\":false,\"decided_by\":{\"before\":{...},\"after\":{...}}}]}\n"
      "decided_by names, per direction, the policy and rule (or the isolating policies) that\n"
      "decided each verdict. Objects identical to the current ones change nothing.\n\n"
      "With --flows, the recorded connections are replayed too: each record's ends are mapped to pods\n"
      "(by namespace/pod, else by address) and every observed pod pair and port the change flips is\n"
      "listed beside the flips, with its records, connections (Community IDs) and last time seen:\n"
      "  \"observed\":[{\"from\",\"to\",\"protocol\",\"port\",\"records\",\"connections\",\"last_seen\",\n"
      "              \"before\",\"after\",\"change\":\"cut|admitted\",\"decided_by\"}],\"observed_summary\":{...}\n"
      "Ends that are no pod, records without a port and malformed lines are counted in\n"
      "observed_summary (malformed lines also as warnings on stderr, with FILE:LINE).\n\n"
      "Examples:\n"
      "  netfencectl diff --manifests cluster/ -f new-policy.yaml -o table\n"
      "  netfencectl diff --kubeconfig ~/.kube/config --delete NetworkPolicy/shop/allow-web --port 80\n"
      "  netfencectl diff --kubeconfig ~/.kube/config -f new-policy.yaml --flows /var/log/netfence/flows.jsonl");
  cmd->callback([opts]() {
    if (opts->changes.empty() && opts->deletes.empty()) {
      std::cerr << "netfencectl diff: give the change: -f FILE|DIR and/or --delete KIND/NAMESPACE/NAME\n";
      throw CLI::RuntimeError(2);
    }
    std::vector<reach::ProtoPort> ports;
    if (opts->port != 0) {
      auto p = ParseProtocolFlag(opts->protocol.empty() ? "TCP" : opts->protocol);
      if (!p) {
        std::cerr << "netfencectl diff: --protocol: \"" << opts->protocol << "\" is not one of TCP, UDP, SCTP\n";
        throw CLI::RuntimeError(2);
      }
      ports.push_back({*p, static_cast<uint16_t>(opts->port)});
    }
    auto before = LoadCluster(opts->source);
    if (!before) throw CLI::RuntimeError(1);
    reach::Change change;
    if (!LoadChange(opts->changes, &change.objects)) throw CLI::RuntimeError(1);
    change.deletes = opts->deletes;
    k8s::ClusterState after = *before;
    if (Status s = reach::ApplyChange(change, &after); !s.ok()) {
      std::cerr << "netfencectl diff: " << s.message() << "\n";
      throw CLI::RuntimeError(1);
    }
    auto compiled_before = CompileCluster(*before, opts->source.audit_by_default());
    auto compiled_after = CompileCluster(after, opts->source.audit_by_default());
    if (!compiled_before || !compiled_after) throw CLI::RuntimeError(3);
    const std::vector<reach::ProtoPort> only = opts->port != 0 ? ports : std::vector<reach::ProtoPort>{};
    if (ports.empty()) ports = reach::PortsOfInterest(*before, after);
    if (ports.empty()) ports.push_back({k8s::Protocol::kTCP, 80});  // nothing named anywhere
    const auto flips = reach::Flips(*before, *compiled_before->classifier, after, *compiled_after->classifier, ports);
    std::optional<reach::FlowReplay> replay;
    reach::ReplayResult observed;
    if (!opts->flows.empty()) {
      replay.emplace(*before);
      reach::FlowLogFiles files{.files = opts->flows, .include_rotated = !opts->no_rotated};
      files.progress = [](const std::string& where, uint64_t lines) {
        std::cerr << "netfencectl diff: " << lines << " lines read (at " << where << ")\n";
      };
      if (Status s = reach::ReadFlowLogs(files, &*replay); !s.ok()) {
        std::cerr << "netfencectl diff: " << s.message() << "\n";
        throw CLI::RuntimeError(1);
      }
      for (const auto& m : replay->stats().malformed) std::cerr << "warning: malformed flow record at " << m << "\n";
      if (replay->stats().malformed_lines > replay->stats().malformed.size()) {
        std::cerr << "warning: " << replay->stats().malformed_lines << " malformed flow log lines in all (skipped)\n";
      }
      observed = replay->Judge(*compiled_before->classifier, after, *compiled_after->classifier, only);
    }
    if (opts->output == "table") {
      std::cout << reach::FlipsTable(flips);
      if (replay) std::cout << reach::ObservedTable(observed, replay->stats(), *compiled_after->tables);
    } else {
      auto out = reach::FlipsJson(flips, *compiled_before->tables, *compiled_after->tables);
      if (replay)
        out.update(reach::ObservedJson(observed, replay->stats(), *compiled_before->tables, *compiled_after->tables));
      std::cout << out.dump() << "\n";
    }
  });
}

}  // namespace netfence::ctl
