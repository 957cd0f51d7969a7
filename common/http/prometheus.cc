// SPDX-License-Identifier: Apache-2.0
#include "common/http/prometheus.h"

#include <cmath>
#include <cstdio>

namespace netfence::prometheus {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Text::Sample(const std::string& name, const std::string& type, const std::string& help, double value,
                  const Labels& labels) {
  if (declared_.insert(name).second) out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  out_ += name;
  if (!labels.empty()) {
    out_ += "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      out_ += (i ? "," : "") + labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
    }
    out_ += "}";
  }
  char buf[64];
  if (std::floor(value) == value && std::fabs(value) < 9007199254740992.0) {
    std::snprintf(buf, sizeof(buf), " %.0f\n", value);
  } else {
    std::snprintf(buf, sizeof(buf), " %.9g\n", value);
  }
  out_ += buf;
}

void Text::Counter(const std::string& name, const std::string& help, double value, const Labels& labels) {
  Sample(name, "counter", help, value, labels);
}

void Text::Gauge(const std::string& name, const std::string& help, double value, const Labels& labels) {
  Sample(name, "gauge", help, value, labels);
}

}  // namespace netfence::prometheus
