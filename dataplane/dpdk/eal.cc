// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

namespace netfence::dpdk {
namespace {
std::vector<std::string> g_args;  // rte_eal_init keeps pointers into argv
std::vector<char*> g_argv;
std::string g_runtime_dir;

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return {0};
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}
}  // namespace

StatusOr<std::vector<int>> ParseCpuList(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    const size_t dash = part.find('-');
    try {
      const int first = std::stoi(part.substr(0, dash));
      const int last = dash == std::string::npos ? first : std::stoi(part.substr(dash + 1));
      if (first < 0 || last < first || last >= CPU_SETSIZE) throw std::out_of_range(part);
      for (int c = first; c <= last; ++c) out.push_back(c);
    } catch (const std::exception&) {
      return Status::Error("CPU list '" + text + "': '" + part + "' is not a CPU or a range (\"1\", \"2-3\")");
    }
  }
  if (out.empty()) return Status::Error("CPU list '" + text + "' is empty");
  return out;
}

std::vector<std::string> EalArguments(const EalOptions& o) {
  const std::vector<int> allowed = AllowedCpus();
  std::string all;
  for (int c : allowed) all += (all.empty() ? "" : ",") + std::to_string(c);
  std::string lcores = "0@(" + all + ")";
  for (unsigned w = 0; w < o.workers; ++w) {
    int cpu;
    if (w < o.worker_cpus.size()) {
      cpu = o.worker_cpus[w];
    } else {
      const size_t n = allowed.size();
      cpu = allowed[(n - (o.workers % n == 0 ? n : o.workers % n) + w) % n];
    }
    lcores += "," + std::to_string(w + 1) + "@" + std::to_string(cpu);
  }
  const std::string prefix = o.file_prefix.empty() ? "netfence-" + std::to_string(::getpid()) : o.file_prefix;
  std::vector<std::string> args = {o.program,
                                   "--lcores=" + lcores,
                                   "--main-lcore=0",
                                   "--no-pci",
                                   "--no-shconf",
                                   "--no-telemetry",
                                   "-m",
                                   std::to_string(o.memory_mb),
                                   "--file-prefix=" + prefix,
                                   "--log-level=lib.eal:warning"};
  if (o.hugepages_dir.empty()) {
    args.push_back("--no-huge");
  } else {
    args.push_back("--huge-dir=" + o.hugepages_dir);
  }
  args.insert(args.end(), o.extra.begin(), o.extra.end());
  return args;
}

Status InitEal(const EalOptions& options) {
  if (!g_args.empty()) return Status::Error("the EAL is initialised once per process");
  g_args = EalArguments(options);
  for (auto& a : g_args) g_argv.push_back(a.data());
  g_argv.push_back(nullptr);
  std::string prefix = options.file_prefix.empty() ? "netfence-" + std::to_string(::getpid()) : options.file_prefix;
  g_runtime_dir = "/var/run/dpdk/" + prefix;
  if (rte_eal_init(static_cast<int>(g_args.size()), g_argv.data()) < 0) {
    std::string joined;
    for (const auto& a : g_args) joined += " " + a;
    return Status::Error(std::string("rte_eal_init:") + joined + ": " + rte_strerror(rte_errno));
  }
  return Status::Ok();
}

void CleanupEal() {
  rte_eal_cleanup();
  std::error_code ec;
  if (!g_runtime_dir.empty()) std::filesystem::remove_all(g_runtime_dir, ec);
}

}  // namespace netfence::dpdk
