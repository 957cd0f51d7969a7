// SPDX-License-Identifier: Apache-2.0
// netfence-probe-matrix (run as tests/e2e/probe-matrix): builds the pods of a manifest
// directory as network namespaces plugged by the real CNI chain, runs one netfence-agent per
// node, sends a real connection attempt for every ordered pair of pods and prints the same
// JSON as `netfencectl matrix` (see cluster.h for the topology).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "tests/e2e/cleanup.h"
#include "tests/e2e/cluster.h"
#include "tests/e2e/flow_logs.h"

int main(int argc, char** argv) {
  using namespace netfence;
  e2e::InstallSignalCleanup();
  std::string manifests, protocol_name = "TCP", output = "json", flow_log, bin_dir, attach_mode = "native";
  std::string dataplane = "xdp";
  int port = 0, timeout_ms = 1000, attempts = 2;
  bool quiet = false;
  CLI::App app{"probe-matrix: real packets between the pods of a manifest directory, through netfence"};
  app.add_option("--manifests", manifests,
                 "Directory of Namespace/Pod/NetworkPolicy manifests (Pods need status.podIP)")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--protocol", protocol_name, "TCP, UDP or SCTP")
      ->check(CLI::IsMember({"TCP", "UDP", "SCTP"}))
      ->capture_default_str();
  app.add_option("--port", port, "Destination port every pod serves")->required()->check(CLI::Range(1, 65535));
  app.add_option("--flow-log", flow_log,
                 "Also write the agents' flow logs of the probe run to FILE: every node's records, merged in "
                 "time order (each names its node); the agents are stopped first, so that open drop aggregates "
                 "and connections are written");
  app.add_option("-o,--output", output, "json (the `netfencectl matrix` format) or table")
      ->check(CLI::IsMember({"json", "table"}))
      ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "Per attempt; a denied pair costs attempts x timeout")
      ->capture_default_str();
  app.add_option("--attempts", attempts, "Attempts per pair before it counts as denied")->capture_default_str();
  app.add_option("--bin-dir", bin_dir, "Where netfence-agent and netfence-cni are (default: next to this binary)");
  app.add_option("--attach-mode", attach_mode, "XDP mode of the agents: native, generic, auto")->capture_default_str();
  app.add_option("--dataplane", dataplane,
                 "The agents' fast path: xdp, or dpdk (a netfence-dpdk per node switches the pods and the uplink)")
      ->check(CLI::IsMember({"xdp", "dpdk"}))
      ->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "No progress on stderr");
  app.footer(
      "Topology: one network namespace per node (spec.nodeName; pods without one share the first\n"
      "node) with a bridge; nodes joined by uplink veths; one namespace per pod wired by the CNI chain\n"
      "bridge + host-local (the pod's status.podIP requested via the `ips` capability) + netfence-cni.\n"
      "Nothing is created in the root namespace; everything is removed at exit, also on Ctrl-C.\n\n"
      "Example:\n"
      "  tests/e2e/probe-matrix --manifests examples/cluster --protocol TCP --port 80\n"
      "  tests/e2e/probe-matrix --manifests examples/cluster --protocol TCP --port 80 --dataplane dpdk");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (bin_dir.empty()) {
    std::error_code ec;
    bin_dir = std::filesystem::canonical("/proc/self/exe", ec).parent_path().string();
  }
  e2e::ClusterOptions options;
  options.manifests = std::filesystem::absolute(manifests).lexically_normal().string();
  options.bin_dir = bin_dir;
  options.server_ports = {static_cast<uint16_t>(port)};
  options.attach_mode = attach_mode;
  options.dataplane = dataplane;
  if (!quiet) options.progress = [](const std::string& line) { std::cerr << "probe-matrix: " << line << "\n"; };
  auto cluster = e2e::Cluster::Create(options);
  if (!cluster.ok()) {
    std::cerr << "probe-matrix: " << cluster.status().message() << "\n";
    return 1;
  }
  auto protocol = *k8s::ParseProtocol(protocol_name);
  if (!quiet) std::cerr << "probe-matrix: probing " << protocol_name << "/" << port << "\n";
  reach::Matrix m = (*cluster)->Probe(protocol, static_cast<uint16_t>(port), timeout_ms, attempts);
  if (!flow_log.empty()) {
    std::vector<std::string> logs;
    for (const std::string& node : (*cluster)->nodes()) {
      // SIGTERM: the agent writes its last records (open drops, updates of open connections).
      if (Status s = (*cluster)->StopAgent(node); !s.ok()) {
        std::cerr << "probe-matrix: warning: " << s.message() << "; its last flow records may be missing\n";
      }
      logs.push_back((*cluster)->FlowLogPath(node));
    }
    if (Status s = e2e::MergeFlowLogs(logs, flow_log); !s.ok()) {
      std::cerr << "probe-matrix: --flow-log: " << s.message() << "\n";
      return 1;
    }
    if (!quiet) std::cerr << "probe-matrix: flow log of " << logs.size() << " node(s) in " << flow_log << "\n";
  }
  if (output == "table") {
    std::cout << m.ToTable();
  } else {
    std::cout << m.ToJson().dump() << "\n";
  }
  return 0;
}
