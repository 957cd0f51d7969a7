// SPDX-License-Identifier: Apache-2.0
// What the benchmarks that build rigs (network namespaces, veth pairs, XDP attachments, DPDK
// ports) share around their main: an error, or SIGINT/SIGTERM, unwinds to main as a Failure,
// so that every RAII holder on the way removes what it made; and the median of rounds.
//
//   int main(...) {
//     CatchInterrupts();
//     return RunReportingFailures("xdp_bench", [&] { return Main(options); });
//   }
#pragma once

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace netfence::bench {

struct Failure {
  std::string message;
};

// Set by SIGINT/SIGTERM once CatchInterrupts() ran; the next Must() fails with "interrupted".
inline volatile std::sig_atomic_t g_interrupted = 0;

[[noreturn]] inline void Fail(const Status& s) { throw Failure{s.message()}; }

template <typename T>
T Must(StatusOr<T> v) {
  if (g_interrupted) Fail(Status::Error("interrupted"));
  if (!v.ok()) Fail(v.status());
  return std::move(*v);
}

inline void Must(const Status& s) {
  if (g_interrupted) Fail(Status::Error("interrupted"));
  if (!s.ok()) Fail(s);
}

// SIGINT and SIGTERM (which also interrupt a running BPF_PROG_TEST_RUN) set g_interrupted
// instead of killing the process half-way through a rig.
inline void CatchInterrupts() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupted = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// body()'s exit status; a Failure is printed as "<program>: <message>" and exits 1.
inline int RunReportingFailures(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Failure& f) {
    std::fprintf(stderr, "%s: %s\n", program, f.message.c_str());
    return 1;
  }
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace netfence::bench
