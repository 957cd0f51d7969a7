// SPDX-License-Identifier: Apache-2.0
// A console reporter that, after the run, prints each benchmark's time as a ratio to its
// peer measured in the same run (e.g. Classify/10000 vs LinearScan/10000).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace netfence::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Benchmarks named "<ours>/<args>" are compared with "<peer>/<args>".
  void AddPeer(std::string ours, std::string peer) { pairs_.emplace_back(std::move(ours), std::move(peer)); }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      if (r.run_type == Run::RT_Iteration || r.aggregate_name == "median") {
        times_[Normalized(r.benchmark_name())] = r.GetAdjustedRealTime() * Scale(r.time_unit);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    bool header = false;
    for (const auto& [ours, peer] : pairs_) {
      for (const auto& [name, t] : times_) {
        if (name.rfind(ours + "/", 0) != 0) continue;
        std::string args = name.substr(ours.size());
        auto it = times_.find(peer + args);
        if (it == times_.end() || t <= 0) continue;
        if (!header) {
          GetOutputStream()
              << "\nRatios to peers measured in this run (peer time / our time: >1 means we are faster)\n";
          header = true;
        }
        char line[256];
        std::snprintf(line, sizeof(line), "  %-40s vs %-36s %8.2fx\n", name.c_str(), it->first.c_str(), it->second / t);
        GetOutputStream() << line;
      }
    }
  }

 private:
  // Without the "/min_time:...", "/repeats:..." and "/iterations:..." parts, which differ
  // between peers.
  static std::string Normalized(std::string name) {
    for (const char* part : {"/min_time:", "/repeats:", "/iterations:"}) {
      for (size_t at; (at = name.find(part)) != std::string::npos;) {
        size_t end = name.find('/', at + 1);
        name.erase(at, end == std::string::npos ? std::string::npos : end - at);
      }
    }
    return name;
  }
  // Times in nanoseconds whatever unit each benchmark reports in.
  static double Scale(benchmark::TimeUnit u) {
    switch (u) {
      case benchmark::kSecond:
        return 1e9;
      case benchmark::kMillisecond:
        return 1e6;
      case benchmark::kMicrosecond:
        return 1e3;
      default:
        return 1;
    }
  }
  std::vector<std::pair<std::string, std::string>> pairs_;
  std::map<std::string, double> times_;
};

}  // namespace netfence::bench
