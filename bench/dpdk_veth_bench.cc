// SPDX-License-Identifier: Apache-2.0
// Real veth traffic: the DPDK pipeline taking an interface through net_af_packet or net_af_xdp
// against the XDP program on the same interface, same rig, same generator, same table (5,000
// rules), in one run:
//
//   ns A: a --veth--> b :ns B      the generator: an XDP_TX program run on a with
//                                  BPF_F_TEST_XDP_LIVE_FRAMES (pinned to CPU 0), so every
//                                  frame crosses the veth and is received at b
// (or, where the kernel refuses live frames, a packet socket sending with sendmmsg)
//   at b, one of:
//     xdp_drop + count             the peer: what b can receive at all
//     netfence XDP (native)        allowed flow (conntrack hit -> PASS to B's stack), denied
//                                  new flow (-> DROP)
//     netfence-dpdk, b taken as the node's uplink by af_packet or af_xdp (its worker on CPU 1):
//                                  the same two flows; the allowed one is switched to no other
//                                  port (the pipeline has only b), so both end in the pipeline
//
// Received Mpps is what the program or the pipeline decided per second. The vdevs copy every
// frame (af_packet into its mmap ring, af_xdp into its UMEM: veth has no zero-copy), and the
// kernel's receive path runs before them on the generator's CPU: that is the price of taking a
// kernel interface, and what this measures. Needs root. Run by scripts/bench.sh.
//
//   dpdk_veth_bench [--seconds=S] [--rounds=N] [--quick]
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <rte_ethdev.h>
#include <signal.h>

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_main.h"
#include "bench/cluster_gen.h"
#include "bench/xdp_bench_util.h"
#include "controlplane/compiler/compiler.h"
#include "dataplane/dpdk/datapath.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/xdp/xdp_program.h"

namespace netfence::bench {
namespace {

constexpr int kGroups = 64;
constexpr int kRules = 5000;

struct Options {
  double seconds = 2.0;
  int rounds = 3;
};

// What a configuration has decided so far (it counts its own packets).
struct Config {
  std::string name;
  const Frame* frame = nullptr;
  std::function<uint64_t()> seen;
};

uint64_t Decided(const std::array<uint64_t, NF_COUNTERS>& c) {
  uint64_t n = 0;
  for (int i = 0; i <= NF_CNT_DROP; ++i) n += c[static_cast<size_t>(i)];
  return n;
}

// The generator: BPF_F_TEST_XDP_LIVE_FRAMES when the kernel lets us (several Mpps), else a
// packet socket on a sending batches of 64 with sendmmsg, bypassing the qdisc (~1 Mpps per
// core: then every configuration faster than that is capped by it, and says so).
struct Generator {
  int xdp_tx_fd = -1;  // -1: packet socket
  const char* name() const { return xdp_tx_fd >= 0 ? "live frames (XDP_TX at a)" : "packet socket sendmmsg at a"; }
};

StatusOr<LiveRun> SendFrames(const VethRig& rig, const Frame& frame, double seconds) {
  return nettest::InNetns(*rig.ns_a, [&]() -> StatusOr<LiveRun> {
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return Status::Error(std::string("packet socket: ") + std::strerror(errno));
    const int one = 1;
    (void)::setsockopt(fd.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = rig.ifindex_a;
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, frame.data(), 6);
    constexpr int kBatch = 64;
    iovec iov{const_cast<uint8_t*>(frame.data()), frame.size()};
    mmsghdr msgs[kBatch] = {};
    for (mmsghdr& m : msgs) {
      m.msg_hdr.msg_name = &to;
      m.msg_hdr.msg_namelen = sizeof(to);
      m.msg_hdr.msg_iov = &iov;
      m.msg_hdr.msg_iovlen = 1;
    }
    LiveRun run;
    const auto start = std::chrono::steady_clock::now();
    do {
      for (int k = 0; k < 64; ++k) {
        const int n = ::sendmmsg(fd.get(), msgs, kBatch, 0);
        if (n < 0 && errno != ENOBUFS && errno != EAGAIN) {
          return Status::Error(std::string("sendmmsg: ") + std::strerror(errno));
        }
        run.sent += n > 0 ? static_cast<uint64_t>(n) : 0;
      }
      run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (run.seconds < seconds);
    return run;
  });
}

LiveRun Generate(const VethRig& rig, const Generator& g, const Frame& frame, double seconds) {
  if (g.xdp_tx_fd >= 0) return Must(GenerateLive(*rig.ns_a, rig.ifindex_a, g.xdp_tx_fd, frame, seconds, 1u << 16));
  return Must(SendFrames(rig, frame, seconds));
}

// One configuration: a warm-up (which creates the allowed flow's entry), then `seconds` of
// frames; its received and the generator's sent Mpps.
std::pair<double, double> Measure(const VethRig& rig, const Generator& g, const Config& c, double seconds) {
  (void)Generate(rig, g, *c.frame, 0.1);
  const uint64_t before = c.seen();
  const LiveRun run = Generate(rig, g, *c.frame, seconds);
  return {static_cast<double>(c.seen() - before) / run.seconds / 1e6,
          static_cast<double>(run.sent) / run.seconds / 1e6};
}

// netfence-dpdk's pipeline in this process with b as its uplink, taken in B's namespace.
struct DpdkAtB {
  std::unique_ptr<dpdk::Datapath> dp;
  const VethRig* rig = nullptr;
  fastpath::Port port;
  ~DpdkAtB() {
    if (!dp) return;
    (void)nettest::InNetns(*rig->ns_b, [&] {
      Status s = dp->Unplug(port);
      dp->Stop();
      return s;
    });
  }
};

std::unique_ptr<DpdkAtB> TakeB(const VethRig& rig, const std::string& driver, const v1::RuleTables& tables) {
  auto d = std::make_unique<DpdkAtB>();
  dpdk::DatapathOptions o;
  o.driver = driver;
  o.events = false;  // as the XDP configurations' denied flow (events off)
  d->dp = Must(dpdk::Datapath::Create(o));
  d->rig = &rig;
  Must(d->dp->Program(tables));
  Must(d->dp->Start());
  d->port.ifindex = rig.ifindex_b;
  d->port.name = rig.veth->name(nettest::VethPair::Side::kB);
  Must(nettest::InNetns(*rig.ns_b, [&] { return d->dp->PlugUplink(d->port); }));
  return d;
}

int Main(const Options& o) {
  dpdk::EalOptions eal;
  eal.program = "netfence-dpdk-veth-bench";
  eal.workers = 1;
  eal.memory_mb = 512;
  Must(dpdk::InitEal(eal));
  Must(PinToCpu(0));  // the generator; the worker runs on the last CPU

  auto rig = Must(VethRig::Create());
  auto gen = Must(LoadReturnProgram(XDP_TX));
  Generator g;
  {
    auto drop_probe = Must(LoadCountingProgram(XDP_DROP));
    auto at = Must(AttachAtB(*rig, drop_probe.prog.get()));
    Frame probe = TcpFrame({*IpAddr::Parse("10.0.0.1"), *IpAddr::Parse("10.0.0.2")}, rig->mac_b, rig->mac_a);
    if (GenerateLive(*rig->ns_a, rig->ifindex_a, gen.get(), probe, 0.01, 64).ok()) g.xdp_tx_fd = gen.get();
  }
  auto drop_peer = Must(LoadCountingProgram(XDP_DROP));
  WideTable w = GenerateWideTable(kRules, kGroups);
  v1::RuleTables tables = compiler::Compile(w.state);
  tables.set_generation(1);
  const int rule = 2500, group = rule % kGroups, port = 1000 + rule % 4000, other = (group + 1) % kGroups;
  if (FirstWideRule(kRules, kGroups, group, port) < 0 || FirstWideRule(kRules, kGroups, other, port) >= 0) {
    Fail(Status::Error("the wide table does not look as expected"));
  }
  const auto dport = static_cast<uint16_t>(port);
  const Frame allowed = TcpFrame({w.clients[group], w.server, 40000, dport, 0x10}, rig->mac_b, rig->mac_a);
  const Frame denied = TcpFrame({w.clients[other], w.server, 40000, dport, 0x02}, rig->mac_b, rig->mac_a);

  std::printf(
      "[veth] frames from a (CPU 0) over veth to b, generator: %s; %d rules; %.1f s per configuration, "
      "median of %d\n",
      g.name(), kRules, o.seconds, o.rounds);
  xdp::LoadOptions lo;
  lo.events = false;
  lo.log = [](std::string_view) {};
  auto xdp_prog = Must(xdp::XdpProgram::Load(lo));
  Must(xdp_prog->Program(tables));

  struct Row {
    std::string name;
    std::vector<double> mpps, sent;
    void Add(std::pair<double, double> m) {
      mpps.push_back(m.first);
      sent.push_back(m.second);
    }
  };
  std::vector<Row> rows;
  for (const char* name :
       {"xdp_drop + count (peer)", "netfence XDP: allowed, conntrack hit -> PASS",
        "netfence XDP: denied new flow -> DROP", "netfence-dpdk af_packet: allowed, conntrack hit",
        "netfence-dpdk af_packet: denied new flow -> drop", "netfence-dpdk af_xdp: allowed, conntrack hit",
        "netfence-dpdk af_xdp: denied new flow -> drop"}) {
    rows.push_back(Row{name, {}, {}});
  }
  for (int round = 0; round < o.rounds; ++round) {
    {
      auto at = Must(AttachAtB(*rig, drop_peer.prog.get()));
      rows[0].Add(Measure(*rig, g, {"", &denied, [&] { return drop_peer.Count(); }}, o.seconds));
    }
    {
      xdp::XdpProgram* p = xdp_prog.get();
      auto at = Must(AttachAtB(*rig, *p));
      auto seen = [p] { return Decided(p->ReadCounters()); };
      Must(p->FlushConntrack());
      rows[1].Add(Measure(*rig, g, {"", &allowed, seen}, o.seconds));
      rows[2].Add(Measure(*rig, g, {"", &denied, seen}, o.seconds));
    }
  }
  // Each vdev takes b once for all its rounds: DPDK 22.11's af_xdp PMD never closes its XSK
  // socket when the port closes (seen with strace), so b's queue 0 stays bound and taking b
  // again with af_xdp in this process fails with EBUSY (docs/dpdk.md).
  for (const char* driver : {"af_packet", "af_xdp"}) {
    const size_t at = std::string(driver) == "af_packet" ? 3 : 5;
    auto d = TakeB(*rig, driver, tables);
    auto seen = [&d] { return Decided(d->dp->ReadCounters()); };
    for (int round = 0; round < o.rounds; ++round) {
      rows[at].Add(Measure(*rig, g, {"", &allowed, seen}, o.seconds));
      rows[at + 1].Add(Measure(*rig, g, {"", &denied, seen}, o.seconds));
    }
    const auto c = d->dp->ReadCounters();
    if (c[NF_CNT_PASS_CT] == 0 || c[NF_CNT_DROP] == 0) {
      Fail(Status::Error(std::string(driver) + ": the pipeline saw no conntrack hit or no drop"));
    }
  }
  std::printf("  %-52s %9s %9s   %s\n", "configuration", "rx Mpps", "sent Mpps", "ratio");
  const double peer = Median(rows[0].mpps), xdp_hit = Median(rows[1].mpps), xdp_drop = Median(rows[2].mpps);
  for (size_t i = 0; i < rows.size(); ++i) {
    const double m = Median(rows[i].mpps);
    char ratio[96] = "(peer)";
    if (i == 1 || i == 2) std::snprintf(ratio, sizeof(ratio), "%.2fx of xdp_drop", m / peer);
    if (i >= 3) {
      const double xdp_same = (i % 2 == 1) ? xdp_hit : xdp_drop;
      std::snprintf(ratio, sizeof(ratio), "%.2fx of netfence XDP (same flow), %.2fx of xdp_drop", m / xdp_same,
                    m / peer);
    }
    std::printf("  %-52s %9.3f %9.3f   %s\n", rows[i].name.c_str(), m, Median(rows[i].sent), ratio);
  }
  return 0;
}

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  netfence::bench::Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.seconds = 0.3;
      o.rounds = 1;
    } else if (a.rfind("--seconds=", 0) == 0) {
      o.seconds = std::atof(a.c_str() + 10);
    } else if (a.rfind("--rounds=", 0) == 0) {
      o.rounds = std::max(1, std::atoi(a.c_str() + 9));
    } else {
      std::fprintf(stderr, "usage: dpdk_veth_bench [--seconds=S] [--rounds=N] [--quick]\n");
      return 2;
    }
  }
  // Errors and SIGINT/SIGTERM unwind to here (bench_main.h): attachments, ports, the veth pair
  // and the namespaces are removed on the way.
  netfence::bench::CatchInterrupts();
  const int rc = netfence::bench::RunReportingFailures("dpdk_veth_bench", [&] { return netfence::bench::Main(o); });
  netfence::dpdk::CleanupEal();
  return rc;
}
