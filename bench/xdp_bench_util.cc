// SPDX-License-Identifier: Apache-2.0
#include "bench/xdp_bench_util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace netfence::bench {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

uint16_t Checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

StatusOr<UniqueFd> LoadXdp(const std::vector<bpf_insn>& insns, const char* name) {
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name, "GPL", insns.data(), insns.size(), nullptr);
  if (fd < 0) return Status::Error(Errno(std::string("load ") + name));
  return UniqueFd(fd);
}

StatusOr<Mac> ReadMac(const nettest::Netns& ns, const std::string& ifname) {
  return nettest::InNetns(ns, [&]() -> StatusOr<Mac> {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return Status::Error(Errno("socket"));
    ifreq req{};
    std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (::ioctl(s.get(), SIOCGIFHWADDR, &req) != 0) return Status::Error(Errno("SIOCGIFHWADDR " + ifname));
    Mac mac;
    std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, mac.size());
    return mac;
  });
}

}  // namespace

Frame TcpFrame(const TcpFlow& flow, const Mac& dst_mac, const Mac& src_mac) {
  Frame f(60, 0);
  std::copy(dst_mac.begin(), dst_mac.end(), f.begin());
  std::copy(src_mac.begin(), src_mac.end(), f.begin() + 6);
  Put16(&f[12], 0x0800);
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  Put16(ip + 2, 40);  // IPv4 20 + TCP 20; the rest is Ethernet padding
  ip[8] = 64;
  ip[9] = 6;
  std::memcpy(ip + 12, flow.src.bytes.data() + 12, 4);
  std::memcpy(ip + 16, flow.dst.bytes.data() + 12, 4);
  Put16(ip + 10, Checksum(ip, 20));
  uint8_t* tcp = ip + 20;
  Put16(tcp, flow.sport);
  Put16(tcp + 2, flow.dport);
  tcp[7] = 1;                          // seq
  if (flow.flags & 0x10) tcp[11] = 1;  // ack
  tcp[12] = 5 << 4;
  tcp[13] = flow.flags;
  Put16(tcp + 14, 65535);
  uint32_t pseudo = 6 + 20;
  for (int i = 12; i < 20; i += 2) pseudo += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
  Put16(tcp + 16, Checksum(tcp, 20, pseudo));
  return f;
}

int FirstWideRule(int rules, int groups, int group, int port) {
  for (int i = port - 1000; i >= 0 && i < rules; i += 4000) {
    if (i % groups == group) return i;
  }
  return -1;
}

StatusOr<UniqueFd> LoadReturnProgram(int action) {
  return LoadXdp({Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, action), Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)},
                 action == XDP_TX ? "nfb_tx" : "nfb_return");
}

StatusOr<UniqueFd> LoadClockProgram() {
  return LoadXdp({Insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns),
                  Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_DROP), Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)},
                 "nfb_clock");
}

StatusOr<CountingProgram> LoadCountingProgram(int action) {
  CountingProgram p;
  p.map = UniqueFd(bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "nfb_count", 4, 8, 1, nullptr));
  if (!p.map.valid()) return Status::Error(Errno("create per-CPU counter"));
  const std::vector<bpf_insn> insns = {
      Insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0),                           // key = 0
      Insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, p.map.get()),  // r1 = map
      Insn(0, 0, 0, 0, 0),
      Insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),  // r2 = &key
      Insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
      Insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
      Insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 3, 0),           // if !r0 skip
      Insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_0, 0, 0),  // (*r0)++
      Insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 1),
      Insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0),
      Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, action),
      Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  auto prog = LoadXdp(insns, "nfb_count");
  if (!prog.ok()) return prog.status();
  p.prog = std::move(*prog);
  return p;
}

uint64_t CountingProgram::Count() const {
  std::vector<uint64_t> values(static_cast<size_t>(std::max(libbpf_num_possible_cpus(), 1)));
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(map.get(), &zero, values.data()) != 0) return 0;
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

StatusOr<TimedRuns> TimeFrames(int prog_fd, const std::vector<Frame>& frames, uint32_t repeat) {
  TimedRuns t;
  double total = 0, pass = 0, drop = 0;
  std::vector<double> all;
  for (const Frame& f : frames) {
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = f.data();
    opts.data_size_in = static_cast<uint32_t>(f.size());
    opts.repeat = static_cast<int>(repeat);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) return Status::Error(Errno("bpf_prog_test_run_opts"));
    const double ns = opts.duration;
    total += ns;
    all.push_back(ns);
    if (opts.retval == XDP_PASS) {
      pass += ns;
      ++t.passed;
    } else if (opts.retval == XDP_DROP) {
      drop += ns;
      ++t.dropped;
    } else {
      ++t.other;
    }
  }
  if (frames.empty()) return t;
  t.mean_ns = total / static_cast<double>(frames.size());
  std::nth_element(all.begin(), all.begin() + static_cast<long>(all.size() / 2), all.end());
  t.median_ns = all[all.size() / 2];
  t.pass_ns = t.passed ? pass / static_cast<double>(t.passed) : 0;
  t.drop_ns = t.dropped ? drop / static_cast<double>(t.dropped) : 0;
  return t;
}

Status PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) return Status::Error(Errno("sched_setaffinity"));
  return Status::Ok();
}

VethRig::~VethRig() {
  veth.reset();  // the pair before its namespaces
  ns_b.reset();
  ns_a.reset();
}

StatusOr<std::unique_ptr<VethRig>> VethRig::Create() {
  auto rig = std::make_unique<VethRig>();
  for (auto* ns : {&rig->ns_a, &rig->ns_b}) {
    auto created = nettest::Netns::Create(nettest::UniqueName(ns == &rig->ns_a ? "nfbenchA" : "nfbenchB"));
    if (!created.ok()) return created.status();
    *ns = std::move(*created);
  }
  auto veth = nettest::VethPair::Create(nettest::UniqueName("nfbva"), rig->ns_a.get(), nettest::UniqueName("nfbvb"),
                                        rig->ns_b.get());
  if (!veth.ok()) return veth.status();
  rig->veth = std::move(*veth);
  using Side = nettest::VethPair::Side;
  for (Side side : {Side::kA, Side::kB}) {
    auto ifindex = rig->veth->Ifindex(side);
    if (!ifindex.ok()) return ifindex.status();
    auto mac = ReadMac(side == Side::kA ? *rig->ns_a : *rig->ns_b, rig->veth->name(side));
    if (!mac.ok()) return mac.status();
    (side == Side::kA ? rig->ifindex_a : rig->ifindex_b) = *ifindex;
    (side == Side::kA ? rig->mac_a : rig->mac_b) = *mac;
  }
  return rig;
}

StatusOr<std::unique_ptr<NsAttachment>> NsAttachment::Create(const nettest::Netns& ns, std::function<Status()> attach,
                                                             std::function<Status()> detach) {
  Status attached = nettest::InNetns(ns, attach);
  if (!attached.ok()) return attached;
  return std::unique_ptr<NsAttachment>(new NsAttachment(ns, std::move(detach)));
}

NsAttachment::~NsAttachment() { (void)nettest::InNetns(ns_, detach_); }

StatusOr<std::unique_ptr<NsAttachment>> AttachAtB(const VethRig& rig, int prog_fd) {
  const int b = rig.ifindex_b;
  return NsAttachment::Create(
      *rig.ns_b,
      [b, prog_fd] {
        const int err = bpf_xdp_attach(b, prog_fd, XDP_FLAGS_DRV_MODE, nullptr);
        return err ? Status::Error("native XDP attach at b: " + std::string(std::strerror(-err))) : Status::Ok();
      },
      [b] {
        const int err = bpf_xdp_detach(b, XDP_FLAGS_DRV_MODE, nullptr);
        return err ? Status::Error("XDP detach at b: " + std::string(std::strerror(-err))) : Status::Ok();
      });
}

StatusOr<std::unique_ptr<NsAttachment>> AttachAtB(const VethRig& rig, xdp::XdpProgram& program) {
  const int b = rig.ifindex_b;
  xdp::XdpProgram* p = &program;
  return NsAttachment::Create(
      *rig.ns_b,
      [b, p] {
        auto mode = p->Attach(b, xdp::AttachMode::kNative);
        return mode.ok() ? Status::Ok() : mode.status();
      },
      [b, p] { return p->Detach(b); });
}

StatusOr<LiveRun> GenerateLive(const nettest::Netns& ns_a, int ifindex, int generator_fd, const Frame& frame,
                               double seconds, uint32_t chunk) {
  // ctx ingress_ifindex resolves in the caller's namespace: run the syscalls from ns_a.
  return nettest::InNetns(ns_a, [&]() -> StatusOr<LiveRun> {
    Frame data = frame;  // the kernel copies it into every page of its pool
    xdp_md ctx{};
    ctx.data_end = static_cast<uint32_t>(data.size());
    ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
    LiveRun run;
    const auto start = std::chrono::steady_clock::now();
    do {
      bpf_test_run_opts opts{};
      opts.sz = sizeof(opts);
      opts.data_in = data.data();
      opts.data_size_in = static_cast<uint32_t>(data.size());
      opts.ctx_in = &ctx;
      opts.ctx_size_in = sizeof(ctx);
      opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
      opts.repeat = static_cast<int>(chunk);
      opts.batch_size = 64;
      if (bpf_prog_test_run_opts(generator_fd, &opts) != 0) {
        return Status::Error(Errno("bpf_prog_test_run_opts(BPF_F_TEST_XDP_LIVE_FRAMES)"));
      }
      run.sent += chunk;
      run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (run.seconds < seconds);
    return run;
  });
}

}  // namespace netfence::bench
