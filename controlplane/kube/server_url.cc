// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/server_url.h"

#include <arpa/inet.h>

#include <charconv>

namespace netfence::kube {
namespace {

bool IsIp(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::string BracketHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string ServerUrl::authority() const { return BracketHost(host) + ":" + std::to_string(port); }

std::string ServerUrl::str() const { return (tls ? "https://" : "http://") + authority() + prefix; }

StatusOr<ServerUrl> ParseServerUrl(const std::string& url) {
  auto fail = [&](const std::string& why) { return Status::Error("server URL \"" + url + "\": " + why); };
  ServerUrl out;
  std::string rest = url;
  if (rest.starts_with("https://")) {
    rest = rest.substr(8);
  } else if (rest.starts_with("http://")) {
    out.tls = false;
    out.port = 80;
    rest = rest.substr(7);
  } else if (rest.find("://") != std::string::npos) {
    return fail("scheme must be https or http");
  }
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) out.prefix = rest.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  if (out.prefix.find_first_of("?#") != std::string::npos) return fail("no query or fragment allowed");
  if (hostport.find('@') != std::string::npos) return fail("user info is not supported");
  std::string port;
  if (hostport.starts_with("[")) {
    size_t close = hostport.find(']');
    if (close == std::string::npos) return fail("unterminated [");
    out.host = hostport.substr(1, close - 1);
    std::string after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return fail("expected :port after ]");
      port = after.substr(1);
    }
  } else {
    size_t colon = hostport.rfind(':');
    if (colon != std::string::npos && hostport.find(':') != colon) return fail("IPv6 hosts must be bracketed");
    out.host = hostport.substr(0, colon);
    if (colon != std::string::npos) port = hostport.substr(colon + 1);
  }
  if (out.host.empty()) return fail("no host");
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) {
      return fail("invalid port \"" + port + "\"");
    }
    out.port = static_cast<uint16_t>(v);
  }
  out.host_is_ip = IsIp(out.host);
  if (out.host.find(':') != std::string::npos && !out.host_is_ip) return fail("invalid IPv6 address");
  return out;
}

}  // namespace netfence::kube
