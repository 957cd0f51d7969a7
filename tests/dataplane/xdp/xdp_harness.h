// SPDX-License-Identifier: Apache-2.0
// Running the XDP classifier on packets with BPF_PROG_TEST_RUN, and reading back what it
// decided (last_decision, per CPU: the calling thread is pinned to one CPU) and counted.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/xdp/xdp_program.h"
#include "xdp/include/netfence_abi.h"

struct bpf_test_run_opts;  // libbpf

namespace netfence::xdptest {

struct RunResult {
  bool ok = false;      // the test run itself worked
  std::string error;    // why not
  uint32_t action = 0;  // the program's return value (XDP_PASS, XDP_DROP, ...)
  nf_decision decision{};
};

using DropCounts = xdp::DropCounts;

// A program for classification tests: no conntrack (every packet classified on its own, as
// the user-space classifier does), no events, each CPU's last decision recorded.
xdp::LoadOptions StatelessOptions();

// Deletes every entry of a hash map (fragments, conntrack) so a test starts clean.
void ClearMap(int fd, size_t key_size);

class Harness {
 public:
  explicit Harness(const xdp::XdpProgram& program);
  // Runs the program once on `packet` (any length, even shorter than Ethernet).
  RunResult Run(const std::vector<uint8_t>& packet);
  // Runs the TC egress program once on `packet` (>= 14 bytes); action is the TC action.
  RunResult RunTc(const std::vector<uint8_t>& packet);
  // drop_reasons summed over CPUs.
  DropCounts Drops() const;
  // The kernel's mean run time of the program on `packet` (>= 14 bytes) over `repeat` runs, in
  // nanoseconds; -1 on error.
  double MeanNanos(const std::vector<uint8_t>& packet, uint32_t repeat) const;

 private:
  RunResult RunOnce(int prog_fd, bpf_test_run_opts* opts);  // then reads last_decision
  const xdp::XdpProgram& program_;
  int cpu_ = 0;
  int ncpus_ = 1;
  std::vector<nf_decision> per_cpu_;
  std::vector<uint8_t> buffer_;
};

// The number of keys of a hash or LPM map.
size_t CountKeys(int fd, size_t key_size);

// A pin directory of this test process on bpffs, removed before and after.
class PinDir {
 public:
  explicit PinDir(const std::string& name);
  ~PinDir();
  PinDir(const PinDir&) = delete;
  PinDir& operator=(const PinDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  void Remove();
  std::string path_;
};

// Whether BPF is usable here (probed once). Tests GTEST_SKIP with this message when not,
// except in CI (CI set in the environment), where BPF must work and the test fails.
const Status& BpfAvailable();

#define NETFENCE_REQUIRE_BPF()                                                                                     \
  do {                                                                                                             \
    if (!::netfence::xdptest::BpfAvailable().ok()) {                                                               \
      if (std::getenv("CI")) FAIL() << "BPF unavailable in CI: " << ::netfence::xdptest::BpfAvailable().message(); \
      GTEST_SKIP() << "BPF unavailable: " << ::netfence::xdptest::BpfAvailable().message();                        \
    }                                                                                                              \
  } while (0)

}  // namespace netfence::xdptest
