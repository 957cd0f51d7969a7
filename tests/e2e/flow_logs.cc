// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/flow_logs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "dataplane/flowlog/community_id.h"
#include "dataplane/flowlog/file_sink.h"
#include "tests/e2e/process.h"
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

StatusOr<std::set<DotEdge>> DotEdges(const std::string& dot) {
  auto run = RunProcess({"/usr/bin/dot", "-Tjson0"}, {}, dot);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) return Status::Error("dot -Tjson0: " + run->err);
  const auto g = nlohmann::json::parse(run->out, nullptr, /*allow_exceptions=*/false);
  if (g.is_discarded() || !g.contains("objects")) return Status::Error("dot -Tjson0: not a graph: " + run->out);
  std::map<int, std::string> names;
  for (const auto& o : g["objects"]) {
    if (!o.contains("nodes")) names[o["_gvid"].get<int>()] = o["name"].get<std::string>();  // not a cluster
  }
  std::set<DotEdge> edges;
  if (g.contains("edges")) {
    for (const auto& e : g["edges"]) {
      edges.insert({names[e["tail"].get<int>()], names[e["head"].get<int>()], e.value("verdict", "")});
    }
  }
  return edges;
}

std::string Incomplete(const flowlog::FlowRecord& r, const std::set<std::string>& pods) {
  using flowlog::EventKind;
  if (r.event == EventKind::kLost) return "";
  std::string why;
  for (const auto* e : {&r.src, &r.dst}) {
    if (e->ip && pods.contains(e->ip->str()) && (e->pod.empty() || e->ns.empty() || e->node.empty())) {
      why += (e == &r.src ? "src" : "dst") + std::string(" not named; ");
    }
  }
  const bool one_flow = r.event != EventKind::kDrop || r.aggregation == flowlog::Aggregation::kExact;
  if (one_flow && r.src.ip && r.dst.ip) {
    const bool icmp = r.proto == 1 || r.proto == 58;
    if (!icmp) {
      const std::string want =
          flowlog::CommunityId(*r.src.ip, *r.dst.ip, r.proto, r.src.port.value_or(0), r.dst.port.value_or(0));
      if (r.community_id != want) why += "community_id " + r.community_id + " is not " + want + "; ";
    } else if (r.community_id.empty()) {
      why += "no community_id; ";
    }
  }
  if (r.verdict == flowlog::Verdict::kDenied && r.policies.empty() &&
      (r.reason == flowlog::reason::kDefaultDeny || r.reason == flowlog::reason::kRevoked)) {
    why += "denied without a policy; ";
  }
  if (r.generation == 0 && r.reason != flowlog::reason::kMalformed && r.reason != flowlog::reason::kNoTables) {
    why += "generation 0; ";
  }
  return why;
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
