// SPDX-License-Identifier: Apache-2.0
// netfence-agent: the node agent. Owns this node's XDP program and maps, serves the CNI plugin
// on a unix socket, and programs the node's tables from a table source: the controller's
// gRPC stream (--controller), or an embedded compiler over a manifest directory (--manifests).
// Writes the flow log (a rotating file and the gRPC Observe stream) and serves /metrics,
// /livez and /readyz.
#include <fcntl.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>

#include "common/base/signals.h"
#include "common/base/unique_fd.h"
#include "common/grpc/tls_credentials.h"
#include "common/http/http_server.h"
#include "controlplane/embedded/embedded_table_source.h"
#include "dataplane/agent/agent.h"
#include "dataplane/agent/flow_log.h"
#include "dataplane/agent/flow_metrics.h"
#include "dataplane/agent/pod_cidrs.h"
#include "dataplane/agent/remote_table_source.h"
#include "dataplane/agent/rule_hits.h"
#include "dataplane/agent/server.h"
#include "dataplane/dpdk/dpdk_fast_path.h"
#include "dataplane/flowlog/time_format.h"
#include "dataplane/xdp/xdp_program.h"

namespace {

using namespace netfence;

struct Flags {
  std::string node;
  std::string manifests;
  std::string default_enforcement = "enforce";
  std::string controller;
  std::string tls_cert, tls_key, tls_ca, tls_server_name;
  bool plaintext = false;
  std::string observe_tls_cert, observe_tls_key, observe_tls_ca;
  bool observe_plaintext = false;
  std::vector<std::string> uplinks;
  std::vector<std::string> pod_cidrs;
  std::string pod_cidrs_from_cni;
  std::string socket = agent::kDefaultSocket;
  std::string state_dir = "/run/netfence";
  std::string bpffs = "/sys/fs/bpf/netfence";
  std::string netns;
  std::string dataplane = "xdp";
  std::string dpdk_socket = "/run/netfence/dpdk.sock";
  std::string attach_mode = "auto";
  uint32_t conntrack_entries = 262144;
  int64_t conntrack_pod_quota = -1;  // -1: a quarter of conntrack_entries
  bool uninstall = false;
  std::string log_level = "info";
  // Flow log, Observe, metrics.
  bool no_flows = false;
  std::string flow_log = "/var/log/netfence/flows.jsonl";
  uint64_t flow_log_max_bytes = 100ull << 20;
  std::string flow_log_max_age = "1h";
  size_t flow_log_keep = 10;
  std::string flow_update_interval = "10s", flow_scan_interval = "1s", flow_drop_window = "2s", flow_close_grace = "1s";
  uint32_t flow_ring_bytes = 1u << 22;
  size_t flow_drop_tuples = 64;
  std::string observe_socket = "/run/netfence/observe.sock";
  std::string observe_address;
  size_t observe_history = 8192;
  std::string metrics = "127.0.0.1:9080";
  std::string rule_hits_interval = "10s";
};

// A --flow-* duration ("10s", "500ms") in ns.
StatusOr<int64_t> Duration(const char* flag, const std::string& text) {
  auto d = flowlog::ParseDuration(text);
  if (!d) return Status::Error(std::string(flag) + ": \"" + text + "\" is not a duration (10s, 500ms, 1h)");
  return *d;
}

// The flow log's options from the flags.
StatusOr<agent::FlowLogOptions> FlowOptions(const Flags& f) {
  agent::FlowLogOptions o;
  o.node = f.node;
  o.file = !f.flow_log.empty();
  o.file_options.path = f.flow_log;
  o.file_options.max_file_bytes = f.flow_log_max_bytes;
  o.file_options.keep_files = f.flow_log_keep;
  o.observe_history = f.observe_history;
  o.pipeline.drop_max_tuples = f.flow_drop_tuples;
  o.pipeline.handover_path = f.state_dir + "/flow-handover.jsonl";
  struct {
    const char* flag;
    const std::string* text;
    int64_t* out;
  } durations[] = {{"--flow-log-max-age", &f.flow_log_max_age, &o.file_options.max_file_age_ns},
                   {"--flow-update-interval", &f.flow_update_interval, &o.pipeline.update_interval_ns},
                   {"--flow-scan-interval", &f.flow_scan_interval, &o.pipeline.scan_interval_ns},
                   {"--flow-drop-window", &f.flow_drop_window, &o.pipeline.drop_window_ns},
                   {"--flow-close-grace", &f.flow_close_grace, &o.pipeline.close_grace_ns}};
  for (const auto& d : durations) {
    auto ns = Duration(d.flag, *d.text);
    if (!ns.ok()) return ns.status();
    *d.out = *ns;
  }
  if (!f.observe_socket.empty()) o.observe.push_back("unix:" + f.observe_socket);
  if (!f.observe_address.empty()) {
    // Its own certificate (a server's, for the address clients dial), else the agent's.
    auto pick = [](const std::string& own, const std::string& shared) { return own.empty() ? shared : own; };
    auto creds = tls::ServerCredentials(
        {pick(f.observe_tls_cert, f.tls_cert), pick(f.observe_tls_key, f.tls_key), pick(f.observe_tls_ca, f.tls_ca)},
        f.observe_plaintext);
    if (!creds.ok()) return Status::Error("--observe-address: " + creds.status().message());
    o.observe.push_back(f.observe_address);
    o.observe_tcp_credentials = *creds;
  }
  return o;
}

Status EnterNetns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::Error("--netns " + path + ": " + std::strerror(errno));
  if (::setns(fd.get(), CLONE_NEWNET) != 0)
    return Status::Error("--netns " + path + ": setns: " + std::strerror(errno));
  return Status::Ok();
}

void Unpin(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) std::filesystem::remove(entry.path(), ec);
  std::filesystem::remove(dir, ec);
}

// The fast path --dataplane names, loaded (and re-adopted from its pins) but not yet
// programmed: the agent makes the persisted view live first thing.
StatusOr<std::unique_ptr<fastpath::FastPath>> MakeFastPath(const Flags& f) {
  if (f.dataplane == "dpdk") {
    dpdk::DpdkFastPathOptions o;
    o.target = "unix:" + f.dpdk_socket;
    o.log = [](const std::string& m) { spdlog::info("{}", m); };
    auto dp = dpdk::DpdkFastPath::Connect(o);
    if (!dp.ok()) return Status::Error("--dataplane dpdk: " + dp.status().message());
    return std::unique_ptr<fastpath::FastPath>(std::move(dp).value());
  }
  xdp::LoadOptions load;
  load.pin_dir = f.bpffs;
  load.keep_attached = !f.uninstall;  // exit leaves enforcement in place for the next agent
  load.conntrack_entries = f.conntrack_entries;
  load.ct_pod_quota = f.conntrack_pod_quota < 0 ? std::max<uint32_t>(f.conntrack_entries / 4, 1)
                                                : static_cast<uint32_t>(f.conntrack_pod_quota);
  load.events = !f.no_flows;
  load.ring_bytes = f.flow_ring_bytes;
  load.attach_mode = f.attach_mode == "native"    ? xdp::AttachMode::kNative
                     : f.attach_mode == "generic" ? xdp::AttachMode::kGeneric
                                                  : xdp::AttachMode::kNativeOrGeneric;
  load.log = [](std::string_view m) { spdlog::warn("{}", m); };
  auto program = xdp::XdpProgram::Load(load);
  if (!program.ok()) return Status::Error("loading the XDP program: " + program.status().message());
  return std::unique_ptr<fastpath::FastPath>(std::move(program).value());
}

int Run(const Flags& f) {
  // Flags that need checking, before anything is loaded or attached.
  std::vector<IpPrefix> pod_cidrs;
  for (const std::string& text : f.pod_cidrs) {
    auto p = agent::ParsePodCidr(text);
    if (!p.ok()) {
      spdlog::error("--pod-cidr {}", p.status().message());
      return 2;
    }
    pod_cidrs.push_back(*p);
  }
  if (!f.pod_cidrs_from_cni.empty()) {
    auto from = agent::PodCidrsOfCniConfig(f.pod_cidrs_from_cni);
    if (!from.ok()) {
      spdlog::error("--pod-cidrs-from-cni: {}", from.status().message());
      return 2;
    }
    pod_cidrs.insert(pod_cidrs.end(), from->begin(), from->end());
  }
  if (!f.netns.empty()) {
    if (Status s = EnterNetns(f.netns); !s.ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(f.state_dir, ec);
  ::chmod(f.state_dir.c_str(), 0700);

  auto program = MakeFastPath(f);
  if (!program.ok()) {
    spdlog::error("{}", program.status().message());
    return 1;
  }
  agent::AgentOptions options;
  options.node = f.node;
  options.state_dir = f.state_dir;
  options.uplinks = f.uplinks;
  options.pod_cidrs = std::move(pod_cidrs);
  options.deleted_journal = agent::DeletedJournalDir(f.socket);
  auto info = [](const std::string& m) { spdlog::info("{}", m); };
  auto warn = [](const std::string& m) { spdlog::warn("{}", m); };
  boost::asio::io_context io;
  if (f.uninstall) {
    agent::Agent a(io, options, std::move(program).value(), nullptr, info, warn);
    Status s = a.Uninstall();
    Unpin(f.bpffs);
    std::filesystem::remove(f.state_dir + "/endpoints.json", ec);
    if (!s.ok()) spdlog::error("{}", s.message());
    spdlog::info("uninstalled: programs detached, {} unpinned", f.bpffs);
    return s.ok() ? 0 : 1;
  }

  std::unique_ptr<agent::TableSource> source;
  if (!f.controller.empty()) {
    auto creds = tls::ClientCredentials({f.tls_cert, f.tls_key, f.tls_ca}, f.plaintext);
    if (!creds.ok()) {
      spdlog::error("{}", creds.status().message());
      return 1;
    }
    agent::ControllerClientOptions co;
    co.target = f.controller;
    co.credentials = *creds;
    co.tls_server_name = f.tls_server_name;
    co.node = f.node;
    co.agent = "netfence-agent " NETFENCE_VERSION " " + f.dataplane;
    source = agent::MakeRemoteTableSource(io, co, info);
  } else {
    source = embedded::MakeEmbeddedTableSource(io, f.manifests, f.node, info, warn, f.default_enforcement == "audit");
  }
  int64_t hits_interval_ns = 0;
  if (f.rule_hits_interval != "0") {
    auto d = Duration("--rule-hits-interval", f.rule_hits_interval);
    if (!d.ok()) {
      spdlog::error("{}", d.status().message());
      return 1;
    }
    hits_interval_ns = *d;
  }
  // Before the flow log: its Observe server serves the book.
  auto hit_book = std::make_unique<agent::RuleHitBook>(**program, f.node);
  agent::TableSource* table_source = source.get();
  std::unique_ptr<agent::FlowLog> flows;
  if (!f.no_flows) {
    auto fo = FlowOptions(f);
    if (!fo.ok()) {
      spdlog::error("{}", fo.status().message());
      return 1;
    }
    fo->observe_also.push_back(hit_book.get());
    auto made = agent::FlowLog::Create(**program, std::move(fo).value());
    if (!made.ok()) {
      spdlog::error("{}", made.status().message());
      return 1;
    }
    flows = std::move(made).value();
  }
  auto agent = std::make_unique<agent::Agent>(io, options, std::move(program).value(), std::move(source), info, warn);
  // The pipeline reads the agent's program: it stops before the agent goes, on every path.
  struct StopFirst {
    agent::FlowLog* flows;
    ~StopFirst() {
      if (flows != nullptr) flows->Stop();
    }
  } stop_first{flows.get()};
  agent->set_on_live([&flows, &hit_book](uint64_t g, const v1::RuleTables& t, const tables::TableSet& v) {
    hit_book->OnLive(t);
    if (flows) flows->OnLive(g, t, v);
  });
  if (Status s = agent->Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  if (flows) {
    if (Status s = flows->Start(); !s.ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
  }
  std::unique_ptr<http::Server> ops;
  if (!f.metrics.empty()) {
    ops = std::make_unique<http::Server>(io, agent::OperationalRoutes(*agent, flows.get()));
    if (Status s = ops->Start(f.metrics); !s.ok()) {
      spdlog::error("--metrics-address: {}", s.message());
      return 1;
    }
  }
  agent::Server server(io, f.socket, [&](const agent::Request& r, std::function<void(agent::Response)> reply) {
    agent->Handle(r, std::move(reply));
  });
  if (Status s = server.Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  // The rule hit counters to the controller, every interval.
  boost::asio::steady_timer hits_timer(io);
  std::function<void()> report_hits = [&]() {
    hits_timer.expires_after(std::chrono::nanoseconds(hits_interval_ns));
    hits_timer.async_wait([&](boost::system::error_code stopped) {
      if (stopped) return;
      auto report = hit_book->Report();
      if (report.ok())
        table_source->ReportRuleHits(std::move(report).value());
      else
        spdlog::warn("rule hit counters: {}", report.status().message());
      report_hits();
    });
  };
  if (hits_interval_ns > 0) report_hits();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int signo) {
    if (f.dataplane == "dpdk") {
      spdlog::info("signal {}: exiting; netfence-dpdk keeps enforcing the live tables", signo);
    } else {
      spdlog::info("signal {}: exiting; the programs stay attached with the pinned maps in {}", signo, f.bpffs);
    }
    io.stop();
  });
  spdlog::info("node {}: serving the CNI plugin on {}; flow log {}; Observe {}; metrics {}", f.node, f.socket,
               f.no_flows ? "off" : (f.flow_log.empty() ? "stream only" : f.flow_log),
               f.no_flows || (f.observe_socket.empty() && f.observe_address.empty())
                   ? "off"
                   : f.observe_socket + (f.observe_address.empty() ? "" : " " + f.observe_address),
               f.metrics.empty() ? "off" : f.metrics);
  io.run();
  return 0;  // stop_first: the last records (open drops, updates of open connections), file flushed
}

}  // namespace

int main(int argc, char** argv) {
  netfence::UnblockStopSignals();  // before any thread: a parent's blocked SIGTERM must not stick
  Flags f;
  CLI::App app{"netfence-agent: enforce Kubernetes NetworkPolicy on this node's pods (XDP or DPDK fast path)"};
  app.set_version_flag("--version", NETFENCE_VERSION);
  const char* env_node = std::getenv("K8S_NODE_NAME");
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  f.node = env_node != nullptr ? env_node : host;
  app.add_option("--node", f.node,
                 "This node's name, as in the pods' spec.nodeName (default: $K8S_NODE_NAME, else the hostname)");
  auto* manifests = app.add_option("--manifests", f.manifests,
                                   "Tables from this directory of Namespace/Pod/NetworkPolicy manifests (YAML/JSON), "
                                   "compiled here and re-read on change (no controller needed)")
                        ->check(CLI::ExistingDirectory);
  auto* controller = app.add_option("--controller", f.controller,
                                    "Tables from netfence-controller at HOST:PORT (or unix:PATH), over mTLS")
                         ->excludes(manifests);
  manifests->excludes(controller);
  app.add_option("--default-enforcement", f.default_enforcement,
                 "With --manifests (the controller has its own): enforce, or audit for policies without their own "
                 "(or, for a NetworkPolicy, their namespace's) annotation netfence.io/enforcement")
      ->check(CLI::IsMember({"enforce", "audit"}))
      ->needs(manifests)
      ->capture_default_str();
  app.add_option("--tls-cert", f.tls_cert, "This agent's certificate (PEM); its common name must be the node name");
  app.add_option("--tls-key", f.tls_key, "Its private key (PEM)");
  app.add_option("--tls-ca", f.tls_ca, "The CA the controller's certificate must chain to (PEM)");
  app.add_option("--tls-server-name", f.tls_server_name,
                 "The name to check in the controller's certificate "
                 "(default: the host of --controller)");
  app.add_flag("--insecure-plaintext", f.plaintext, "Talk to the controller without TLS (tests, never production)");
  app.add_option("--uplink", f.uplinks,
                 "Interface towards other nodes: ingress policy of local pods applies there (repeatable)");
  app.add_option("--pod-cidr", f.pod_cidrs,
                 "This node's pod CIDR (Node.spec.podCIDRs, the host-local range; repeatable): an address inside it "
                 "that no registered pod holds is unreachable, so a pod is shielded from its interface plugin's ADD "
                 "on, not only from netfence-cni's; the node's own addresses there (the bridge's) stay reachable");
  app.add_option("--pod-cidrs-from-cni", f.pod_cidrs_from_cni,
                 "The same, read from this node's CNI configuration: the subnets of its host-local ranges "
                 "(e.g. /etc/cni/net.d/10-netfence.conflist)");
  app.add_option("--socket", f.socket, "Unix socket the CNI plugin talks to (created 0600)")->capture_default_str();
  app.add_option("--state-dir", f.state_dir, "Endpoint registry directory (tmpfs: forgotten at reboot)")
      ->capture_default_str();
  app.add_option("--bpffs", f.bpffs, "Where the maps are pinned (bpffs); a restarted agent re-adopts them")
      ->capture_default_str();
  app.add_option(
      "--netns", f.netns,
      "Enter this network namespace first (e.g. /run/netns/node-a); the mount namespace, and so bpffs, stays");
  app.add_option("--dataplane", f.dataplane,
                 "The fast path that enforces: xdp (the kernel's XDP and TC hooks) or dpdk (netfence-dpdk, a "
                 "user-space pipeline that switches the pods' interfaces; see --dpdk-socket)")
      ->check(CLI::IsMember({"xdp", "dpdk"}))
      ->capture_default_str();
  app.add_option("--dpdk-socket", f.dpdk_socket,
                 "With --dataplane dpdk: netfence-dpdk's unix socket (the agent waits up to 30 s for it)")
      ->capture_default_str();
  app.add_option("--attach-mode", f.attach_mode,
                 "XDP mode: native, generic, or auto (native, generic as a logged fallback)")
      ->check(CLI::IsMember({"native", "generic", "auto"}))
      ->capture_default_str();
  app.add_option("--conntrack-entries", f.conntrack_entries, "Connection tracking table size")->capture_default_str();
  app.add_option("--conntrack-pod-quota", f.conntrack_pod_quota,
                 "Connections one pod may hold in the table: a pod's new flow past it is dropped and "
                 "logged with reason conntrack-quota, so one pod's flood cannot evict the others' connections. "
                 "Default: a quarter of --conntrack-entries; 0: no quota")
      ->check(CLI::Range(int64_t{0}, int64_t{UINT32_MAX}));
  app.add_flag("--uninstall", f.uninstall,
               "Detach from every registered pod and uplink, unpin the maps, forget the registry, exit");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")->capture_default_str();
  app.add_flag("--no-flows", f.no_flows, "No flow log at all: no datapath events, no file, no Observe stream");
  app.add_option("--flow-log", f.flow_log,
                 "The flow log file (netfence.flow/v1 JSON lines, rotated next to it; \"\": "
                 "none, the Observe stream only)")
      ->capture_default_str();
  app.add_option("--flow-log-max-size", f.flow_log_max_bytes, "Rotate the file before it would grow past BYTES")
      ->capture_default_str();
  app.add_option("--flow-log-max-age", f.flow_log_max_age, "Rotate the file once it is this old")
      ->capture_default_str();
  app.add_option("--flow-log-keep", f.flow_log_keep, "Rotated files kept (0: all)")->capture_default_str();
  app.add_option("--flow-update-interval", f.flow_update_interval, "An update record per active connection this often")
      ->capture_default_str();
  app.add_option("--flow-scan-interval", f.flow_scan_interval,
                 "Read the connection table this often (ends are seen then)")
      ->capture_default_str();
  app.add_option("--flow-drop-window", f.flow_drop_window, "Drops of one 5-tuple within this window are one record")
      ->capture_default_str();
  app.add_option("--flow-drop-tuples", f.flow_drop_tuples,
                 "Per window, drop records of distinct 5-tuples per (source, destination, protocol, port, "
                 "reason); the excess is one `folded` record saying how many tuples and packets it holds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--flow-close-grace", f.flow_close_grace,
                 "A closed TCP connection ends after this long without packets")
      ->capture_default_str();
  app.add_option("--flow-ring-bytes", f.flow_ring_bytes,
                 "The datapath's event ring buffer (a power of two >= 4096); "
                 "what does not fit is counted and logged as lost")
      ->capture_default_str();
  app.add_option("--observe-socket", f.observe_socket,
                 "Serve the live flow log (gRPC FlowObserver) on this unix socket "
                 "(0600; \"\": no)")
      ->capture_default_str();
  app.add_option("--observe-address", f.observe_address,
                 "Also serve it on HOST:PORT, with mTLS (--observe-tls-*: clients "
                 "need a certificate from that CA), or plaintext with "
                 "--observe-insecure-plaintext");
  app.add_option("--observe-tls-cert", f.observe_tls_cert, "Certificate of --observe-address (default: --tls-cert)");
  app.add_option("--observe-tls-key", f.observe_tls_key, "Its key (default: --tls-key)");
  app.add_option("--observe-tls-ca", f.observe_tls_ca, "CA of Observe clients' certificates (default: --tls-ca)");
  app.add_flag("--observe-insecure-plaintext", f.observe_plaintext, "--observe-address without TLS (tests only)");
  app.add_option("--observe-history", f.observe_history, "Records the agent keeps in memory for Observe --since")
      ->capture_default_str();
  app.add_option("--rule-hits-interval", f.rule_hits_interval,
                 "How often the rule hit counters (connections per policy rule) go to the controller; 0: never "
                 "(netfencectl stats --agent reads them on the Observe socket at any time)")
      ->capture_default_str();
  app.add_option("--metrics-address", f.metrics,
                 "HOST:PORT for /metrics, /livez, /readyz (\"\": none); the node's own address for Prometheus "
                 "(the DaemonSet passes status.hostIP), never every address by default")
      ->capture_default_str();
  app.footer(
      "The agent leaves its programs attached when it exits: enforcement continues, and the next agent\n"
      "takes over the pinned maps (tables, connections, counters) without a gap.\n\n"
      "Examples:\n"
      "  # from the controller, on a node whose uplink is eth1\n"
      "  netfence-agent --node node-a --controller netfence-controller.kube-system:9443 \\\n"
      "      --tls-cert /etc/netfence/tls/agent.crt --tls-key /etc/netfence/tls/agent.key \\\n"
      "      --tls-ca /etc/netfence/tls/ca.crt --uplink eth1\n"
      "  # through the DPDK fast path (netfence-dpdk --bridge cni0 runs on the node)\n"
      "  netfence-agent --node node-a --manifests /etc/netfence/manifests --dataplane dpdk\n"
      "  # standalone, from a manifest directory\n"
      "  netfence-agent --node node-a --manifests /etc/netfence/manifests --uplink eth1\n"
      "  # the live flow log of this node\n"
      "  netfencectl flows --agent unix:/run/netfence/observe.sock --follow -o table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!f.uninstall && f.manifests.empty() && f.controller.empty()) {
    std::fprintf(stderr, "netfence-agent: one of --controller HOST:PORT or --manifests DIR is required\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ netfence-agent: %v");
  return Run(f);
}
