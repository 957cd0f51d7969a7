// SPDX-License-Identifier: Apache-2.0
// Helpers of xdp_bench: frames, raw-instruction peer programs, BPF_PROG_TEST_RUN timing,
// live-frame traffic between two network namespaces.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "dataplane/xdp/xdp_program.h"
#include "tests/testing/netns.h"

namespace netfence::bench {

using Mac = std::array<uint8_t, 6>;
using Frame = std::vector<uint8_t>;

// Ethernet + IPv4 + TCP (flags e.g. 0x02 SYN, 0x10 ACK), checksums filled, padded to 60 bytes.
struct TcpFlow {
  IpAddr src, dst;
  uint16_t sport = 40000, dport = 80;
  uint8_t flags = 0x02;
};
Frame TcpFrame(const TcpFlow& flow, const Mac& dst_mac = {2, 0, 0, 0, 0, 2}, const Mac& src_mac = {2, 0, 0, 0, 0, 1});

// The first rule of GenerateWideTable(rules, groups) admitting client `group` on TCP `port`
// (rule i admits group i % groups on port 1000 + i % 4000), or -1 when none does.
int FirstWideRule(int rules, int groups, int group, int port);

// Raw-instruction XDP programs: `return action;` and a counting variant that adds one to
// slot 0 of its own per-CPU array first (so received packets can be counted).
StatusOr<UniqueFd> LoadReturnProgram(int action);
// Calibration: `bpf_ktime_get_ns(); return XDP_DROP;` (the conntrack path reads the clock once).
StatusOr<UniqueFd> LoadClockProgram();
struct CountingProgram {
  UniqueFd map, prog;
  uint64_t Count() const;  // summed over CPUs
};
StatusOr<CountingProgram> LoadCountingProgram(int action);

// Kernel-timed BPF_PROG_TEST_RUN: each frame run `repeat` times; mean of the kernel's mean
// ns per run (opts.duration) over the frames, and the same split by the program's verdict.
struct TimedRuns {
  double mean_ns = 0;
  double median_ns = 0;             // of the frames' figures
  double pass_ns = 0, drop_ns = 0;  // 0 when no frame had that verdict
  size_t passed = 0, dropped = 0, other = 0;
};
StatusOr<TimedRuns> TimeFrames(int prog_fd, const std::vector<Frame>& frames, uint32_t repeat);

// Pins the calling thread (and threads it creates later) to `cpu`.
Status PinToCpu(int cpu);

// Two namespaces joined by a veth pair: a (in ns_a) <-> b (in ns_b). Destroyed in reverse
// order (the pair, then the namespaces) also when Create fails half-way.
struct VethRig {
  std::unique_ptr<nettest::Netns> ns_a, ns_b;
  std::unique_ptr<nettest::VethPair> veth;
  int ifindex_a = 0, ifindex_b = 0;
  Mac mac_a{}, mac_b{};
  ~VethRig();
  static StatusOr<std::unique_ptr<VethRig>> Create();
};

// Runs attach() in a thread of `ns` now and detach() the same way at destruction.
class NsAttachment {
 public:
  static StatusOr<std::unique_ptr<NsAttachment>> Create(const nettest::Netns& ns, std::function<Status()> attach,
                                                        std::function<Status()> detach);
  ~NsAttachment();
  NsAttachment(const NsAttachment&) = delete;
  NsAttachment& operator=(const NsAttachment&) = delete;

 private:
  NsAttachment(const nettest::Netns& ns, std::function<Status()> detach) : ns_(ns), detach_(std::move(detach)) {}
  const nettest::Netns& ns_;
  std::function<Status()> detach_;
};

// A program attached in native mode at the rig's b (inside netns B), detached when the result
// dies: a raw program, or netfence's (XdpProgram::Attach).
StatusOr<std::unique_ptr<NsAttachment>> AttachAtB(const VethRig& rig, int prog_fd);
StatusOr<std::unique_ptr<NsAttachment>> AttachAtB(const VethRig& rig, xdp::XdpProgram& program);

// BPF_F_TEST_XDP_LIVE_FRAMES: runs `generator_fd` (an XDP_TX program) on `frame` as received
// by ns_a's interface `ifindex`, in calls of `chunk` frames, until `seconds` have passed.
struct LiveRun {
  uint64_t sent = 0;
  double seconds = 0;
};
StatusOr<LiveRun> GenerateLive(const nettest::Netns& ns_a, int ifindex, int generator_fd, const Frame& frame,
                               double seconds, uint32_t chunk);

}  // namespace netfence::bench
