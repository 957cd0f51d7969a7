// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/e2e_fixture.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/e2e/process.h"
#include "tests/testing/socket_util.h"

namespace netfence::e2e {

std::string BinDir() { return NETFENCE_BIN_DIR; }

ManifestDir::ManifestDir() {
  char tmpl[] = "/tmp/netfence-manifests-XXXXXX";
  path_ = ::mkdtemp(tmpl) != nullptr ? tmpl : "/tmp";
}

ManifestDir::~ManifestDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void ManifestDir::Write(const std::string& name, const std::string& text) const {
  const std::string tmp = path_ + "/." + name + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
  }
  std::filesystem::rename(tmp, path_ + "/" + name);
}

void ManifestDir::Remove(const std::string& name) const {
  std::error_code ec;
  std::filesystem::remove(path_ + "/" + name, ec);
}

StatusOr<nlohmann::json> NetfencectlMatrix(const std::string& dir, k8s::Protocol protocol, uint16_t port) {
  auto r = RunProcess({BinDir() + "/netfencectl", "matrix", "--manifests", dir, "--protocol",
                       k8s::ProtocolName(protocol), "--port", std::to_string(port)},
                      {}, "");
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Status::Error("netfencectl matrix failed: " + r->err);
  auto j = nlohmann::json::parse(r->out, nullptr, false);
  if (j.is_discarded()) return Status::Error("netfencectl matrix printed no JSON: " + r->out);
  return j;
}

StatusOr<std::unique_ptr<UdpSink>> UdpSink::Bind(const nettest::Netns& ns, const std::string& addr, uint16_t port) {
  auto sa = nettest::ParseAddr(addr, port);
  if (!sa.ok()) return sa.status();
  auto fd = nettest::SocketIn(ns, sa->family(), SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (!fd.ok()) return fd.status();
  const int one = 1;
  ::setsockopt(fd->get(), sa->family() == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
               sa->family() == AF_INET ? IP_FREEBIND : IPV6_FREEBIND, &one, sizeof(one));
  if (::bind(fd->get(), sa->get(), sa->len) != 0) return Status::Error("bind " + addr + ": failed");
  return std::unique_ptr<UdpSink>(new UdpSink(std::move(fd).value()));
}

int UdpSink::Count() {
  char buf[2048];
  while (::recv(fd_.get(), buf, sizeof(buf), 0) >= 0) ++count_;
  return count_;
}

int UdpBlast(const nettest::Netns& ns, const std::string& dst, uint16_t port, int count) {
  auto sa = nettest::ParseAddr(dst, port);
  if (!sa.ok()) return 0;
  auto fd = nettest::SocketIn(ns, sa->family(), SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (!fd.ok()) return 0;
  int sent = 0;
  const char payload[] = "netfence-blast";
  for (int i = 0; i < count; ++i) {
    if (::sendto(fd->get(), payload, sizeof(payload), 0, sa->get(), sa->len) > 0) ++sent;
  }
  return sent;
}

std::string Percentiles(std::vector<double> ms) {
  if (ms.empty()) return "no samples";
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))];
  };
  char buf[160];
  std::snprintf(buf, sizeof(buf), "p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu samples)", at(0.5), at(0.99), ms.back(),
                ms.size());
  return buf;
}

}  // namespace netfence::e2e
