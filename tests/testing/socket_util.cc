// SPDX-License-Identifier: Apache-2.0
// Socket helpers for the probes: address parsing, deadlines, poll, getrandom, namespaced sockets.
#include "tests/testing/socket_util.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace netfence::nettest {

StatusOr<SockAddr> ParseAddr(const std::string& addr, uint16_t port) {
  SockAddr out;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (::inet_pton(AF_INET, addr.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, addr.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
  } else {
    return Status::Error("not an IPv4 or IPv6 literal: \"" + addr + "\"");
  }
  return out;
}

uint16_t Port(const SockAddr& a) {
  if (a.family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_port);
}

void SetPort(SockAddr* a, uint16_t port) {
  if (a->family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a->storage)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&a->storage)->sin6_port = htons(port);
  }
}

int Deadline::RemainingMs() const {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(end_ - std::chrono::steady_clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool WaitFor(int fd, short events, const Deadline& deadline) {
  pollfd p = {fd, events, 0};
  while (true) {
    int n = ::poll(&p, 1, deadline.RemainingMs());
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

uint64_t RandomU64() {
  uint64_t v = 0;
  size_t got = 0;
  while (got < sizeof(v)) {
    ssize_t n = ::getrandom(reinterpret_cast<char*>(&v) + got, sizeof(v) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return v;
}

uint32_t RandomU32() { return static_cast<uint32_t>(RandomU64()); }

StatusOr<UniqueFd> SocketIn(const Netns& ns, int domain, int type, int protocol) {
  return InNetns(ns, [&]() -> StatusOr<UniqueFd> {
    UniqueFd fd(::socket(domain, type | SOCK_CLOEXEC, protocol));
    if (!fd.valid()) return Status::Error(std::string("socket: ") + std::strerror(errno));
    return fd;
  });
}

}  // namespace netfence::nettest
