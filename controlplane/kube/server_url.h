// SPDX-License-Identifier: Apache-2.0
// The API server's URL taken apart: scheme, host, port and an optional path prefix (some
// proxies serve a cluster under /k8s/clusters/ID). IPv6 hosts are written bracketed.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"

namespace netfence::kube {

struct ServerUrl {
  bool tls = true;   // https
  std::string host;  // without brackets: "10.0.0.1", "::1", "api.example"
  uint16_t port = 443;
  std::string prefix;  // "" or "/k8s/clusters/c-1" (no trailing slash)
  bool host_is_ip = false;

  // "host:port" for the Host header, IPv6 bracketed.
  std::string authority() const;
  // "https://host:port/prefix"
  std::string str() const;
};

// Accepts http:// and https:// URLs with an optional port and path; a bare "host:port" is
// taken as https (as client-go does). No query, fragment or user info.
StatusOr<ServerUrl> ParseServerUrl(const std::string& url);

// "[::1]" for IPv6 literals, the host unchanged otherwise.
std::string BracketHost(const std::string& host);

}  // namespace netfence::kube
