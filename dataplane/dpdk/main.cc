// SPDX-License-Identifier: Apache-2.0
// netfence-dpdk: the DPDK fast path of a node. Owns the EAL, the ports (pods' veths, the
// uplinks and the node port, taken over through af_packet or af_xdp vdevs) and the workers
// that enforce the compiled tables on every packet and switch what they allow. netfence-agent
// (--dataplane dpdk) programs it over a unix socket (netfence.v1.Datapath); see docs/dpdk.md.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "common/base/signals.h"
#include "common/base/unique_fd.h"
#include "dataplane/dpdk/datapath.h"
#include "dataplane/dpdk/datapath_service.h"
#include "dataplane/dpdk/eal.h"

namespace {

using namespace netfence;

struct Flags {
  std::string socket = "/run/netfence/dpdk.sock";
  std::string netns;
  std::string bridge;
  std::string node_port = "nfdpdk0";
  unsigned workers = 1;
  std::string worker_cpus;
  unsigned memory_mb = 512;
  std::string huge_dir;
  uint32_t mbufs = 16383;
  uint32_t conntrack_entries = 262144;
  int64_t conntrack_pod_quota = -1;  // -1: a quarter of conntrack_entries
  uint32_t verdict_cache = 4096;
  uint32_t event_ring = 32768;
  uint32_t burst = 32;
  uint32_t idle_sleep_us = 0;
  std::string driver = "af_packet";
  std::string log_level = "info";
  std::vector<std::string> eal;
};

std::string NewInstance() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%08x%08x", rd(), rd());
  return buf;
}

int Run(const Flags& f) {
  if (!f.netns.empty()) {
    // Before the EAL: every thread it starts lives in the node's namespace, and so do the
    // packet sockets of the ports.
    UniqueFd fd(::open(f.netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || ::setns(fd.get(), CLONE_NEWNET) != 0) {
      spdlog::error("--netns {}: {}", f.netns, std::strerror(errno));
      return 1;
    }
  }
  dpdk::EalOptions eal;
  eal.program = "netfence-dpdk";
  eal.workers = f.workers;
  eal.memory_mb = f.memory_mb;
  eal.hugepages_dir = f.huge_dir;
  eal.extra = f.eal;
  if (!f.worker_cpus.empty()) {
    auto cpus = dpdk::ParseCpuList(f.worker_cpus);
    if (!cpus.ok()) {
      spdlog::error("--worker-cpus: {}", cpus.status().message());
      return 2;
    }
    eal.worker_cpus = *cpus;
  }
  // Stop signals are taken synchronously by the main thread (sigtimedwait below); every
  // thread started from here on inherits the mask.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  if (Status s = dpdk::InitEal(eal); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  dpdk::DatapathOptions o;
  o.conntrack_entries = f.conntrack_entries;
  o.verdict_cache = f.verdict_cache;
  o.ct_pod_quota = f.conntrack_pod_quota < 0 ? std::max<uint32_t>(f.conntrack_entries / 4, 1)
                                             : static_cast<uint32_t>(f.conntrack_pod_quota);
  o.event_ring = f.event_ring;
  o.mbufs = f.mbufs;
  o.burst = f.burst;
  o.idle_sleep_max_us = f.idle_sleep_us;
  o.driver = f.driver;
  o.bridge = f.bridge;
  o.node_port = f.node_port;
  o.log = [](const std::string& m) { spdlog::info("{}", m); };
  int rc = 0;
  {
    auto dp = dpdk::Datapath::Create(o);
    if (!dp.ok()) {
      spdlog::error("{}", dp.status().message());
      dpdk::CleanupEal();
      return 1;
    }
    if (Status s = (*dp)->Start(); !s.ok()) {
      spdlog::error("{}", s.message());
      (*dp)->Stop();
      dpdk::CleanupEal();
      return 1;
    }
    const std::string instance = NewInstance();
    dpdk::DatapathService service(dp->get(), instance);
    auto server = dpdk::ServeDatapath("unix:" + f.socket, &service);
    if (!server.ok()) {
      spdlog::error("--socket {}: {}", f.socket, server.status().message());
      rc = 1;
    } else {
      spdlog::info("instance {}: {} workers, {} ports; serving the agent on {}; no tables yet (IP packets drop)",
                   instance, (*dp)->workers(), f.driver, f.socket);
      for (;;) {
        timespec second{1, 0};
        const int signo = sigtimedwait(&stop, nullptr, &second);
        if (signo == SIGINT || signo == SIGTERM) {
          spdlog::info("signal {}: stopping; the pods' interfaces stay off their bridge (fail closed)", signo);
          break;
        }
        (*dp)->Housekeeping();
      }
      (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      std::error_code ec;
      std::filesystem::remove(f.socket, ec);
    }
    (*dp)->Stop();
  }
  dpdk::CleanupEal();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  netfence::UnblockStopSignals();
  Flags f;
  CLI::App app{
      "netfence-dpdk: the DPDK fast path of a node (tables, ports and workers; driven by netfence-agent "
      "--dataplane dpdk)"};
  app.set_version_flag("--version", NETFENCE_VERSION);
  app.add_option("--socket", f.socket, "Unix socket the agent programs this process on (created 0600)")
      ->capture_default_str();
  app.add_option("--netns", f.netns, "Enter this network namespace first (the node's, e.g. /run/netns/node-a)");
  app.add_option("--bridge", f.bridge,
                 "The node's bridge (the CNI bridge plugin's): a node port (a veth pair, one end on it) joins the "
                 "node's own stack to the switch");
  app.add_option("--node-port", f.node_port, "Name of the node port's pipeline end (its bridge end: NAME-br)")
      ->capture_default_str();
  app.add_option("--workers", f.workers, "Worker lcores, one busy-polling thread each")->capture_default_str();
  app.add_option("--worker-cpus", f.worker_cpus, "CPUs of the workers (\"1\", \"2-3\"; default: the last ones)");
  app.add_option("--memory", f.memory_mb, "DPDK memory in MB (plain memory unless --huge-dir)")->capture_default_str();
  app.add_option("--huge-dir", f.huge_dir,
                 "Take the memory from hugepages mounted here (hugetlbfs, e.g. /dev/hugepages; pages reserved "
                 "in /proc/sys/vm/nr_hugepages): fewer TLB misses per packet. Default: plain memory (--no-huge)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--mbufs", f.mbufs, "Packet buffers (af_xdp needs ~2048 per port)")->capture_default_str();
  app.add_option("--conntrack-entries", f.conntrack_entries, "Connection tracking table size")->capture_default_str();
  app.add_option("--verdict-cache", f.verdict_cache,
                 "Questions each worker remembers the classifier's answer to, under the live tables (a client's "
                 "next connection to the same service is one probe); 0: classify every new flow")
      ->capture_default_str();
  app.add_option("--conntrack-pod-quota", f.conntrack_pod_quota,
                 "Connections one pod may hold in the table: a pod's new flow past it is dropped and logged with "
                 "reason conntrack-quota, so one pod cannot fill the table for the others. Default: a quarter of "
                 "--conntrack-entries; 0: no quota")
      ->check(CLI::Range(int64_t{0}, int64_t{UINT32_MAX}));
  app.add_option("--event-ring", f.event_ring,
                 "Events each worker's ring holds for the flow log; what does not fit is counted as lost")
      ->capture_default_str();
  app.add_option("--burst", f.burst, "Packets per receive burst (at most 64)")->capture_default_str();
  app.add_option("--idle-sleep-us", f.idle_sleep_us,
                 "Let an idle worker sleep up to this long between polls (0: poll without pause, a full core each)")
      ->capture_default_str();
  app.add_option("--driver", f.driver, "How interfaces are taken: af_packet, or af_xdp (no other XDP program there)")
      ->check(CLI::IsMember({"af_packet", "af_xdp"}))
      ->capture_default_str();
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")->capture_default_str();
  app.add_option("eal", f.eal, "More EAL arguments, after --");
  app.footer(
      "Nothing is enforced until the agent programs tables: IP packets are dropped (no-tables). A pod's\n"
      "interface, taken off its bridge when plugged, is switched by this process alone: when it stops (or\n"
      "crashes), the pod is cut off (fail closed) until a netfence-dpdk is running again, which the agent\n"
      "notices and programs with its tables and ports. Only an unplug (pod deleted, agent --uninstall) puts\n"
      "an interface back on its bridge.\n\n"
      "Example (the node's bridge is cni0; one worker on CPU 3):\n"
      "  netfence-dpdk --bridge cni0 --worker-cpus 3 &\n"
      "  netfence-agent --node node-a --controller ... --dataplane dpdk --dpdk-socket /run/netfence/dpdk.sock");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ netfence-dpdk: %v");
  return Run(f);
}
