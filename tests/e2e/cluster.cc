// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/cluster.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "tests/e2e/cleanup.h"
#include "tests/testing/test_certs.h"

namespace netfence::e2e {

using json = nlohmann::json;

namespace {

constexpr const char* kBridge = "nfbr0";

std::string Family(const IpAddr& a) { return a.is_v4() ? "4" : "6"; }

// The smallest prefix holding every address (at most /24 for IPv4, /64 for IPv6).
IpPrefix Covering(const std::vector<IpAddr>& addrs) {
  const bool v4 = addrs.front().is_v4();
  int len = v4 ? 96 + 24 : 64;
  auto prefix = [&](int l) {
    auto p = IpPrefix::Parse(addrs.front().str() + "/" + std::to_string(v4 ? l - 96 : l));
    return *p;
  };
  while (len > (v4 ? 96 + 8 : 8)) {
    IpPrefix p = prefix(len);
    if (std::all_of(addrs.begin(), addrs.end(), [&](const IpAddr& a) { return p.contains(a); })) return p;
    --len;
  }
  return prefix(len);
}

std::string NewContainerId() {
  static std::atomic<int> n{0};
  char buf[65];
  std::snprintf(buf, sizeof(buf), "%016x%08x%040x", static_cast<unsigned>(::getpid()), n.fetch_add(1), 0xe2e);
  return buf;
}

Status Ip(const std::string& ns, std::vector<std::string> args) {
  args.insert(args.begin(), {"ip", "-n", ns});
  auto r = nettest::RunCommand(args);
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  if (options_.dataplane.empty()) {
    const char* env = std::getenv("NETFENCE_E2E_DATAPLANE");
    options_.dataplane = env != nullptr && *env != '\0' ? env : "xdp";
  }
}

StatusOr<std::unique_ptr<Cluster>> Cluster::Create(ClusterOptions options) {
  std::unique_ptr<Cluster> c(new Cluster(std::move(options)));
  c->cleanup_handle_ = RegisterCleanup([raw = c.get()] { raw->EmergencyCleanup(); });
  if (Status s = c->Build(); !s.ok()) return s;
  return c;
}

void Cluster::Log(const std::string& line) const {
  if (options_.progress) options_.progress(line);
}

Status Cluster::Build() {
  if (!nettest::NetnsAvailable().ok()) return nettest::NetnsAvailable();
  k8s::LoadResult loaded = k8s::LoadManifestDir(options_.manifests);
  if (!loaded.errors.empty()) {
    std::string all;
    for (const auto& e : loaded.errors) all += "\n  " + e.str();
    return Status::Error(options_.manifests + ": invalid objects:" + all);
  }
  state_ = std::move(loaded.state);
  char tmpl[] = "/tmp/netfence-e2e-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Status::Error("mkdtemp failed");
  tmp_ = tmpl;
  {
    std::lock_guard lock(mu_);
    emergency_dirs_.push_back(tmp_);
  }

  // Nodes: every spec.nodeName; pods without one go to the first node.
  std::set<std::string> names;
  for (const k8s::Pod* p : reach::MatrixPods(state_)) {
    if (!p->node_name.empty()) names.insert(p->node_name);
  }
  if (names.empty()) names.insert("node-1");
  node_names_.assign(names.begin(), names.end());

  // The pod network: per family, one subnet covering every pod address.
  std::map<std::string, std::vector<IpAddr>> by_family;
  for (const k8s::Pod* p : reach::MatrixPods(state_)) {
    for (const std::string& ip : p->pod_ips) {
      if (auto a = IpAddr::Parse(ip)) by_family[Family(*a)].push_back(*a);
    }
  }
  for (auto& [family, addrs] : by_family) {
    IpPrefix subnet = Covering(addrs);
    subnets_.push_back(subnet.str());
    prefix_len_[family] = subnet.family_len();
  }
  if (options_.mode == TableMode::kController) {
    controller_socket_ = tmp_ + "/controller.sock";
    if (Status s = StartController(); !s.ok()) return s;
  }
  if (Status s = CreateNodes(); !s.ok()) return s;

  for (const k8s::Pod* p : reach::MatrixPods(state_)) {
    PodRuntime& r = pods_[p->key()];
    r.key = p->key();
    r.pod = p;
    r.node = p->node_name.empty() ? node_names_.front() : p->node_name;
  }
  for (auto& [key, r] : pods_) {
    if (options_.deferred_pods.contains(key)) continue;
    if (r.pod->host_network) {
      Node& n = node(r.node);
      for (const std::string& ip : r.pod->pod_ips) {
        auto a = IpAddr::Parse(ip);
        std::vector<std::string> args = {"addr", "add", ip + "/" + std::to_string(prefix_len_[Family(*a)]), "dev",
                                         kBridge};
        if (!a->is_v4()) args.push_back("nodad");
        if (Status s = Ip(n.netns->name(), args); !s.ok()) return s;
      }
      if (Status s = StartServers(r); !s.ok()) return s;
      r.plugged = true;
      continue;
    }
    if (Status s = AddPod(key); !s.ok()) return s;
  }
  Log("cluster ready: " + std::to_string(node_names_.size()) + " nodes, " + std::to_string(pods_.size()) + " pods");
  return Status::Ok();
}

Status Cluster::CreateNodes() {
  for (const std::string& name : node_names_) {
    Node& n = nodes_[name];
    n.name = name;
    auto ns = nettest::Netns::Create(nettest::UniqueName("nfn"));
    if (!ns.ok()) return ns.status();
    n.netns = std::move(ns).value();
    {
      std::lock_guard lock(mu_);
      emergency_netns_.push_back(n.netns->name());
    }
    if (Status s = Ip(n.netns->name(), {"link", "add", kBridge, "type", "bridge"}); !s.ok()) return s;
    if (Status s = Ip(n.netns->name(), {"link", "set", kBridge, "up"}); !s.ok()) return s;
    n.socket = tmp_ + "/" + name + ".sock";
    n.state_dir = tmp_ + "/" + name + "-state";
    n.bpffs = "/sys/fs/bpf/" + nettest::UniqueName("nfe2e");
    n.flow_log = tmp_ + "/flows-" + name + ".jsonl";
    n.observe_socket = tmp_ + "/" + name + "-observe.sock";
    {
      std::lock_guard lock(mu_);
      emergency_dirs_.push_back(n.bpffs);
    }
  }
  // Uplinks: node 0 <-> node k, both ends bridge ports.
  for (size_t k = 1; k < node_names_.size(); ++k) {
    Node& hub = nodes_[node_names_[0]];
    Node& spoke = nodes_[node_names_[k]];
    auto pair = nettest::VethPair::Create(nettest::UniqueName("nfu"), hub.netns.get(), nettest::UniqueName("nfu"),
                                          spoke.netns.get());
    if (!pair.ok()) return pair.status();
    for (auto [side, node_ptr] :
         {std::pair{nettest::VethPair::Side::kA, &hub}, std::pair{nettest::VethPair::Side::kB, &spoke}}) {
      const std::string& end = (*pair)->name(side);
      if (Status s = Ip(node_ptr->netns->name(), {"link", "set", end, "master", kBridge}); !s.ok()) return s;
      node_ptr->uplinks.push_back(end);
    }
    uplinks_.push_back(std::move(pair).value());
  }
  for (const std::string& name : node_names_) {
    Node& n = nodes_[name];
    std::vector<std::string> dirs = {options_.bin_dir};
    dirs.insert(dirs.end(), options_.plugin_dirs.begin(), options_.plugin_dirs.end());
    n.cni = std::make_unique<CniRuntime>(Conflist(n), dirs, "/run/netns/" + n.netns->name());
    if (options_.dataplane == "dpdk") {
      n.dpdk_socket = tmp_ + "/" + name + "-dpdk.sock";
      if (Status s = StartDpdk(name); !s.ok()) return s;
    }
    if (Status s = StartAgent(name); !s.ok()) return s;
  }
  return Status::Ok();
}

json Cluster::Conflist(const Node& n) const {
  json ranges = json::array();
  for (const std::string& subnet : subnets_) {
    IpPrefix p = *IpPrefix::Parse(subnet);
    IpAddr gw = p.last();
    gw = IpAddr::FromHalves(gw.hi(), gw.lo() - 1);  // below the broadcast address; never a pod's
    ranges.push_back(json::array({{{"subnet", subnet}, {"gateway", gw.str()}}}));
  }
  return {{"cniVersion", "1.0.0"},
          {"name", "netfence-e2e"},
          {"plugins",
           {{{"type", "bridge"},
             {"bridge", kBridge},
             {"isGateway", false},
             {"ipMasq", false},
             {"capabilities", {{"ips", true}}},
             {"ipam", {{"type", "host-local"}, {"dataDir", tmp_ + "/ipam-" + n.name}, {"ranges", ranges}}}},
            {{"type", "netfence-cni"}, {"socket", n.socket}, {"timeoutSeconds", 10}}}}};
}

Status Cluster::StartController() {
  if (!certs_) {
    // mTLS as in a cluster: a CA, the controller's certificate, one per node agent (CN = node).
    auto certs = testing::MakeTestCerts(tmp_);
    if (!certs.ok()) return certs.status();
    certs_ = std::make_unique<testing::TestCerts>(std::move(certs).value());
  }
  auto daemon = Daemon::Start({options_.bin_dir + "/netfence-controller", "--manifests", options_.manifests, "--listen",
                               "unix:" + controller_socket_, "--tls-cert", certs_->server_cert_file, "--tls-key",
                               certs_->server_key_file, "--tls-ca", certs_->ca_cert_file, "--metrics-address", ""},
                              tmp_ + "/controller.log");
  if (!daemon.ok()) return daemon.status();
  controller_ = std::move(daemon).value();
  {
    std::lock_guard lock(mu_);
    emergency_pids_.push_back(controller_.pid());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!controller_.running()) return Status::Error("netfence-controller exited:\n" + controller_.LogTail());
    if (std::filesystem::exists(controller_socket_)) {
      Log("controller serving on " + controller_socket_);
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status::Error("netfence-controller not listening after 30 s:\n" + controller_.LogTail());
}

namespace {
// A daemon asked to stop with `signo` that had to be SIGKILLed did not shut down in order.
Status StoppedInOrder(const std::string& what, int signo, int exit_code) {
  if (signo == SIGKILL || exit_code != 128 + SIGKILL) return Status::Ok();
  return Status::Error(what + " did not exit within 5 s of signal " + std::to_string(signo) + ": killed");
}
}  // namespace

Status Cluster::StopController(int signo) {
  const int code = controller_.Stop(signo);
  std::error_code ec;
  std::filesystem::remove(controller_socket_, ec);
  return StoppedInOrder("the controller", signo, code);
}

std::vector<std::string> Cluster::CtlControllerArgs() const {
  if (!certs_) return {};
  return {"--controller",      "unix:" + controller_socket_,
          "--tls-cert",        certs_->client_cert_file,
          "--tls-key",         certs_->client_key_file,
          "--tls-ca",          certs_->ca_cert_file,
          "--tls-server-name", "localhost"};
}

Status Cluster::StartAgent(const std::string& name) {
  Node& n = node(name);
  std::vector<std::string> argv = {options_.bin_dir + "/netfence-agent", "--node", name};
  if (options_.mode == TableMode::kController) {
    const std::string cert = tmp_ + "/agent-" + name + ".crt", key = tmp_ + "/agent-" + name + ".key";
    if (!std::filesystem::exists(cert)) {
      auto issued = testing::IssueClientCert(*certs_, name);
      if (!issued.ok()) return issued.status();
      if (!testing::WriteTextFile(cert, issued->cert_pem) || !testing::WriteTextFile(key, issued->key_pem)) {
        return Status::Error("writing the agent certificate of " + name);
      }
    }
    argv.insert(argv.end(), {"--controller", "unix:" + controller_socket_, "--tls-cert", cert, "--tls-key", key,
                             "--tls-ca", certs_->ca_cert_file, "--tls-server-name", "localhost"});
  } else {
    argv.insert(argv.end(), {"--manifests", options_.manifests});
  }
  argv.insert(argv.end(), {"--netns", "/run/netns/" + n.netns->name(), "--socket", n.socket, "--state-dir", n.state_dir,
                           "--bpffs", n.bpffs, "--attach-mode", options_.attach_mode, "--flow-log", n.flow_log,
                           "--observe-socket", n.observe_socket, "--metrics-address", kMetricsAddress});
  for (const std::string& u : n.uplinks) argv.insert(argv.end(), {"--uplink", u});
  if (options_.dataplane == "dpdk") argv.insert(argv.end(), {"--dataplane", "dpdk", "--dpdk-socket", n.dpdk_socket});
  argv.insert(argv.end(), options_.agent_args.begin(), options_.agent_args.end());
  auto daemon = Daemon::Start(argv, tmp_ + "/agent-" + name + ".log");
  if (!daemon.ok()) return daemon.status();
  n.agent = std::move(daemon).value();
  {
    std::lock_guard lock(mu_);
    emergency_pids_.push_back(n.agent.pid());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!n.agent.running()) return Status::Error("netfence-agent of " + name + " exited:\n" + n.agent.LogTail());
    agent::Request status;
    status.op = "status";
    auto r = agent::Call(n.socket, status, 1000);
    if (r.ok() && r->ok) {
      Log("agent of " + name + " ready: " + r->message);
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Error("netfence-agent of " + name + " not ready after 30 s:\n" + n.agent.LogTail());
}

Status Cluster::StartDpdk(const std::string& name) {
  Node& n = node(name);
  // Small and frugal: a test node has a few pods, and several nodes share this machine's CPUs
  // (idle workers sleep up to 500 us between polls).
  std::vector<std::string> argv = {options_.bin_dir + "/netfence-dpdk", "--netns", "/run/netns/" + n.netns->name(),
                                   "--socket", n.dpdk_socket, "--bridge", kBridge, "--workers", "1", "--memory", "256",
                                   "--mbufs", "8191", "--conntrack-entries", "16384", "--event-ring", "16384",
                                   "--idle-sleep-us", "500"};
  auto daemon = Daemon::Start(argv, tmp_ + "/dpdk-" + name + ".log");
  if (!daemon.ok()) return daemon.status();
  n.dpdk = std::move(daemon).value();
  {
    std::lock_guard lock(mu_);
    emergency_pids_.push_back(n.dpdk.pid());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!n.dpdk.running()) return Status::Error("netfence-dpdk of " + name + " exited:\n" + n.dpdk.LogTail());
    if (std::filesystem::exists(n.dpdk_socket)) {
      Log("netfence-dpdk of " + name + " serving on " + n.dpdk_socket);
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Error("netfence-dpdk of " + name + " not serving after 30 s:\n" + n.dpdk.LogTail());
}

Status Cluster::StopDpdk(const std::string& name, int signo) {
  Node& n = node(name);
  return StoppedInOrder("netfence-dpdk of " + name, signo, n.dpdk.Stop(signo));
}

std::string Cluster::DpdkLog(const std::string& name) const { return nodes_.at(name).dpdk.LogTail(); }

Status Cluster::StopAgent(const std::string& name, int signo) {
  Node& n = node(name);
  return StoppedInOrder("the agent of " + name, signo, n.agent.Stop(signo));
}

StatusOr<agent::Response> Cluster::AgentCall(const std::string& name, const agent::Request& request) {
  return agent::Call(node(name).socket, request, 10000);
}

std::string Cluster::AgentLog(const std::string& name) const { return nodes_.at(name).agent.LogTail(); }

Status Cluster::CreatePodNamespace(const std::string& key) {
  PodRuntime& r = pod(key);
  if (r.netns) return Status::Ok();
  auto ns = nettest::Netns::Create(nettest::UniqueName("nfp"));
  if (!ns.ok()) return ns.status();
  r.netns = std::move(ns).value();
  {
    std::lock_guard lock(mu_);
    emergency_netns_.push_back(r.netns->name());
  }
  // IPv6 addresses usable at once (no duplicate address detection delay).
  for (const char* key6 : {"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"}) {
    if (Status s = r.netns->Exec({"sysctl", "-q", "-w", key6}); !s.ok()) return s;
  }
  json ips = json::array();
  for (const std::string& ip : r.pod->pod_ips) {
    auto a = IpAddr::Parse(ip);
    ips.push_back(ip + "/" + std::to_string(prefix_len_[Family(*a)]));
  }
  r.attachment.container_id = NewContainerId();
  r.attachment.netns_path = "/run/netns/" + r.netns->name();
  r.attachment.pod_namespace = r.pod->meta.ns;
  r.attachment.pod_name = r.pod->meta.name;
  r.attachment.runtime_config = {{"ips", ips}};
  return Status::Ok();
}

Status Cluster::AddPod(const std::string& key) {
  PodRuntime& r = pod(key);
  if (Status s = CreatePodNamespace(key); !s.ok()) return s;
  auto result = node(r.node).cni->Add(r.attachment);
  if (!result.ok()) return Status::Error("pod " + key + ": " + result.status().message());
  r.result = std::move(result).value();
  r.plugged = true;
  Log("pod " + key + " plugged on " + r.node + " (" + HostInterface(key) + ")");
  return StartServers(r);
}

StatusOr<json> Cluster::AddPodWithoutNetfence(const std::string& key, bool servers) {
  PodRuntime& r = pod(key);
  if (Status s = CreatePodNamespace(key); !s.ok()) return s;
  const Node& n = node(r.node);
  json bridge_only = n.cni->conflist();
  bridge_only["plugins"].erase(1);
  CniRuntime runtime(bridge_only, {options_.bin_dir, "/usr/lib/cni", "/opt/cni/bin"}, "/run/netns/" + n.netns->name());
  auto result = runtime.Add(r.attachment);
  if (!result.ok()) return result.status();
  r.result = *result;
  if (servers) {
    if (Status s = StartServers(r); !s.ok()) return s;
  }
  return result;
}

Status Cluster::DelPod(const std::string& key) {
  PodRuntime& r = pod(key);
  r.servers.clear();
  r.plugged = false;
  return node(r.node).cni->Del(r.attachment, r.result);
}

StatusOr<ProcessResult> Cluster::InvokeNetfenceCni(const std::string& key, const std::string& command,
                                                   const json& prev_result, const json& extra) {
  PodRuntime& r = pod(key);
  const Node& n = node(r.node);
  return n.cni->Invoke(n.cni->conflist()["plugins"][1], command, r.attachment, prev_result, extra);
}

double Cluster::LastAddMs(const std::string& key, const std::string& plugin) const {
  for (const auto& [type, ms] : nodes_.at(pod(key).node).cni->last_add_timings()) {
    if (type == plugin) return ms;
  }
  return -1;
}

Status Cluster::StartServers(PodRuntime& r) {
  const nettest::Netns& ns = r.netns ? *r.netns : *node(r.node).netns;
  for (uint16_t port : options_.server_ports) {
    for (const std::string& ip : r.pod->pod_ips) {
      auto server = nettest::ProbeServer::Start(ns, ip, port);
      if (!server.ok()) return Status::Error("pod " + r.key + ": " + server.status().message());
      r.servers.push_back(std::move(server).value());
    }
  }
  return Status::Ok();
}

bool Cluster::ProbeOnce(const std::string& src, const std::string& dst, k8s::Protocol protocol, uint16_t port,
                        int timeout_ms) {
  const PodRuntime& s = pod(src);
  const PodRuntime& d = pod(dst);
  auto addrs = reach::ProbeAddresses(*s.pod, *d.pod);
  if (!addrs) return false;
  const nettest::Netns& client = s.netns ? *s.netns : NodeNetns(s.node);
  const std::string to = addrs->second.str();
  switch (protocol) {
    case k8s::Protocol::kTCP:
      return nettest::ProbeTcp(client, to, port, timeout_ms);
    case k8s::Protocol::kUDP:
      return nettest::ProbeUdp(client, to, port, timeout_ms);
    case k8s::Protocol::kSCTP:
      return nettest::ProbeSctp(client, to, port, timeout_ms);
  }
  return false;
}

reach::Matrix Cluster::Probe(k8s::Protocol protocol, uint16_t port, int timeout_ms, int attempts) {
  reach::Matrix m;
  for (const k8s::Pod* p : reach::MatrixPods(state_)) {
    if (pods_.at(p->key()).plugged) m.pods.push_back(p->key());
  }
  const size_t n = m.pods.size();
  m.allowed.assign(n, std::vector<bool>(n, false));
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 0; i < n; ++i) {
    m.allowed[i][i] = true;
    for (size_t j = 0; j < n; ++j) {
      if (i != j) pairs.emplace_back(i, j);
    }
  }
  std::vector<char> result(pairs.size(), 0);
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  const size_t count = std::min<size_t>(16, pairs.size());
  for (size_t w = 0; w < count; ++w) {
    workers.emplace_back([&] {
      for (size_t k = next++; k < pairs.size(); k = next++) {
        const auto [i, j] = pairs[k];
        for (int a = 0; a < attempts && !result[k]; ++a) {
          result[k] = ProbeOnce(m.pods[i], m.pods[j], protocol, port, timeout_ms) ? 1 : 0;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  for (size_t k = 0; k < pairs.size(); ++k) m.allowed[pairs[k].first][pairs[k].second] = result[k] != 0;
  return m;
}

std::string Cluster::NodeOf(const std::string& key) const { return pod(key).node; }
const nettest::Netns& Cluster::PodNetns(const std::string& key) const { return *pod(key).netns; }
const nettest::Netns& Cluster::NodeNetns(const std::string& name) const { return *nodes_.at(name).netns; }
std::string Cluster::PodAddress(const std::string& key) const { return pod(key).pod->pod_ips.front(); }

const std::string& Cluster::ContainerId(const std::string& key) const { return pod(key).attachment.container_id; }

const json& Cluster::AddResult(const std::string& key) const { return pod(key).result; }

std::string Cluster::HostInterface(const std::string& key) const {
  const json& result = pod(key).result;
  if (!result.is_object()) return "";
  for (const json& i : result.value("interfaces", json::array())) {
    if (i.value("sandbox", "").empty() && i.value("name", "") != kBridge) return i.value("name", "");
  }
  return "";
}

Cluster::Node& Cluster::node(const std::string& name) { return nodes_.at(name); }
Cluster::PodRuntime& Cluster::pod(const std::string& key) { return pods_.at(key); }
const Cluster::PodRuntime& Cluster::pod(const std::string& key) const { return pods_.at(key); }

void Cluster::EmergencyCleanup() {
  std::lock_guard lock(mu_);
  for (pid_t pid : emergency_pids_) ::kill(pid, SIGKILL);
  for (auto it = emergency_netns_.rbegin(); it != emergency_netns_.rend(); ++it) {
    (void)nettest::RunCommand({"ip", "netns", "del", *it});
  }
  std::error_code ec;
  for (const std::string& d : emergency_dirs_) std::filesystem::remove_all(d, ec);
}

Cluster::~Cluster() {
  for (auto& [key, r] : pods_) r.servers.clear();
  for (auto& [key, r] : pods_) r.netns.reset();
  for (auto& [name, n] : nodes_) n.agent.Stop(SIGTERM);
  for (auto& [name, n] : nodes_) n.dpdk.Stop(SIGTERM);
  controller_.Stop(SIGTERM);
  uplinks_.clear();
  for (auto& [name, n] : nodes_) n.netns.reset();
  std::error_code ec;
  for (auto& [name, n] : nodes_) std::filesystem::remove_all(n.bpffs, ec);
  if (!tmp_.empty() && std::getenv("NETFENCE_E2E_KEEP_LOGS") == nullptr) std::filesystem::remove_all(tmp_, ec);
  UnregisterCleanup(cleanup_handle_);
}

}  // namespace netfence::e2e
