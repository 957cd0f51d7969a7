// SPDX-License-Identifier: Apache-2.0
#include "tests/dataplane/xdp/xdp_harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace netfence::xdptest {

static_assert(sizeof(nf_decision) % 8 == 0, "per-CPU values are 8-byte aligned");

const Status& BpfAvailable() {
  static const Status status = xdp::ProbeBpf();
  return status;
}

Harness::Harness(const xdp::XdpProgram& program) : program_(program) {
  // BPF_PROG_TEST_RUN runs on the calling CPU; pin there so last_decision's slot is known.
  cpu_ = sched_getcpu();
  if (cpu_ < 0) cpu_ = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu_, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) ADD_FAILURE() << "sched_setaffinity: " << std::strerror(errno);
  ncpus_ = libbpf_num_possible_cpus();
  if (ncpus_ < 1) ncpus_ = 1;
  per_cpu_.resize(static_cast<size_t>(ncpus_));
}

RunResult Harness::Run(const std::vector<uint8_t>& packet) {
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.repeat = 1;
  xdp_md ctx{};
  if (packet.size() < 14) {
    // The kernel wants at least an Ethernet header of input: put the difference in front
    // as XDP metadata (a multiple of 4, at most 32 bytes) so the program sees `packet`.
    const size_t meta = (14 - packet.size() + 3) / 4 * 4;
    buffer_.assign(meta, 0);
    buffer_.insert(buffer_.end(), packet.begin(), packet.end());
    ctx.data = static_cast<uint32_t>(meta);
    ctx.data_end = static_cast<uint32_t>(buffer_.size());
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
    opts.data_in = buffer_.data();
    opts.data_size_in = static_cast<uint32_t>(buffer_.size());
  } else {
    opts.data_in = packet.data();
    opts.data_size_in = static_cast<uint32_t>(packet.size());
  }
  return RunOnce(program_.prog_fd(), &opts);
}

RunResult Harness::RunTc(const std::vector<uint8_t>& packet) {
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.repeat = 1;
  opts.data_in = packet.data();
  opts.data_size_in = static_cast<uint32_t>(packet.size());
  return RunOnce(program_.tc_prog_fd(), &opts);
}

RunResult Harness::RunOnce(int prog_fd, bpf_test_run_opts* opts) {
  RunResult r;
  if (bpf_prog_test_run_opts(prog_fd, opts) != 0) {
    r.error = std::string("bpf_prog_test_run_opts: ") + std::strerror(errno);
    return r;
  }
  r.action = opts->retval;
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(program_.map_fd(xdp::Map::kLastDecision), &zero, per_cpu_.data()) != 0) {
    r.error = std::string("last_decision: ") + std::strerror(errno);
    return r;
  }
  r.decision = per_cpu_[static_cast<size_t>(cpu_)];
  r.ok = true;
  return r;
}

double Harness::MeanNanos(const std::vector<uint8_t>& packet, uint32_t repeat) const {
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.repeat = repeat;
  opts.data_in = packet.data();
  opts.data_size_in = static_cast<uint32_t>(packet.size());
  if (bpf_prog_test_run_opts(program_.prog_fd(), &opts) != 0) return -1;
  return static_cast<double>(opts.duration);
}

DropCounts Harness::Drops() const { return program_.ReadDropReasons(); }

void ClearMap(int fd, size_t key_size) {
  std::vector<uint8_t> key(key_size);
  while (bpf_map_get_next_key(fd, nullptr, key.data()) == 0) {
    if (bpf_map_delete_elem(fd, key.data()) != 0) {
      ADD_FAILURE() << "delete: " << std::strerror(errno);
      return;
    }
  }
}

size_t CountKeys(int fd, size_t key_size) {
  std::vector<uint8_t> key(key_size), next(key_size);
  const void* prev = nullptr;
  size_t n = 0;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    ++n;
    key = next;
    prev = key.data();
  }
  return n;
}

PinDir::PinDir(const std::string& name) : path_("/sys/fs/bpf/netfence-test-" + name + "-" + std::to_string(getpid())) {
  Remove();
}

PinDir::~PinDir() { Remove(); }

void PinDir::Remove() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

xdp::LoadOptions StatelessOptions() {
  xdp::LoadOptions o;
  o.conntrack = false;
  o.events = false;
  o.record_decisions = true;
  o.conntrack_entries = 1024;
  o.ring_bytes = 4096;
  return o;
}

}  // namespace netfence::xdptest
