// SPDX-License-Identifier: Apache-2.0
// A cluster made of network namespaces, for end-to-end tests and tests/e2e/probe-matrix:
//
//   node namespaces   one per distinct spec.nodeName (pods without one go to the first node);
//                     each has a bridge `nfbr0`; node 0 is joined to every other node by an
//                     uplink veth whose ends are bridge ports (one flat L2 pod network);
//   controller        netfence-controller reading the manifest directory, serving the
//                     agents on a unix socket (no network of the root namespace is used);
//                     with TableMode::kEmbedded there is none and each agent compiles the
//                     directory itself;
//   agents            one netfence-agent per node (--netns, its own socket, state dir and
//                     bpffs pin directory), its tables from the controller (or the directory);
//                     with dataplane "dpdk", a netfence-dpdk per node (--netns, the node port
//                     on nfbr0) that the agent enforces through: the pods' veths and the
//                     uplink are its ports, taken off the bridge;
//                     its flow log in the cluster's temporary directory (FlowLogPath), its
//                     Observe stream on a socket there (ObserveTarget), /metrics on
//                     127.0.0.1:9080 of the node's namespace;
//   pods              one namespace per Pod with an IP, plugged by the real CNI chain run in
//                     its node's namespace: bridge + host-local (the pod's status.podIP(s)
//                     requested through the `ips` capability) + netfence-cni; a probe server
//                     (TCP, UDP, SCTP) on each requested port and address;
//   host-network pods their IPs on the node's bridge, their servers in the node namespace.
//
// Nothing lives in the root namespace. Destruction (or Ctrl-C with InstallSignalCleanup)
// stops the agents and removes namespaces, pinned maps and temporary files.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "controlplane/k8s/manifests.h"
#include "controlplane/reach/matrix.h"
#include "dataplane/agent/protocol.h"
#include "tests/e2e/cni_runtime.h"
#include "tests/e2e/process.h"
#include "tests/testing/netns.h"
#include "tests/testing/probes.h"

namespace netfence::testing {
struct TestCerts;
}

namespace netfence::e2e {

enum class TableMode {
  kController,  // netfence-controller -> gRPC -> agents
  kEmbedded,    // each agent compiles the manifest directory itself
};

struct ClusterOptions {
  std::string manifests;  // the directory the controller (or agents) read
  TableMode mode = TableMode::kController;
  std::string bin_dir;  // netfence-agent, netfence-cni
  std::vector<std::string> plugin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  std::vector<uint16_t> server_ports;   // probe servers on every pod
  std::set<std::string> deferred_pods;  // "ns/name": not plugged by Create (see AddPod)
  std::string attach_mode = "native";
  // xdp, or dpdk (a netfence-dpdk per node); "": $NETFENCE_E2E_DATAPLANE, else xdp (ctest runs
  // the e2e suites once more with it set to dpdk).
  std::string dataplane;
  std::vector<std::string> agent_args;               // more netfence-agent flags (e.g. --flow-ring-bytes)
  std::function<void(const std::string&)> progress;  // one line per step (probe-matrix: stderr)
};

class Cluster {
 public:
  static StatusOr<std::unique_ptr<Cluster>> Create(ClusterOptions options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Real connection attempts for every ordered pair of plugged pods (a pod reaches itself),
  // in parallel; each pair is tried `attempts` times until one succeeds.
  reach::Matrix Probe(k8s::Protocol protocol, uint16_t port, int timeout_ms = 1000, int attempts = 2);
  // One attempt from src to dst ("ns/name") at dst's address of src's family.
  bool ProbeOnce(const std::string& src, const std::string& dst, k8s::Protocol protocol, uint16_t port,
                 int timeout_ms = 1000);

  // Creates the pod's namespace (if needed) and runs the CNI ADD chain; starts its servers.
  Status AddPod(const std::string& key);
  // Only the namespace, no CNI (tests that drive the plugin themselves).
  Status CreatePodNamespace(const std::string& key);
  // CNI DEL through the chain (with the cached ADD result as prevResult).
  Status DelPod(const std::string& key);
  // The raw netfence-cni invocation for a pod (command ADD/DEL/CHECK/STATUS/...), with the
  // given prevResult (null for none): the plugin's exit code, stdout and stderr.
  StatusOr<ProcessResult> InvokeNetfenceCni(const std::string& key, const std::string& command,
                                            const nlohmann::json& prev_result,
                                            const nlohmann::json& extra = nlohmann::json::object());
  // Milliseconds each plugin of the pod's last ADD took ("bridge", "netfence-cni").
  double LastAddMs(const std::string& pod_key, const std::string& plugin) const;
  // The bridge+host-local part of the chain only (the pod wired, netfence not involved);
  // with `servers`, the pod's probe servers run too (as its kernel would answer).
  StatusOr<nlohmann::json> AddPodWithoutNetfence(const std::string& key, bool servers = false);

  Status StopAgent(const std::string& node, int signo = SIGTERM);
  Status StartAgent(const std::string& node);
  // The node's netfence-dpdk (dataplane "dpdk" only).
  Status StopDpdk(const std::string& node, int signo = SIGTERM);
  Status StartDpdk(const std::string& node);
  std::string DpdkLog(const std::string& node) const;
  // The controller (TableMode::kController only).
  Status StopController(int signo = SIGTERM);
  Status StartController();
  std::string ControllerLog() const { return controller_.LogTail(); }
  const std::string& controller_socket() const { return controller_socket_; }
  // netfencectl's flags to reach the controller (controller mode): its address and an mTLS
  // client certificate of the cluster's CA.
  std::vector<std::string> CtlControllerArgs() const;
  StatusOr<agent::Response> AgentCall(const std::string& node, const agent::Request& request);

  const std::vector<std::string>& nodes() const { return node_names_; }
  std::string NodeOf(const std::string& pod_key) const;
  const nettest::Netns& PodNetns(const std::string& pod_key) const;
  const nettest::Netns& NodeNetns(const std::string& node) const;
  std::string PodAddress(const std::string& pod_key) const;           // the first IP
  std::string HostInterface(const std::string& pod_key) const;        // after ADD
  const nlohmann::json& AddResult(const std::string& pod_key) const;  // the chain's ADD result
  const std::string& ContainerId(const std::string& pod_key) const;   // CNI_CONTAINERID
  const std::string& manifests() const { return options_.manifests; }
  const k8s::ClusterState& state() const { return state_; }
  std::string AgentLog(const std::string& node) const;
  // The node agent's flow log file, and its Observe stream ("unix:PATH").
  std::string FlowLogPath(const std::string& node) const { return nodes_.at(node).flow_log; }
  std::string ObserveTarget(const std::string& node) const { return "unix:" + nodes_.at(node).observe_socket; }
  static constexpr const char* kMetricsAddress = "127.0.0.1:9080";  // in each node's namespace
  pid_t AgentPid(const std::string& node) const { return nodes_.at(node).agent.pid(); }

 private:
  struct Node {
    std::string name;
    std::unique_ptr<nettest::Netns> netns;
    std::vector<std::string> uplinks;  // uplink ends in this node
    std::string socket, state_dir, bpffs;
    std::string flow_log, observe_socket;
    std::string dpdk_socket;
    Daemon agent;
    Daemon dpdk;
    std::unique_ptr<CniRuntime> cni;
  };
  struct PodRuntime {
    std::string key;
    const k8s::Pod* pod = nullptr;
    std::string node;
    std::unique_ptr<nettest::Netns> netns;  // null for host-network pods
    CniAttachment attachment;
    nlohmann::json result;  // CNI ADD result
    std::vector<std::unique_ptr<nettest::ProbeServer>> servers;
    bool plugged = false;
  };

  explicit Cluster(ClusterOptions options);
  Status Build();
  Status CreateNodes();
  nlohmann::json Conflist(const Node& node) const;
  Status StartServers(PodRuntime& pod);
  Node& node(const std::string& name);
  PodRuntime& pod(const std::string& key);
  const PodRuntime& pod(const std::string& key) const;
  void Log(const std::string& line) const;
  void EmergencyCleanup();

  ClusterOptions options_;
  k8s::ClusterState state_;
  std::string tmp_;
  std::vector<std::string> node_names_;
  std::map<std::string, Node> nodes_;
  std::vector<std::unique_ptr<nettest::VethPair>> uplinks_;
  std::map<std::string, PodRuntime> pods_;
  std::vector<std::string> subnets_;       // per family, "10.0.0.0/16"
  std::map<std::string, int> prefix_len_;  // "4"/"6" -> length used for pod addresses
  Daemon controller_;
  std::string controller_socket_;
  std::unique_ptr<testing::TestCerts> certs_;  // the controller's and agents' (mTLS)
  int cleanup_handle_ = 0;
  mutable std::mutex mu_;  // names for EmergencyCleanup
  std::vector<std::string> emergency_netns_, emergency_dirs_;
  std::vector<pid_t> emergency_pids_;
};

}  // namespace netfence::e2e
