// SPDX-License-Identifier: Apache-2.0
// The XDP program's cost per packet, as ratios to trivial XDP programs measured in the same
// run (see kHeader below, printed with the results). Needs root; run by scripts/bench.sh.
//   xdp_bench [--quick] [--no-live] [--cpu=N] [--loop=hit|new|denied|uncached]
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench/bench_main.h"
#include "bench/cluster_gen.h"
#include "bench/xdp_bench_util.h"
#include "controlplane/compiler/compiler.h"
#include "dataplane/xdp/xdp_program.h"

namespace netfence::bench {
namespace {

constexpr int kGroups = 64;  // client pods of the wide table, as in classify_bench

constexpr const char* kHeader = R"(Figures (all timings on one pinned CPU; peers measured in this run, same frames):
  [1] BPF_PROG_TEST_RUN: the kernel's mean ns per program run (opts.duration) for each of
      F distinct 60-byte IPv4/TCP frames run R times in a row (warm caches), averaged over
      the frames (ns/pkt; "median" is the frames' median); median of the rounds.
      Peer (a): `return XDP_DROP`. (k) calibrates a helper call: bpf_ktime_get_ns().
      (b) conntrack hit: stateful program, each frame's flow created by one earlier run.
      (c) new-flow classification: LoadOptions.conntrack=false, events=false, so every run
          classifies and nothing is inserted, and verdict_cache=false, so every run walks the
          tables (the AND). Frames go to the wide table's isolated server: half match a random
          rule (rules spread over the table), half a random (group, port) pair (mostly
          denied). pass/drop ns split the mean by verdict.
      (v) the same frames with the verdict cache on: each frame's question is asked again
          (every SYN of a flood, every new connection of a busy client): one lookup.
      (c') true new flow: stateful program, every frame a distinct allowed 5-tuple run once
          (repeat=1: each figure includes the kernel timer's two clock reads and runs cold
          after the syscall; peer (a') is xdp_drop timed the same way, and (c1') the same
          frames through the stateless program with the verdict cache, so (c')-(c1') isolates
          the insert and the event).
  [2] Live frames: BPF_F_TEST_XDP_LIVE_FRAMES runs an XDP_TX generator on veth end a (netns
      A); frames go to b (netns B) where the program under test is attached in native mode.
      Rate = packets the program at b counted / wall time. The generator and b's NAPI poll
      share the pinned CPU (the poll runs when each 64-frame batch is flushed), so the rate
      is that of generator + receiver. Peers: counting xdp_drop, and counting xdp_pass for
      allowed traffic (passed frames go up b's stack, which costs more than the program).)";

struct Options {
  bool quick = false;
  bool live = true;
  int cpu = -1;      // -1: the last CPU
  std::string loop;  // a profiling loop instead of the figures (see RunLoop)
  int frames() const { return quick ? 32 : 256; }
  uint32_t repeat() const { return quick ? 256 : 4096; }
  int rounds() const { return quick ? 1 : 3; }
  int new_flows() const { return quick ? 2000 : 100000; }
  double live_seconds() const { return quick ? 0.3 : 2.0; }
};

struct Wide {
  int rules = 0;
  WideTable w;
  v1::RuleTables tables;
};

const Wide& GetWide(int rules) {
  static std::map<int, std::unique_ptr<Wide>> cache;
  auto& s = cache[rules];
  if (!s) {
    s = std::make_unique<Wide>();
    s->rules = rules;
    s->w = GenerateWideTable(rules, kGroups);
    s->tables = compiler::Compile(s->w.state);
    s->tables.set_generation(static_cast<uint64_t>(rules) + 1);  // says which table is live (Reset)
  }
  return *s;
}

// Frames to the server: half match a random rule, half a random (group, port); distinct
// (client, source port) pairs, so distinct 5-tuples. With `allowed_only`, all match a rule.
std::vector<Frame> WideFrames(const Wide& t, int n, bool allowed_only, uint8_t tcp_flags, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::set<std::pair<int, int>> seen;  // (group, sport)
  std::vector<Frame> frames;
  for (int k = 0; static_cast<int>(frames.size()) < n; ++k) {
    int group, port;
    if (allowed_only || k % 2 == 0) {
      const int i = static_cast<int>(rng() % static_cast<uint64_t>(t.rules));
      group = i % kGroups;
      port = 1000 + i % 4000;
    } else {
      group = static_cast<int>(rng() % kGroups);
      port = 1000 + static_cast<int>(rng() % 4000);
    }
    const int sport = 1024 + static_cast<int>(rng() % 64000);
    if (!seen.insert({group, sport}).second) continue;
    frames.push_back(TcpFrame({t.w.clients[static_cast<size_t>(group)], t.w.server, static_cast<uint16_t>(sport),
                               static_cast<uint16_t>(port), tcp_flags}));
  }
  return frames;
}

StatusOr<std::unique_ptr<xdp::XdpProgram>> LoadNetfence(xdp::LoadOptions options, const Wide& t) {
  options.log = [](std::string_view) {};
  auto p = xdp::XdpProgram::Load(options);
  if (!p.ok()) return p.status();
  if (Status s = (*p)->Program(t.tables); !s.ok()) return s;
  return p;
}

// Errors and SIGINT/SIGTERM unwind to Main (bench_main.h), so attachments, veth pairs and
// namespaces are removed on the way out.

// The netfence programs, loaded once (verification takes seconds) and reprogrammed or
// flushed between configurations; (c') loads its own.
struct Programs {
  std::unique_ptr<xdp::XdpProgram> stateful_events, stateful_quiet;  // default LoadOptions, events on / off
  std::map<int, std::unique_ptr<xdp::XdpProgram>> stateless;         // rules -> conntrack, events, verdict cache off
  std::map<int, std::unique_ptr<xdp::XdpProgram>> cached;            // rules -> conntrack, events off
};

// Programs `t` unless it is live already, and empties conntrack (slow for many entries).
void Reset(xdp::XdpProgram& p, const Wide& t) {
  if (p.live_generation() != t.tables.generation()) {
    if (Status s = p.Program(t.tables); !s.ok()) Fail(s);
  }
  if (Status s = p.FlushConntrack(); !s.ok()) Fail(s);
}

uint64_t Delta(const xdp::Counters& before, const xdp::Counters& after, int index) {
  return after[static_cast<size_t>(index)] - before[static_cast<size_t>(index)];
}

// ---- [1] BPF_PROG_TEST_RUN ----------------------------------------------------------------

struct Row {
  std::string name;
  TimedRuns t;
  int peer = -1;  // index of the peer row
};

void PrintRows(const std::vector<Row>& rows) {
  std::printf("  %-60s %7s %8s %7s %7s %6s %7s %7s\n", "configuration", "ns/pkt", "-peer", "xpeer", "median", "pass%",
              "pass ns", "drop ns");
  for (const Row& r : rows) {
    const size_t n = r.t.passed + r.t.dropped + r.t.other;
    std::printf("  %-60s %7.1f", r.name.c_str(), r.t.mean_ns);
    if (r.peer >= 0) {
      const double peer = rows[static_cast<size_t>(r.peer)].t.mean_ns;
      std::printf(" %+8.1f %6.2fx", r.t.mean_ns - peer, r.t.mean_ns / std::max(peer, 1e-9));
    } else {
      std::printf(" %8s %7s", "(peer)", "");
    }
    std::printf(" %7.0f %5.1f%%", r.t.median_ns,
                n ? 100.0 * static_cast<double>(r.t.passed) / static_cast<double>(n) : 0.0);
    auto ns = [](size_t count, double v) {
      return count ? std::to_string(static_cast<int>(v + 0.5)) : std::string("-");
    };
    std::printf(" %7s %7s\n", ns(r.t.passed, r.t.pass_ns).c_str(), ns(r.t.dropped, r.t.drop_ns).c_str());
  }
}

struct TestRunResults {
  double drop = 0, hit_events = 0, hit_quiet = 0;
  std::map<int, double> classify;   // rules -> (c)
  std::map<int, double> cached;     // rules -> (v)
  TimedRuns drop1;                  // (a')
  TimedRuns classify1;              // (c1'), 10k rules
  std::map<int, TimedRuns> insert;  // rules -> (c') with events on
};

constexpr int kSizes[] = {100, 1000, 10000, 100000};
constexpr int kCachedSizes[] = {10000, 100000};

TestRunResults RunTestRun(const Options& o, Programs& progs) {
  std::printf("\n[1] BPF_PROG_TEST_RUN: %d frames x repeat %u per configuration, median of %d round(s)\n", o.frames(),
              o.repeat(), o.rounds());
  auto drop = Must(LoadReturnProgram(XDP_DROP));
  auto clock = Must(LoadClockProgram());

  // Timed configurations: a program and its frames, timed once per round.
  struct Config {
    std::string name;
    int fd;
    std::vector<Frame> frames;
    std::vector<TimedRuns> rounds;
  };
  std::vector<Config> configs;
  const Wide& t10k = GetWide(10000);
  const std::vector<Frame> hit_frames = WideFrames(t10k, o.frames(), true, 0x10, 7);  // ACK: established traffic
  configs.push_back({"(a)  xdp_drop", drop.get(), hit_frames, {}});
  configs.push_back({"(k)  calibration: bpf_ktime_get_ns(), then XDP_DROP", clock.get(), hit_frames, {}});
  for (xdp::XdpProgram* p : {progs.stateful_events.get(), progs.stateful_quiet.get()}) {
    Reset(*p, t10k);
    const auto before = p->ReadCounters();
    auto created = Must(TimeFrames(p->prog_fd(), hit_frames, 1));  // one run each: the flows exist
    const uint64_t entries = Delta(before, p->ReadCounters(), NF_CNT_CT_CREATED);
    if (created.passed != hit_frames.size() || entries != hit_frames.size()) {
      Fail(Status::Error("conntrack setup: " + std::to_string(entries) + " entries created for " +
                         std::to_string(hit_frames.size()) + " flows"));
    }
    configs.push_back({std::string("(b)  conntrack hit, 10k rules, events ") + (p->options().events ? "on" : "off"),
                       p->prog_fd(),
                       hit_frames,
                       {}});
  }
  for (int rules : kSizes) {
    configs.push_back({"(c)  new flow, classify only (conntrack=false), " + std::to_string(rules) + " rules",
                       progs.stateless.at(rules)->prog_fd(),
                       WideFrames(GetWide(rules), o.frames(), false, 0x02, 42 + rules),
                       {}});
  }
  for (int rules : kCachedSizes) {
    configs.push_back({"(v)  new flow, verdict cache hit (conntrack=false), " + std::to_string(rules) + " rules",
                       progs.cached.at(rules)->prog_fd(),
                       WideFrames(GetWide(rules), o.frames(), false, 0x02, 42 + rules),
                       {}});
  }
  for (Config& c : configs) Must(TimeFrames(c.fd, c.frames, 16));  // warm-up, not counted
  for (int round = 0; round < o.rounds(); ++round) {
    for (Config& c : configs) c.rounds.push_back(Must(TimeFrames(c.fd, c.frames, o.repeat())));
  }

  for (xdp::XdpProgram* p : {progs.stateful_events.get(), progs.stateful_quiet.get()}) {
    const uint64_t hits = p->ReadCounters()[NF_CNT_PASS_CT], want = hit_frames.size() * o.repeat() * o.rounds();
    if (hits < want) {
      Fail(Status::Error("(b): " + std::to_string(hits) + " conntrack hits, expected " + std::to_string(want)));
    }
  }
  std::vector<Row> rows;
  for (Config& c : configs) {
    std::sort(c.rounds.begin(), c.rounds.end(),
              [](const TimedRuns& x, const TimedRuns& y) { return x.mean_ns < y.mean_ns; });
    rows.push_back({c.name, c.rounds[c.rounds.size() / 2], rows.empty() ? -1 : 0});
  }
  TestRunResults res;
  res.drop = rows[0].t.mean_ns;
  res.hit_events = rows[2].t.mean_ns;
  res.hit_quiet = rows[3].t.mean_ns;
  for (size_t i = 0; i < std::size(kSizes); ++i) res.classify[kSizes[i]] = rows[4 + i].t.mean_ns;
  for (size_t i = 0; i < std::size(kCachedSizes); ++i) {
    res.cached[kCachedSizes[i]] = rows[4 + std::size(kSizes) + i].t.mean_ns;
  }

  // (c') every frame a new allowed flow, run once.
  const int peer1 = static_cast<int>(rows.size());
  struct Insert {
    int rules;
    bool events;
  };
  for (const Insert& in : {Insert{10000, true}, Insert{10000, false}, Insert{100000, true}}) {
    const Wide& t = GetWide(in.rules);
    const std::vector<Frame> frames = WideFrames(t, o.new_flows(), true, 0x02, 99 + in.rules);
    if (static_cast<int>(rows.size()) == peer1) {
      rows.push_back({"(a') xdp_drop, repeat=1", Must(TimeFrames(drop.get(), frames, 1))});
      // The same frames classified without conntrack: (c') minus this is the insert's cost.
      rows.push_back({"(c1') same frames, classify only (conntrack=false), " + std::to_string(in.rules) + " rules",
                      Must(TimeFrames(progs.cached.at(in.rules)->prog_fd(), frames, 1)), peer1});
      res.classify1 = rows.back().t;
    }
    // A fresh program: FlushConntrack() takes ~0.1 ms per entry (each get_next_key(NULL)
    // scans the buckets from the first), far too slow for 100k entries.
    xdp::LoadOptions lo;
    lo.events = in.events;
    lo.ring_bytes = 1u << 25;  // room for every event: none lost (checked)
    auto p = Must(LoadNetfence(lo, t));
    TimedRuns r = Must(TimeFrames(p->prog_fd(), frames, 1));
    const auto after = p->ReadCounters();
    const uint64_t entries = after[NF_CNT_CT_CREATED], lost = after[NF_CNT_EVENTS_LOST];
    if (entries != frames.size() || lost != 0) {
      Fail(Status::Error("new flows: " + std::to_string(entries) + " entries, " + std::to_string(lost) +
                         " events lost for " + std::to_string(frames.size())));
    }
    rows.push_back({"(c') new flow + ct insert, " + std::to_string(in.rules) + " rules, events " +
                        (in.events ? "on" : "off") + ", " + std::to_string(frames.size()) + " flows",
                    r, peer1});
    if (in.events) res.insert[in.rules] = r;
  }
  res.drop1 = rows[static_cast<size_t>(peer1)].t;
  PrintRows(rows);
  return res;
}

void PrintGoals(const TestRunResults& r) {
  auto verdict = [](bool ok) { return ok ? "MET" : "NOT MET"; };
  const double hit = r.hit_events - r.drop, hit_quiet = r.hit_quiet - r.drop;
  const double c10k = r.classify.at(10000) - r.drop, c100k = r.classify.at(100000) - r.drop;
  std::printf("  goal (b)-(a) <= 30 ns: %+.1f ns events on, %+.1f ns events off: %s\n", hit, hit_quiet,
              verdict(std::max(hit, hit_quiet) <= 30));
  std::printf("  goal (c)-(a) <= 150 ns at 10k rules (the AND itself): %+.1f ns: %s; 100k rules: %+.1f ns\n", c10k,
              verdict(c10k <= 150), c100k);
  const double spread = r.classify.at(100000) / r.classify.at(1000);
  std::printf("  goal (c) 100k / 1k rules <= 1.3x: %.2fx: %s\n", spread, verdict(spread <= 1.3));
  const double v10k = r.cached.at(10000) - r.drop, v100k = r.cached.at(100000) - r.drop;
  std::printf("  (v)-(a), a repeated question from the verdict cache: %+.1f ns at 10k rules, %+.1f ns at 100k: %s\n",
              v10k, v100k, verdict(std::max(v10k, v100k) <= 150));
  const TimedRuns& i10k = r.insert.at(10000);
  const TimedRuns& i100k = r.insert.at(100000);
  std::printf(
      "  (c')-(a') new flow with conntrack insert, events on: %+.1f ns at 10k rules, %+.1f ns at 100k "
      "(medians %+.1f / %+.1f; goal <= 400 ns: %s);\n  of which conntrack + event, (c')-(c1') at 10k: %+.1f ns\n",
      i10k.mean_ns - r.drop1.mean_ns, i100k.mean_ns - r.drop1.mean_ns, i10k.median_ns - r.drop1.median_ns,
      i100k.median_ns - r.drop1.median_ns, verdict(i10k.mean_ns - r.drop1.mean_ns <= 400),
      i10k.mean_ns - r.classify1.mean_ns);
}

// ---- [2] live frames ----------------------------------------------------------------------

struct LiveConfig {
  std::string name;
  Frame frame;
  const CountingProgram* peer = nullptr;  // one of the two
  xdp::XdpProgram* netfence = nullptr;
  std::vector<double> mpps, sent_mpps;
  std::string paths;  // what netfence did (counter shares)
};

// Packets the program has seen: the peer's count, or netfence's pass and drop counters.
uint64_t Seen(const LiveConfig& c, xdp::Counters* counters) {
  if (c.peer) return c.peer->Count();
  *counters = c.netfence->ReadCounters();
  uint64_t n = 0;
  for (int i = 0; i <= NF_CNT_DROP; ++i) n += (*counters)[static_cast<size_t>(i)];
  return n;
}

std::string Paths(const xdp::Counters& before, const xdp::Counters& after, uint64_t total) {
  const struct {
    int index;
    const char* name;
  } paths[] = {
      {NF_CNT_PASS_CT, "ct-hit"}, {NF_CNT_PASS_NEW, "new"}, {NF_CNT_DROP, "drop"}, {NF_CNT_PASS_NOT_IP, "not-ip"}};
  std::string out;
  for (const auto& p : paths) {
    const uint64_t n = Delta(before, after, p.index);
    if (n == 0 || total == 0) continue;
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%s%s %.2f%%", out.empty() ? "" : ", ", p.name,
                  100.0 * static_cast<double>(n) / static_cast<double>(total));
    out += buf;
  }
  return out;
}

// Attaches c's program in native mode to b (inside netns B); detached when the result dies.
std::unique_ptr<NsAttachment> AttachAtB(const VethRig& rig, const LiveConfig& c) {
  return c.netfence ? Must(AttachAtB(rig, *c.netfence)) : Must(AttachAtB(rig, c.peer->prog.get()));
}

void RunLive(const Options& o, Programs& progs) {
  std::printf(
      "\n[2] Live frames (BPF_F_TEST_XDP_LIVE_FRAMES over veth, native XDP at b): %.1f s per configuration, "
      "median of %d round(s)\n",
      o.live_seconds(), o.rounds());
  auto rig = Must(VethRig::Create());
  auto gen = Must(LoadReturnProgram(XDP_TX));
  auto drop = Must(LoadCountingProgram(XDP_DROP));
  auto pass = Must(LoadCountingProgram(XDP_PASS));
  const Wide& t = GetWide(5000);
  Reset(*progs.stateful_events, t);
  Reset(*progs.stateful_quiet, t);

  const int rule = 2500, group = rule % kGroups, port = 1000 + rule % 4000, other = (group + 1) % kGroups;
  if (FirstWideRule(t.rules, kGroups, group, port) < 0 || FirstWideRule(t.rules, kGroups, other, port) >= 0) {
    Fail(Status::Error("live frames: the wide table does not look as expected"));
  }
  const auto dport = static_cast<uint16_t>(port);
  const Frame allowed = TcpFrame({t.w.clients[group], t.w.server, 40000, dport, 0x10}, rig->mac_b, rig->mac_a);
  const Frame denied = TcpFrame({t.w.clients[other], t.w.server, 40000, dport, 0x02}, rig->mac_b, rig->mac_a);
  std::vector<LiveConfig> configs = {
      {"xdp_drop + count (peer)", denied, &drop, nullptr, {}, {}, ""},
      {"xdp_pass + count (peer of allowed traffic)", allowed, &pass, nullptr, {}, {}, ""},
      {"netfence 5k rules, allowed flow: conntrack hit -> PASS",
       allowed,
       nullptr,
       progs.stateful_events.get(),
       {},
       {},
       ""},
      {"netfence 5k rules, denied new flow -> DROP (events off)",
       denied,
       nullptr,
       progs.stateful_quiet.get(),
       {},
       {},
       ""},
  };
  for (int round = 0; round < o.rounds(); ++round) {
    for (LiveConfig& c : configs) {
      auto attached = AttachAtB(*rig, c);
      Must(GenerateLive(*rig->ns_a, rig->ifindex_a, gen.get(), c.frame, 0.1, 1u << 16));  // warm-up; creates the flow
      xdp::Counters before{}, after{};
      const uint64_t seen = Seen(c, &before);
      const LiveRun run =
          Must(GenerateLive(*rig->ns_a, rig->ifindex_a, gen.get(), c.frame, o.live_seconds(), 1u << 20));
      const uint64_t received = Seen(c, &after) - seen;
      c.mpps.push_back(static_cast<double>(received) / run.seconds / 1e6);
      c.sent_mpps.push_back(static_cast<double>(run.sent) / run.seconds / 1e6);
      if (c.netfence) c.paths = Paths(before, after, received);
    }  // detached here
  }
  std::printf("  %-56s %8s %9s   %-36s %s\n", "configuration", "rx Mpps", "sent Mpps", "ratio", "netfence path");
  const double drop_mpps = Median(configs[0].mpps), pass_mpps = Median(configs[1].mpps);
  for (size_t i = 0; i < configs.size(); ++i) {
    const double mpps = Median(configs[i].mpps);
    char ratio[64] = "(peer)";
    if (i == 2)
      std::snprintf(ratio, sizeof(ratio), "%.2fx of xdp_pass, %.2fx of xdp_drop", mpps / pass_mpps, mpps / drop_mpps);
    if (i == 3) std::snprintf(ratio, sizeof(ratio), "%.2fx of xdp_drop", mpps / drop_mpps);
    std::printf("  %-56s %8.2f %9.2f   %-36s %s\n", configs[i].name.c_str(), mpps, Median(configs[i].sent_mpps), ratio,
                configs[i].paths.c_str());
  }
  const double allowed_ratio = Median(configs[2].mpps) / pass_mpps, denied_ratio = Median(configs[3].mpps) / drop_mpps;
  std::printf("  goal >= 0.8x: allowed %.3fx of xdp_pass: %s; denied %.3fx of xdp_drop: %s\n", allowed_ratio,
              allowed_ratio >= 0.8 ? "MET" : "NOT MET", denied_ratio, denied_ratio >= 0.8 ? "MET" : "NOT MET");
}  // rig deletes the veth pair and the namespaces

// --loop: one configuration through BPF_PROG_TEST_RUN for 15 s, nothing else, so a profiler
// (perf record -e cpu-clock -a) sees only it. 10k rules; 64 frames.
//   hit       conntrack hits (established ACKs)
//   new       allowed SYNs, stateless program: classification (verdict cache on)
//   denied    denied SYNs, stateless program (verdict cache on)
//   uncached  denied SYNs, stateless program without the verdict cache: the AND itself
int RunLoop(const std::string& what) {
  const Wide& t = GetWide(10000);
  xdp::LoadOptions lo;
  lo.events = false;
  if (what != "hit") lo.conntrack = false;
  if (what == "uncached") lo.verdict_cache = false;
  auto p = Must(LoadNetfence(lo, t));
  std::vector<Frame> frames;
  for (const Frame& f : WideFrames(t, 256, true, what == "hit" ? 0x10 : 0x02, 5)) {
    if (frames.size() < 64) frames.push_back(f);
  }
  if (what == "denied" || what == "uncached") {
    frames.clear();
    for (int sport = 1024; frames.size() < 64; ++sport) {  // group 1 on port 1000: no rule
      frames.push_back(TcpFrame({t.w.clients[1], t.w.server, static_cast<uint16_t>(sport), 1000, 0x02}));
    }
  }
  if (what != "hit" && what != "new" && what != "denied" && what != "uncached") {
    std::fprintf(stderr, "xdp_bench: --loop=%s: one of hit, new, denied, uncached\n", what.c_str());
    return 2;
  }
  Must(TimeFrames(p->prog_fd(), frames, 1));  // creates the flows (hit)
  const auto start = std::chrono::steady_clock::now();
  TimedRuns last;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 15.0) {
    last = Must(TimeFrames(p->prog_fd(), frames, 4096));
  }
  std::printf("loop %s: %.1f ns/run (last round), %zu passed, %zu dropped\n", what.c_str(), last.mean_ns, last.passed,
              last.dropped);
  return 0;
}

Programs LoadPrograms() {
  Programs p;
  xdp::LoadOptions quiet;
  quiet.events = false;
  p.stateful_events = Must(LoadNetfence({}, GetWide(10000)));
  p.stateful_quiet = Must(LoadNetfence(quiet, GetWide(10000)));
  for (int rules : kSizes) {
    xdp::LoadOptions lo;
    lo.conntrack = false;
    lo.events = false;
    const Wide& t = GetWide(rules);
    const auto start = std::chrono::steady_clock::now();
    if (std::find(std::begin(kCachedSizes), std::end(kCachedSizes), rules) != std::end(kCachedSizes)) {
      p.cached[rules] = Must(LoadNetfence(lo, t));
    }
    lo.verdict_cache = false;
    p.stateless[rules] = Must(LoadNetfence(lo, t));
    std::printf("  wide table %6d rules: %8d words in the bitmap arena (%5.1f MB), loaded and programmed in %.2f s\n",
                rules, t.tables.words_size(), t.tables.words_size() * 8.0 / 1e6,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return p;
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--no-live") {
      o.live = false;
    } else if (a.rfind("--cpu=", 0) == 0) {
      o.cpu = std::atoi(a.c_str() + 6);
    } else if (a.rfind("--loop=", 0) == 0) {
      o.loop = a.substr(7);
    } else {
      std::fprintf(stderr, "usage: xdp_bench [--quick] [--no-live] [--cpu=N] [--loop=hit|new|denied|uncached]\n");
      return 2;
    }
  }
  if (Status s = xdp::ProbeBpf(); !s.ok()) {
    std::printf("xdp_bench: skipped: %s (needs root / CAP_BPF)\n", s.message().c_str());
    return 0;
  }
  if (o.cpu < 0) o.cpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  if (Status s = PinToCpu(o.cpu); !s.ok()) {
    std::fprintf(stderr, "xdp_bench: %s\n", s.message().c_str());
    return 1;
  }
  CatchInterrupts();  // no SA_RESTART: a running test run returns EINTR
  utsname u{};
  uname(&u);
  std::printf("xdp_bench (%s run), kernel %s, pinned to CPU %d\n%s\n", o.quick ? "--quick smoke" : "full", u.release,
              o.cpu, kHeader);
  try {
    if (!o.loop.empty()) return RunLoop(o.loop);
    std::printf("\nLoading the programs (the verifier takes seconds per load)\n");
    Programs progs = LoadPrograms();
    PrintGoals(RunTestRun(o, progs));
    if (!o.live) return 0;
    if (Status s = nettest::NetnsAvailable(); !s.ok()) {
      std::printf("\n[2] skipped: network namespaces unavailable: %s\n", s.message().c_str());
      return 0;
    }
    RunLive(o, progs);
  } catch (const Failure& f) {
    std::fprintf(stderr, "xdp_bench: %s\n", f.message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace netfence::bench

int main(int argc, char** argv) { return netfence::bench::Main(argc, argv); }
