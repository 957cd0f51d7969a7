// SPDX-License-Identifier: Apache-2.0
// What the flow log costs the datapath, and how many new flows it logs without loss, as
// ratios and figures measured in one run (see kHeader). Needs root; run by scripts/bench.sh.
//   flowlog_bench [--quick]
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_main.h"
#include "bench/cluster_gen.h"
#include "bench/xdp_bench_util.h"
#include "controlplane/compiler/compiler.h"
#include "dataplane/fastpath/conntrack_key.h"
#include "dataplane/flowlog/file_sink.h"
#include "dataplane/flowlog/pipeline/pipeline.h"
#include "dataplane/flowlog/record_hub.h"
#include "dataplane/xdp/map_entries.h"
#include "dataplane/xdp/xdp_program.h"

namespace netfence::bench {
namespace {

constexpr const char* kHeader = R"(Figures (peers measured in this run):
  [1] Live frames (BPF_F_TEST_XDP_LIVE_FRAMES over a veth pair, native XDP at b, the
      generator and b's NAPI poll pinned to one CPU), an allowed TCP flow on its conntrack
      entry, 5k-rule table, conntrack holding 100k other established connections.
      off: the program loaded with events=false, no pipeline.
      on:  events=true and the agent's pipeline running (not pinned: the scheduler puts it on
           another CPU), writing the rotating file (tmpfs) and the Observe hub, reading the
           whole conntrack table every second, update records every second.
      Alternating rounds; rate = packets the program counted / wall time; on/off ratio.
  [2] New flows logged with zero loss: distinct allowed SYNs (new 5-tuples) run through the
      program by BPF_PROG_TEST_RUN from a sender pinned to one CPU at a fixed rate for a few
      seconds, the pipeline and the file writer on the other CPU; a rate passes when the
      datapath lost no event (ring buffer 4 MiB), the pipeline read each one and every
      start record reached the file.)";

struct Options {
  bool quick = false;
  int rounds() const { return quick ? 1 : 5; }
  double live_seconds() const { return quick ? 0.3 : 2.0; }
  double step_seconds() const { return quick ? 0.5 : 3.0; }
  int background() const { return quick ? 10000 : 100000; }
};

struct Setup {
  WideTable w;
  v1::RuleTables tables;
  tables::TableSet view;  // what the pipeline names things from
};

Setup MakeSetup() {
  Setup s;
  s.w = GenerateWideTable(5000, 64);
  s.tables = compiler::Compile(s.w.state);
  s.tables.set_generation(1);
  for (int i = 0; i < s.tables.ipcache_identities_size(); ++i) {
    IpAddr a;
    std::memcpy(a.bytes.data(), s.tables.ipcache_addrs().data() + 16 * i, 16);
    v1::IpcacheEntry& e = s.view.ipcache[a];
    e.set_addr(s.tables.ipcache_addrs().substr(16 * static_cast<size_t>(i), 16));
    e.set_identity(s.tables.ipcache_identities(i));
  }
  for (const auto& id : s.tables.identities()) s.view.identities[id.id()] = id;
  return s;
}

std::unique_ptr<xdp::XdpProgram> Load(const Setup& s, bool events, uint32_t conntrack) {
  xdp::LoadOptions o;
  o.events = events;
  o.conntrack_entries = conntrack;
  o.log = [](std::string_view) {};
  auto p = Must(xdp::XdpProgram::Load(o));
  Must(p->Program(s.tables));
  return p;
}

uint64_t CoarseNow() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// `n` established connections (as the program would have admitted them) in its table.
void FillConntrack(xdp::XdpProgram& p, const Setup& s, int n) {
  nf_ct_entry e{};
  e.created_ns = e.last_seen_ns = CoarseNow();
  e.packets[0] = e.packets[1] = 1;
  e.bytes[0] = e.bytes[1] = 60;
  e.epoch = p.live_epoch();
  e.flags = NF_CT_SEEN_REPLY;
  e.egress_rule = NF_NO_RULE;
  e.ingress_rule = 0;
  for (int i = 0; i < n; ++i) {
    const IpAddr src = s.w.clients[static_cast<size_t>(i % 64)];
    const nf_ct_key k = fastpath::ConntrackKey(src, static_cast<uint16_t>(2000 + i / 64), s.w.server, 1000, 6);
    if (Status st = p.WriteConntrack(k, e); !st.ok()) Fail(st);
  }
}

// The agent's sinks: the rotating file (in a tmpfs directory) and the Observe hub.
struct Sinks {
  std::string dir;
  std::unique_ptr<flowlog::FileSink> file;
  std::unique_ptr<flowlog::FileRecordSink> file_sink;
  flowlog::RecordHub hub{{.history = 8192, .queue = 8192, .node = "bench"}};
  explicit Sinks(const std::string& d) : dir(d) {
    std::filesystem::create_directories(dir);
    flowlog::FileSinkOptions o;
    o.path = dir + "/flows.jsonl";
    o.max_file_bytes = 64ull << 20;
    o.keep_files = 2;
    o.node = "bench";
    file = Must(flowlog::FileSink::Open(o));
    file_sink = std::make_unique<flowlog::FileRecordSink>(file.get());
  }
  ~Sinks() {
    file.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::vector<flowlog::RecordSink*> list() { return {file_sink.get(), &hub}; }
};

std::unique_ptr<flowlog::Pipeline> StartPipeline(const xdp::XdpProgram& p, const Setup& s, Sinks* sinks,
                                                 int64_t scan_ns, int64_t update_ns) {
  flowlog::PipelineOptions o;
  o.node = "bench";
  o.scan_interval_ns = scan_ns;
  o.update_interval_ns = update_ns;
  auto pipeline = Must(flowlog::Pipeline::Create(p, o, sinks->list()));
  pipeline->OnLive(1, s.tables, s.view);
  Must(pipeline->Start());
  return pipeline;
}

uint64_t Counted(const xdp::XdpProgram& p) {
  const xdp::Counters c = p.ReadCounters();
  uint64_t n = 0;
  for (int i = 0; i <= NF_CNT_DROP; ++i) n += c[static_cast<size_t>(i)];
  return n;
}

// ---- [1] logging on vs off, live frames -------------------------------------------------------

void RunLive(const Options& o, const Setup& s, int cpu) {
  std::printf("\n[1] Live frames, allowed flow on conntrack: %.1f s per configuration, %d alternating rounds\n",
              o.live_seconds(), o.rounds());
  auto off = Load(s, false, 262144);
  auto on = Load(s, true, 262144);
  FillConntrack(*off, s, o.background());
  FillConntrack(*on, s, o.background());
  Sinks sinks("/dev/shm/netfence-flowlog-bench-" + std::to_string(getpid()));
  auto pipeline = StartPipeline(*on, s, &sinks, 1'000'000'000, 1'000'000'000);  // created unpinned
  Must(PinToCpu(cpu));
  auto rig = Must(VethRig::Create());
  auto gen = Must(LoadReturnProgram(XDP_TX));
  const int group = 2500 % 64, port = 1000 + 2500 % 4000;
  const Frame frame =
      TcpFrame({s.w.clients[group], s.w.server, 40000, static_cast<uint16_t>(port), 0x10}, rig->mac_b, rig->mac_a);
  std::map<std::string, std::vector<double>> mpps;
  for (int round = 0; round < o.rounds(); ++round) {
    for (auto [name, prog] : {std::pair{"off", off.get()}, std::pair{"on", on.get()}}) {
      auto attached = Must(AttachAtB(*rig, *prog));
      Must(GenerateLive(*rig->ns_a, rig->ifindex_a, gen.get(), frame, 0.1, 1u << 16));  // warm-up; the flow's entry
      const uint64_t before = Counted(*prog);
      const LiveRun run = Must(GenerateLive(*rig->ns_a, rig->ifindex_a, gen.get(), frame, o.live_seconds(), 1u << 20));
      mpps[name].push_back(static_cast<double>(Counted(*prog) - before) / run.seconds / 1e6);
    }
  }
  pipeline->Stop();
  const auto st = pipeline->stats();
  const double r_off = Median(mpps["off"]), r_on = Median(mpps["on"]);
  std::printf("  %-58s %8.2f Mpps\n", "logging off (events=false, no pipeline)", r_off);
  std::printf("  %-58s %8.2f Mpps\n", "logging on (events, pipeline scanning 100k entries/s)", r_on);
  std::printf(
      "  on/off = %.3fx (goal >= 0.95x: %s); pipeline: %llu conntrack entries at its last scan, %llu update "
      "records, %llu events lost\n",
      r_on / r_off, r_on / r_off >= 0.95 ? "MET" : "NOT MET", static_cast<unsigned long long>(st.conntrack_entries),
      static_cast<unsigned long long>(st.records[1]), static_cast<unsigned long long>(st.ring_lost));
}

// ---- [2] new flows logged with zero loss -------------------------------------------------------

double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Step {
  double target = 0, sent_rate = 0;
  double logger_cpu = 0;  // CPU seconds of the pipeline and the file writer per second of the step
  uint64_t sent = 0, lost = 0, read = 0, starts_in_file = 0, file_dropped = 0;
  bool ok() const { return lost == 0 && read == sent && starts_in_file == sent && file_dropped == 0; }
};

Step RunStep(xdp::XdpProgram& p, const Setup& s, double rate, double seconds, int pipeline_cpu, int sender_cpu,
             uint64_t* next_flow) {
  Must(p.FlushConntrack());
  Must(PinToCpu(pipeline_cpu));  // the pipeline's and the file writer's threads inherit it
  auto sinks = std::make_unique<Sinks>("/dev/shm/netfence-flowlog-bench-" + std::to_string(getpid()));
  auto pipeline = StartPipeline(p, s, sinks.get(), 1'000'000'000, 10'000'000'000);
  Must(PinToCpu(sender_cpu));
  const uint64_t lost_before = p.ReadCounters()[NF_CNT_EVENTS_LOST];
  std::vector<uint8_t> frame = TcpFrame({s.w.clients[0], s.w.server, 40000, 1000, 0x02});
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.repeat = 1;
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<uint32_t>(frame.size());
  Step st;
  st.target = rate;
  using Clock = std::chrono::steady_clock;
  const double cpu_all = CpuSeconds(RUSAGE_SELF), cpu_sender = CpuSeconds(RUSAGE_THREAD);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  for (auto now = start; now < end; now = Clock::now()) {
    // As many as the rate allows by now (no catching up beyond one millisecond's worth).
    const double due = std::chrono::duration<double>(now - start).count() * rate;
    uint64_t burst = due > static_cast<double>(st.sent) ? static_cast<uint64_t>(due) - st.sent : 0;
    burst = std::min<uint64_t>(burst, static_cast<uint64_t>(rate / 1000) + 1);
    for (uint64_t i = 0; i < burst; ++i, ++st.sent) {
      // Client g (of 64) on its own allowed port 1000 + g; a fresh source port or address.
      const uint64_t f = (*next_flow)++;
      const uint32_t g = static_cast<uint32_t>(f % 64);
      std::memcpy(frame.data() + 26, s.w.clients[g].bytes.data() + 12, 4);  // IPv4 source
      const uint16_t sport = htons(static_cast<uint16_t>(1024 + (f / 64) % 64000));
      const uint16_t dport = htons(static_cast<uint16_t>(1000 + g));
      std::memcpy(frame.data() + 34, &sport, 2);
      std::memcpy(frame.data() + 36, &dport, 2);
      if (bpf_prog_test_run_opts(p.prog_fd(), &opts) != 0 || opts.retval != XDP_PASS) {
        Fail(Status::Error("a new flow was not passed (test run failed or denied)"));
      }
    }
    if (burst == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  st.sent_rate = static_cast<double>(st.sent) / elapsed;
  pipeline->Stop();  // drains the ring, writes what is open
  sinks->file->Flush();
  // Everything but the sender (its BPF runs included) is the logging: pipeline + file writer.
  st.logger_cpu = ((CpuSeconds(RUSAGE_SELF) - cpu_all) - (CpuSeconds(RUSAGE_THREAD) - cpu_sender)) /
                  std::chrono::duration<double>(Clock::now() - start).count();
  st.lost = p.ReadCounters()[NF_CNT_EVENTS_LOST] - lost_before;
  const auto ps = pipeline->stats();
  st.read = ps.events;
  st.starts_in_file = ps.records[0];
  const auto fs = sinks->file->stats();
  st.file_dropped = fs.queue_full + fs.write_errors;
  return st;
}

void RunNewFlows(const Options& o, const Setup& s, int sender_cpu) {
  const int pipeline_cpu = sender_cpu == 0 ? 1 : 0;
  std::printf("\n[2] New flows logged with zero loss: %.1f s per rate; sender on CPU %d, pipeline + file on CPU %d\n",
              o.step_seconds(), sender_cpu, pipeline_cpu);
  auto p = Load(s, true, 1u << 21);
  std::printf("  %12s %12s %10s %10s %12s %12s %12s  %s\n", "target /s", "sent /s", "sent", "ring lost", "read",
              "starts", "logger CPU", "");
  uint64_t next_flow = 0;
  double best = 0, best_cpu = 0;
  bool sender_bound = false;
  for (double rate : {25e3, 50e3, 75e3, 100e3, 125e3, 150e3, 200e3, 300e3, 400e3}) {
    const Step st = RunStep(*p, s, rate, o.step_seconds(), pipeline_cpu, sender_cpu, &next_flow);
    std::printf("  %12.0f %12.0f %10llu %10llu %12llu %12llu %11.0f%%  %s\n", st.target, st.sent_rate,
                static_cast<unsigned long long>(st.sent), static_cast<unsigned long long>(st.lost),
                static_cast<unsigned long long>(st.read), static_cast<unsigned long long>(st.starts_in_file),
                100 * st.logger_cpu, st.ok() ? "zero loss" : "LOSS");
    if (st.ok() && st.sent_rate > best) {
      best = st.sent_rate;
      best_cpu = st.logger_cpu;
    }
    sender_bound = st.ok() && st.sent_rate < 0.9 * rate;
    if (!st.ok() || sender_bound) break;  // lost, or the sender cannot go faster
  }
  std::printf("  sustained new flows logged with zero loss: %.0f /s%s, the logging using %.0f%% of a CPU", best,
              sender_bound ? " (the sender's limit, not the log's)" : "", 100 * best_cpu);
  if (best_cpu > 0) std::printf(" (about %.0f /s per CPU second)", best / best_cpu);
  std::printf("\n");
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") {
      o.quick = true;
    } else {
      std::fprintf(stderr, "usage: flowlog_bench [--quick]\n");
      return 2;
    }
  }
  if (Status s = xdp::ProbeBpf(); !s.ok()) {
    std::printf("flowlog_bench: skipped: %s (needs root / CAP_BPF)\n", s.message().c_str());
    return 0;
  }
  utsname u{};
  uname(&u);
  const int cpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  std::printf("flowlog_bench (%s run), kernel %s, %ld CPUs\n%s\n", o.quick ? "--quick smoke" : "full", u.release,
              sysconf(_SC_NPROCESSORS_ONLN), kHeader);
  try {
    const Setup s = MakeSetup();
    if (Status ns = nettest::NetnsAvailable(); ns.ok()) {
      RunLive(o, s, cpu);
    } else {
      std::printf("\n[1] skipped: network namespaces unavailable: %s\n", ns.message().c_str());
    }
    RunNewFlows(o, s, cpu);
  } catch (const Failure& f) {
    std::fprintf(stderr, "flowlog_bench: %s\n", f.message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) { return netfence::bench::Main(argc, argv); }
