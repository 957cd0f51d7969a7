// SPDX-License-Identifier: Apache-2.0
// Prometheus text exposition (format 0.0.4): # HELP and # TYPE once per family, samples with
// escaped label values, a final newline. Names follow the conventions: netfence_ prefix,
// base units, _total on counters; labels never carry pod names or addresses.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace netfence::prometheus {

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::vector<std::pair<std::string, std::string>>;

class Text {
 public:
  void Counter(const std::string& name, const std::string& help, double value, const Labels& labels = {});
  void Gauge(const std::string& name, const std::string& help, double value, const Labels& labels = {});
  const std::string& str() const { return out_; }

 private:
  void Sample(const std::string& name, const std::string& type, const std::string& help, double value,
              const Labels& labels);
  std::string out_;
  std::set<std::string> declared_;
};

std::string EscapeLabelValue(const std::string& v);

}  // namespace netfence::prometheus
