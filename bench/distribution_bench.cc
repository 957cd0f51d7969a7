// SPDX-License-Identifier: Apache-2.0
// Distribution: a single policy change -> every subscribed agent has acked the new generation,
// with 1, 100 and 1,000 simulated agents on loopback (the real controller core, gRPC service
// and agent client; one node per agent, pods of a 15k-pod / 10k-rule cluster spread over
// them). Per size: p50/p99 over repeated changes, and the same delivered as full snapshots
// to every agent (the peer: what a controller without deltas sends), measured in the same
// run. Also: bytes on the wire for a node's snapshot and for a one-rule delta, and, for one
// agent with a real XDP program (root), event -> tables swapped in the kernel.
//
//   distribution_bench [--agents 1,100,1000] [--changes 20] [--namespaces 1000]
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>

#include "bench/cluster_gen.h"
#include "controlplane/controller/controller_core.h"
#include "controlplane/controller/distribution_service.h"
#include "dataplane/xdp/xdp_program.h"
#include "tests/testing/sim_agent.h"

namespace netfence::bench {
namespace {

using Clock = std::chrono::steady_clock;
using source::Event;
using source::Op;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

// A loop on its own thread.
struct Loop {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~Loop() {
    work.reset();
    io.stop();
    thread.join();
  }
  template <typename F>
  auto Run(F&& f) {  // runs f on the loop and waits for its result
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto result = task.get_future();
    boost::asio::post(io, [&task] { task(); });
    return result.get();
  }
};

// Counts, per generation, the nodes that acked it (on the core's thread).
class AckWatch {
 public:
  void OnAck(uint64_t generation) {
    std::lock_guard lock(mu_);
    ++acks_[generation];
    cv_.notify_all();
  }
  // Waits until `nodes` nodes acked `generation`; false after 60 s.
  bool Wait(uint64_t generation, size_t nodes) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return acks_[generation] >= nodes; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, size_t> acks_;
};

// The controller side of a run: its loop, the core fed with `cluster`, the gRPC service on
// 127.0.0.1, and an AckWatch; plus the loop the simulated agents share.
struct Setup {
  Loop core_loop, agent_loop;
  AckWatch acks;
  std::unique_ptr<controller::ControllerCore> core;
  std::unique_ptr<controller::DistributionService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  explicit Setup(const k8s::ClusterState& cluster) {
    controller::CoreOptions co;
    co.on_ack = [this](const std::string&, uint64_t g) { acks.OnAck(g); };
    core = std::make_unique<controller::ControllerCore>(core_loop.io, co);
    service = std::make_unique<controller::DistributionService>(core_loop.io, *core);
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(service.get());
    b.SetMaxReceiveMessageSize(-1);
    server = b.BuildAndStart();
    std::vector<Event> all;
    for (const auto& o : cluster.namespaces) all.push_back({Op::kUpsert, o});
    for (const auto& o : cluster.pods) all.push_back({Op::kUpsert, o});
    for (const auto& o : cluster.policies) all.push_back({Op::kUpsert, o});
    core_loop.Run([&] {
      core->OnEvents(std::move(all));
      core->OnSynced();
      return 0;
    });
  }
  ~Setup() { server->Shutdown(std::chrono::system_clock::now()); }

  agent::ControllerClientOptions AgentOptions(const std::string& node) const {
    agent::ControllerClientOptions o;
    o.target = "127.0.0.1:" + std::to_string(port);
    o.node = node;
    return o;
  }
  // Applies one policy and waits until `agents` nodes acked its generation; ms, or -1.
  double Change(const k8s::NetworkPolicy& np, size_t agents) {
    const auto start = Clock::now();
    const uint64_t g = core_loop.Run([&] {
      core->OnEvents({{Op::kUpsert, np}});
      return core->generation() + 1;  // the generation the posted compile will make
    });
    if (!acks.Wait(g, agents)) return -1;
    return Ms(Clock::now() - start);
  }
};

// The ingress policy of namespace ns-(k % namespaces).
k8s::NetworkPolicy IngressPolicy(const k8s::ClusterState& cluster, int k, int namespaces) {
  for (const auto& p : cluster.policies) {
    if (p.meta.ns == "ns-" + std::to_string(k % namespaces) && p.meta.name == "ingress") return p;
  }
  std::abort();
}

struct Result {
  int agents = 0;
  double sync_s = 0;
  std::vector<double> delta_ms, snapshot_ms;
  size_t snapshot_bytes = 0, delta_bytes = 0, empty_delta_bytes = 0;
};

Result RunOnce(int agents, int changes, int namespaces, bool assemble) {
  Result res;
  res.agents = agents;
  k8s::ClusterState cluster = GenerateCluster({.namespaces = namespaces});
  for (size_t i = 0; i < cluster.pods.size(); ++i) cluster.pods[i].node_name = "node-" + std::to_string(i % agents);

  Setup setup(cluster);
  auto& core_loop = setup.core_loop;
  auto& agent_loop = setup.agent_loop;
  auto& core = *setup.core;
  std::vector<std::unique_ptr<testing::SimAgent>> sims;
  const auto t0 = Clock::now();
  agent_loop.Run([&] {
    for (int i = 0; i < agents; ++i) {
      sims.push_back(std::make_unique<testing::SimAgent>(agent_loop.io, setup.AgentOptions("node-" + std::to_string(i)),
                                                         nullptr, assemble));
      sims.back()->Start();
    }
    return 0;
  });
  // Every node at the current generation (their snapshots applied).
  for (;;) {
    const uint64_t g = core_loop.Run([&] { return core.generation(); });
    const bool all_there = agent_loop.Run(
        [&] { return std::all_of(sims.begin(), sims.end(), [&](const auto& s) { return s->generation() == g; }); });
    if (all_there) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  res.sync_s = std::chrono::duration<double>(Clock::now() - t0).count();
  res.snapshot_bytes = agent_loop.Run([&] { return sims[0]->last_update_bytes(); });
  if (const char* w = std::getenv("NETFENCE_BENCH_SETTLE_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(w)));

  // One policy change at a time: the ingress policy of one namespace gets another port.
  for (int i = 0; i < changes; ++i) {
    k8s::NetworkPolicy np = IngressPolicy(cluster, i, namespaces);
    np.ingress[0].ports[0].port->int_value = 81 + i;
    const double ms = setup.Change(np, static_cast<size_t>(agents));
    if (ms < 0) {
      std::fprintf(stderr, "change %d: not every agent acked in 60 s\n", i);
      break;
    }
    res.delta_ms.push_back(ms);
    if (std::getenv("NETFENCE_BENCH_VERBOSE")) {
      const double compile = core_loop.Run([&] { return core.metrics().last_compile_seconds; });
      std::fprintf(stderr, "  change %d: %.1f ms (compile and views %.1f ms)\n", i, res.delta_ms.back(), compile * 1e3);
    }
  }
  agent_loop.Run([&] {
    for (const auto& s : sims) {
      const size_t bytes = s->last_update_bytes();
      if (s->last_update_tables() > 0) {
        res.delta_bytes = std::max(res.delta_bytes, bytes);
      } else if (res.empty_delta_bytes == 0 || bytes < res.empty_delta_bytes) {
        res.empty_delta_bytes = bytes;
      }
    }
    return 0;
  });

  // The peer: the same change, but every agent gets its whole view (it asks for a snapshot).
  for (int i = 0; i < std::max(3, changes / 4); ++i) {
    k8s::NetworkPolicy np = IngressPolicy(cluster, i, namespaces);
    np.ingress[0].ports[0].port->int_value = 200 + i;
    agent_loop.Run([&] {
      for (const auto& s : sims) s->DropNextUpdate();  // the delta is dropped: resync below
      return 0;
    });
    const auto start = Clock::now();
    const uint64_t g = core_loop.Run([&] {
      core.OnEvents({{Op::kUpsert, np}});
      return core.generation() + 1;
    });
    // Give the delta time to be dropped, then every agent asks for the snapshot.
    for (;;) {
      const bool dropped = agent_loop.Run(
          [&] { return std::all_of(sims.begin(), sims.end(), [](const auto& s) { return !s->drop_pending(); }); });
      if (dropped) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    agent_loop.Run([&] {
      for (const auto& s : sims) s->client().Resync("benchmark: snapshot peer");
      return 0;
    });
    if (!setup.acks.Wait(g, static_cast<size_t>(agents))) break;
    res.snapshot_ms.push_back(Ms(Clock::now() - start));
  }
  agent_loop.Run([&] {
    sims.clear();
    return 0;
  });
  return res;
}

// One agent with the real XDP program: event -> tables live in the kernel. Program() rewrites
// the idle slot in place once the grace period after the last flip has passed
// (dataplane/xdp/slot_writer.h): changes a moment apart measure one change; back-to-back
// changes also wait for the previous flip's grace period.
void RunXdp(int changes, int namespaces) {
  if (Status s = xdp::ProbeBpf(); !s.ok()) {
    std::printf("xdp: skipped (%s)\n", s.message().c_str());
    return;
  }
  auto prog = xdp::XdpProgram::Load({});
  if (!prog.ok()) {
    std::printf("xdp: skipped (%s)\n", prog.status().message().c_str());
    return;
  }
  k8s::ClusterState cluster = GenerateCluster({.namespaces = namespaces});
  for (auto& p : cluster.pods) p.node_name = p.meta.ns == "ns-3" ? "node-0" : "node-other";
  Setup setup(cluster);
  auto& core_loop = setup.core_loop;
  auto& agent_loop = setup.agent_loop;
  std::unique_ptr<testing::SimAgent> sim;
  std::vector<double> program_ms;
  agent_loop.Run([&] {
    sim = std::make_unique<testing::SimAgent>(agent_loop.io, setup.AgentOptions("node-0"), nullptr, true,
                                              [&](const v1::RuleTables& t) {
                                                const auto s = Clock::now();
                                                if (Status st = (*prog)->Program(t); !st.ok())
                                                  std::fprintf(stderr, "xdp: %s\n", st.message().c_str());
                                                program_ms.push_back(Ms(Clock::now() - s));
                                              });
    sim->Start();
    return 0;
  });
  const uint64_t g0 = core_loop.Run([&] { return setup.core->generation(); });
  setup.acks.Wait(g0, 1);
  int port = 81;
  for (const bool burst : {false, true}) {
    program_ms.clear();
    const uint64_t rewrites = (*prog)->slot_rewrites();
    std::vector<double> ms;
    for (int i = 0; i < changes; ++i) {
      if (!burst) std::this_thread::sleep_for(std::chrono::milliseconds(40));
      k8s::NetworkPolicy np = IngressPolicy(cluster, 3, namespaces);
      np.ingress[0].ports[0].port->int_value = port++;
      const double t = setup.Change(np, 1);
      if (t < 0) break;
      ms.push_back(t);
    }
    std::printf(
        "xdp, 1 agent, policy change -> tables live in the kernel (XdpProgram::Program, acked), %s: "
        "p50 %.2f ms, p99 %.2f ms over %zu changes (Program() alone: p50 %.2f ms, p99 %.2f ms; %lu of %zu "
        "rewritten in place)\n",
        burst ? "back to back (each waits for the previous flip's RCU grace period)" : "changes 40 ms apart",
        Percentile(ms, 0.5), Percentile(ms, 0.99), ms.size(), Percentile(program_ms, 0.5), Percentile(program_ms, 0.99),
        static_cast<unsigned long>((*prog)->slot_rewrites() - rewrites), program_ms.size());
  }
  agent_loop.Run([&] {
    sim.reset();
    return 0;
  });
}

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) {
  using namespace netfence::bench;
  CLI::App app{"distribution_bench: policy change -> every agent acked, deltas vs full snapshots"};
  std::vector<int> agents = {1, 100, 1000};
  int changes = 20, namespaces = 1000;
  bool assemble = false, xdp = true;
  app.add_option("--agents", agents, "Agent counts")->delimiter(',');
  app.add_option("--changes", changes, "Policy changes per size");
  app.add_option("--namespaces", namespaces, "Cluster size (15 pods and 10 rules per namespace)");
  app.add_flag("--assemble,!--no-assemble", assemble,
               "Simulated agents also assemble their tables (all agents share one thread here, so this "
               "measures that thread, not the distribution)");
  app.add_flag("--xdp,!--no-xdp", xdp, "Also run one agent with the real XDP program (root)");
  CLI11_PARSE(app, argc, argv);
  std::printf(
      "cluster: %d namespaces (%d pods, %d policy rules); simulated agents share one thread, the controller "
      "another\n",
      namespaces, namespaces * 15 + 2, namespaces * 10);
  for (int n : agents) {
    Result r = RunOnce(n, changes, namespaces, assemble);
    const double p50 = Percentile(r.delta_ms, 0.5), p99 = Percentile(r.delta_ms, 0.99);
    const double s50 = Percentile(r.snapshot_ms, 0.5);
    std::printf(
        "%4d agents: initial sync %.2f s; policy change -> all acked: p50 %.1f ms, p99 %.1f ms (%zu changes); "
        "full snapshots to all (peer): p50 %.1f ms -> deltas %.1fx faster; bytes: node snapshot %zu, "
        "one-rule delta %zu (a node whose tables changed), %zu (the others)\n",
        n, r.sync_s, p50, p99, r.delta_ms.size(), s50, p50 > 0 ? s50 / p50 : 0, r.snapshot_bytes, r.delta_bytes,
        r.empty_delta_bytes);
    std::fflush(stdout);
  }
  if (xdp) RunXdp(changes, namespaces);
  return 0;
}
