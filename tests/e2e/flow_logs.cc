// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/flow_logs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dataplane/flowlog/file_sink.h"
#include "tests/testing/socket_util.h"

namespace netfence::e2e {

std::vector<std::string> FlowLogLines(const std::string& path) {
  std::vector<std::string> files = flowlog::RotatedSiblings(path);
  files.push_back(path);
  std::vector<std::string> lines;
  for (const std::string& f : files) {
    std::ifstream in(f);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty()) lines.push_back(l);
    }
  }
  return lines;
}

StatusOr<std::vector<flowlog::FlowRecord>> ReadFlowLog(const std::string& path) {
  std::vector<flowlog::FlowRecord> out;
  for (const std::string& l : FlowLogLines(path)) {
    auto r = flowlog::ParseRecord(l);
    if (!r.ok()) return Status::Error(path + ": " + r.status().message() + ": " + l);
    out.push_back(std::move(r).value());
  }
  return out;
}

Status MergeFlowLogs(const std::vector<std::string>& paths, const std::string& out) {
  std::vector<std::pair<int64_t, std::string>> all;
  for (const std::string& p : paths) {
    for (std::string& l : FlowLogLines(p)) {
      auto r = flowlog::ParseRecord(l);
      if (!r.ok()) return Status::Error(p + ": " + r.status().message());
      all.emplace_back(r->time_ns, std::move(l));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::ofstream f(out, std::ios::trunc);
  for (const auto& [t, l] : all) f << l << "\n";
  f.close();
  if (!f) return Status::Error(out + ": cannot be written");
  return Status::Ok();
}

StatusOr<std::string> HttpGetIn(const nettest::Netns& ns, const std::string& address, const std::string& path) {
  const auto colon = address.rfind(':');
  auto sa = nettest::ParseAddr(address.substr(0, colon), static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  if (!sa.ok()) return sa.status();
  auto fd = nettest::SocketIn(ns, sa->family(), SOCK_STREAM, 0);
  if (!fd.ok()) return fd.status();
  timeval tv{5, 0};
  ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd->get(), sa->get(), sa->len) != 0) {
    return Status::Error("connect " + address + ": " + std::strerror(errno));
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n\r\n";
  if (::send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    return Status::Error("send: " + std::string(std::strerror(errno)));
  }
  std::string response;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd->get(), buf, sizeof(buf), 0)) > 0;) response.append(buf, static_cast<size_t>(n));
  const auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) {
    return Status::Error("GET " + path + ": " + response.substr(0, response.find('\r')));
  }
  return response.substr(body + 4);
}

std::optional<double> MetricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.size() > series.size() && l.compare(0, series.size(), series) == 0 && l[series.size()] == ' ') {
      return std::stod(l.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

}  // namespace netfence::e2e
