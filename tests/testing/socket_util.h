// SPDX-License-Identifier: Apache-2.0
// Socket helpers shared by the probes and the probe server: literal addresses of either family,
// deadlines, poll with a timeout, random numbers, and sockets created inside a namespace.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "tests/testing/netns.h"

namespace netfence::nettest {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// An IPv4 or IPv6 literal ("10.99.0.1", "fd00:99::1") and a port.
StatusOr<SockAddr> ParseAddr(const std::string& addr, uint16_t port);
uint16_t Port(const SockAddr& a);
void SetPort(SockAddr* a, uint16_t port);

class Deadline {
 public:
  explicit Deadline(int timeout_ms) : end_(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)) {}
  // Milliseconds left, at least 0 (rounded up so a poll does not spin for the last millisecond).
  int RemainingMs() const;
  bool Expired() const { return std::chrono::steady_clock::now() >= end_; }

 private:
  std::chrono::steady_clock::time_point end_;
};

// Polls one descriptor for `events` until it is ready (true) or the deadline passes (false).
bool WaitFor(int fd, short events, const Deadline& deadline);

uint32_t RandomU32();
uint64_t RandomU64();

// socket(domain, type | SOCK_CLOEXEC, protocol) made inside ns.
StatusOr<UniqueFd> SocketIn(const Netns& ns, int domain, int type, int protocol);

}  // namespace netfence::nettest
