// SPDX-License-Identifier: Apache-2.0
// netfence-live-demo (scripts/demo.sh): the example cluster as real network namespaces on two
// nodes, netfence-agent on each, connections open while the policies are applied: the
// reachability with real packets before and after, which open connections survive, how long
// the change took to reach the packets, and the live flow log of the database's node
// (netfencectl flows --agent ... --follow) saying what happened and which rule decided; with
// --graph FILE, the picture of who talked to whom (netfencectl flows --graph) over both nodes'
// flow logs.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "dataplane/flowlog/time_format.h"
#include "tests/e2e/cleanup.h"
#include "tests/e2e/cluster.h"
#include "tests/e2e/process.h"

namespace {

using namespace netfence;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void Say(const std::string& s) { std::printf("\n\033[1m== %s\033[0m\n", s.c_str()); }

// The matrix with real packets, and whether `netfencectl matrix` agrees.
bool ShowMatrix(e2e::Cluster& c, const std::string& bin_dir, uint16_t port) {
  reach::Matrix m = c.Probe(k8s::Protocol::kTCP, port, 500, 2);
  std::printf("%s", m.ToTable().c_str());
  auto ctl = e2e::RunProcess({bin_dir + "/netfencectl", "matrix", "--manifests", c.manifests(), "--protocol", "TCP",
                              "--port", std::to_string(port)},
                             {}, "");
  const bool agrees = ctl.ok() && ctl->exit_code == 0 && nlohmann::json::parse(ctl->out, nullptr, false) == m.ToJson();
  std::printf("real packets %s `netfencectl matrix` (TCP/%u)\n", agrees ? "agree with" : "DISAGREE with", port);
  return agrees;
}

// `netfencectl flows --agent TARGET --follow -o table ...` running, its lines printed as they come.
class LiveFlowLog {
 public:
  LiveFlowLog(const std::string& bin_dir, const std::string& target, const std::string& out,
              const std::vector<std::string>& filters)
      : out_(out) {
    std::vector<std::string> argv = {bin_dir + "/netfencectl", "flows", "--agent", target, "--follow", "-o", "table"};
    argv.insert(argv.end(), filters.begin(), filters.end());
    auto d = e2e::Daemon::Start(argv, out);
    if (!d.ok()) {
      std::printf("  (the live flow log could not start: %s)\n", d.status().message().c_str());
      return;
    }
    daemon_ = std::move(d).value();
    tail_ = std::thread([this] {
      std::ifstream in;
      std::string pending;
      while (!stop_) {
        if (!in.is_open()) in.open(out_);
        std::string line;
        while (in.is_open() && std::getline(in, line)) {
          if (in.eof()) {  // a partial line: keep it for later
            pending += line;
            break;
          }
          std::printf("  \033[36mflows |\033[0m %s\n", (pending + line).c_str());
          pending.clear();
        }
        in.clear();
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~LiveFlowLog() {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the last lines
    daemon_.Stop(SIGINT);
    stop_ = true;
    if (tail_.joinable()) tail_.join();
  }

 private:
  std::string out_;
  e2e::Daemon daemon_;
  std::atomic<bool> stop_{false};
  std::thread tail_;
};

}  // namespace

int main(int argc, char** argv) {
  e2e::InstallSignalCleanup();
  std::string cluster_dir = "examples/cluster", policies_dir = "examples/policies", bin_dir, graph;
  std::string dataplane = "xdp";
  CLI::App app{"netfence-live-demo: the example cluster enforced with real packets, policies applied under traffic"};
  app.add_option("--cluster", cluster_dir, "Namespaces and pods (pods on two nodes)")->check(CLI::ExistingDirectory);
  app.add_option("--policies", policies_dir, "Policies applied while connections are open")
      ->check(CLI::ExistingDirectory);
  app.add_option("--bin-dir", bin_dir, "Where netfence-agent, netfence-cni and netfencectl are");
  app.add_option("--graph", graph, "At the end, draw who talked to whom from both nodes' flow logs into FILE (.svg)");
  app.add_option("--dataplane", dataplane,
                 "The nodes' fast path: xdp (the kernel), or dpdk (a netfence-dpdk per node switching its pods)")
      ->check(CLI::IsMember({"xdp", "dpdk"}));
  CLI11_PARSE(app, argc, argv);
  if (bin_dir.empty()) bin_dir = fs::canonical("/proc/self/exe").parent_path().string();

  char tmpl[] = "/tmp/netfence-live-demo-XXXXXX";
  const std::string work = ::mkdtemp(tmpl);
  const int cleanup = e2e::RegisterCleanup([work] {
    fs::remove_all(work);
    fs::remove(work + "-flows.txt");
  });
  for (const auto& f : fs::directory_iterator(cluster_dir))
    fs::copy(f.path(), work + "/" + f.path().filename().string());

  e2e::ClusterOptions options;
  options.manifests = work;
  options.bin_dir = bin_dir;
  options.server_ports = {80, 5432, 8080, 9090};
  options.dataplane = dataplane;
  options.progress = [](const std::string& line) { std::printf("  %s\n", line.c_str()); };
  Say("Building the cluster: node namespaces, the CNI chain (bridge + host-local + netfence-cni) per pod" +
      std::string(dataplane == "dpdk" ? "; a netfence-dpdk per node takes each pod's veth (af_packet)" : ""));
  auto made = e2e::Cluster::Create(options);
  if (!made.ok()) {
    std::fprintf(stderr, "demo: %s\n", made.status().message().c_str());
    return 1;
  }
  e2e::Cluster& c = **made;
  bool ok = true;
  Say("Before any policy, real packets (TCP/5432)");
  ok &= ShowMatrix(c, bin_dir, 5432);

  Say("The live flow log of " + c.NodeOf("shop/db") + ", where shop/db runs: netfencectl flows --agent " +
      c.ObserveTarget(c.NodeOf("shop/db")) + " --follow --src-pod shop/api,dev/debug --dst-pod shop/db -o table");
  const std::string live_out = work + "-flows.txt";  // not in the watched manifest directory
  auto live =
      std::make_unique<LiveFlowLog>(bin_dir, c.ObserveTarget(c.NodeOf("shop/db")), live_out,
                                    std::vector<std::string>{"--src-pod", "shop/api,dev/debug", "--dst-pod", "shop/db",
                                                             "--since", flowlog::FormatTime(flowlog::WallNowNs())});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  Say("Opening connections to the database: shop/api -> shop/db and dev/debug -> shop/db (TCP/5432)");
  auto api = nettest::TcpSession::Open(c.PodNetns("shop/api"), c.PodAddress("shop/db"), 5432);
  auto debug = nettest::TcpSession::Open(c.PodNetns("dev/debug"), c.PodAddress("shop/db"), 5432);
  if (!api.ok() || !debug.ok()) {
    std::fprintf(stderr, "demo: could not open the sessions\n");
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<int> api_ok{0}, api_fail{0}, debug_ok{0}, debug_fail{0};
  std::thread traffic([&] {
    while (!stop) {
      ((*api)->Echo(200) ? api_ok : api_fail)++;
      ((*debug)->Echo(200) ? debug_ok : debug_fail)++;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::printf("  echoes so far: api->db %d ok, debug->db %d ok\n", api_ok.load(), debug_ok.load());

  Say("Applying " + policies_dir + " while both connections run");
  const auto applied = Clock::now();
  for (const auto& f : fs::directory_iterator(policies_dir)) {
    fs::copy(f.path(), work + "/." + f.path().filename().string());
    fs::rename(work + "/." + f.path().filename().string(), work + "/" + f.path().filename().string());
  }
  double changed_ms = -1;
  while (std::chrono::duration<double>(Clock::now() - applied).count() < 10) {
    // New connections from a third pod (so the flow log below shows only the two sessions).
    if (!c.ProbeOnce("monitoring/prometheus", "shop/db", k8s::Protocol::kTCP, 5432, 20)) {
      changed_ms = std::chrono::duration<double, std::milli>(Clock::now() - applied).count();
      break;
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  traffic.join();
  std::printf("  new connections follow the policies %.0f ms after the files were written\n", changed_ms);
  std::printf("  shop/api -> shop/db  (allowed by shop/app-chain)   : %d echoes ok, %d failed: %s\n", api_ok.load(),
              api_fail.load(), api_fail == 0 ? "the connection survived" : "BROKEN");
  std::printf("  dev/debug -> shop/db (not allowed any more):          %d echoes ok, %d failed: %s\n", debug_ok.load(),
              debug_fail.load(), (*debug)->Echo(300) ? "STILL OPEN" : "the connection was cut");
  ok &= api_fail == 0 && changed_ms >= 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the drops' aggregation window
  live.reset();  // the flow log shows: both connections admitted (no policy yet), the debug one
                 // cut by the new generation (revoked), its retransmissions denied (default-deny,
                 // with the policies that isolate shop/db); the api one still open
  fs::remove(live_out);

  for (uint16_t port : {5432, 8080}) {
    Say("After, real packets (TCP/" + std::to_string(port) + ")");
    ok &= ShowMatrix(c, bin_dir, port);
  }
  Say("Agents' view");
  for (const std::string& node : c.nodes()) {
    agent::Request status;
    status.op = "status";
    auto r = c.AgentCall(node, status);
    std::printf("  %s\n", r.ok() ? r->message.c_str() : r.status().message().c_str());
  }
  if (!graph.empty()) {
    std::vector<std::string> draw = {bin_dir + "/netfencectl", "flows", "--graph", graph, "--graph-by", "workload"};
    std::string files;
    for (const std::string& node : c.nodes()) {
      (void)c.StopAgent(node);  // its last records: open drops, updates of open connections
      draw.insert(draw.end(), {"--file", c.FlowLogPath(node)});
      files += " --file " + node + ".jsonl";
    }
    Say("Who talked to whom: netfencectl flows" + files + " --graph " + graph + " --graph-by workload");
    auto drawn = e2e::RunProcess(draw, {{"PATH", "/usr/local/bin:/usr/bin:/bin"}}, "");
    const bool drawn_ok = drawn.ok() && drawn->exit_code == 0;
    std::printf("  %s", drawn.ok() ? drawn->err.c_str() : (drawn.status().message() + "\n").c_str());
    if (drawn_ok) {
      std::printf(
          "  namespaces are clusters, workloads boxes; green edges got through, red dashed ones were denied;\n"
          "  each edge says its ports and counts, and (hover, in a browser) the policies that decided it\n");
    }
    ok &= drawn_ok;
  }
  made->reset();
  e2e::UnregisterCleanup(cleanup);
  fs::remove_all(work);
  return ok ? 0 : 1;
}
