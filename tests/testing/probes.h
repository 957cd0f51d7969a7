// SPDX-License-Identifier: Apache-2.0
// Real connection attempts between network namespaces: an echo server for TCP, UDP and SCTP, one-shot
// client probes, and long-lived sessions for "policy changed mid-flow" tests. Addresses are IPv4
// or IPv6 literals; every wait has a timeout in milliseconds; nothing throws.
//
// SCTP: this kernel has no SCTP module, so both sides use raw IP sockets (protocol 132). The
// server answers an INIT to its port with an INIT-ACK (verification tag = the INIT's initiate
// tag); a probe succeeds when that INIT-ACK comes back. Nothing further of the association is
// set up. Raw sockets see every SCTP packet of their namespace, so the ports and tags are checked.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "tests/testing/netns.h"
#include "tests/testing/socket_util.h"

namespace netfence::nettest {

// Echoes on addr:port inside a namespace: TCP (every byte back, each connection), UDP (every
// datagram back to its sender) and SCTP (INIT -> INIT-ACK; other packets and ports are ignored).
// One thread polls all sockets; Stop() or the destructor ends it promptly.
class ProbeServer {
 public:
  // Binds the three sockets inside ns (port must not be 0) and starts serving.
  static StatusOr<std::unique_ptr<ProbeServer>> Start(const Netns& ns, const std::string& addr, uint16_t port);
  ~ProbeServer();
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;

  // Stops the thread and closes all sockets; idempotent.
  void Stop();

 private:
  ProbeServer() = default;
  void Serve();
  void AnswerSctp();

  SockAddr local_;
  UniqueFd stop_;  // eventfd: readable once Stop() was called
  UniqueFd tcp_, udp_, sctp_;
  std::thread thread_;
};

// Connects from inside `client` (non-blocking connect and poll) and sends one byte: true iff the
// connection was established and the byte came back before the timeout.
bool ProbeTcp(const Netns& client, const std::string& dst, uint16_t port, int timeout_ms = 1000);
// Sends a datagram with a random nonce: true iff the same nonce came back before the timeout.
bool ProbeUdp(const Netns& client, const std::string& dst, uint16_t port, int timeout_ms = 1000);
// Sends an INIT from a random source port with a random initiate tag: true iff an INIT-ACK from
// dst:port to that port with that verification tag came back before the timeout.
bool ProbeSctp(const Netns& client, const std::string& dst, uint16_t port, int timeout_ms = 1000);

// Known traffic for flow-log tests: what was sent and received, and the client's port (the
// 5-tuple's source port, to find the flow's records).
struct Transfer {
  uint16_t local_port = 0;
  uint64_t sent = 0;  // payload bytes
  uint64_t received = 0;
};
// Opens a TCP connection, sends `bytes` (a pattern), reads the echo of all of them, then closes
// cleanly: shutdown(SHUT_WR), wait for the server's FIN, close. Fails on any error or timeout.
StatusOr<Transfer> TcpTransfer(const Netns& client, const std::string& dst, uint16_t port, size_t bytes,
                               int timeout_ms = 5000);
// Sends `count` datagrams of `size` bytes from one socket, one at a time, each waiting for its
// echo. Fails unless every one comes back.
StatusOr<Transfer> UdpExchange(const Netns& client, const std::string& dst, uint16_t port, int count, size_t size,
                               int timeout_ms = 2000);

// One established TCP connection. Echo sends an 8-byte nonce and waits for it: every byte sent
// comes back in order, so bytes of earlier Echos that timed out (still retransmitted by TCP) are
// expected first and skipped. Once the connection fails (reset, closed, wrong bytes) Echo is false.
class TcpSession {
 public:
  // Fails unless the connection is established before the timeout.
  static StatusOr<std::unique_ptr<TcpSession>> Open(const Netns& client, const std::string& dst, uint16_t port,
                                                    int timeout_ms = 1000);
  // True iff all bytes sent so far, this call's nonce included, are echoed before the timeout.
  bool Echo(int timeout_ms = 1000);
  uint16_t local_port() const;  // the connection's source port

 private:
  explicit TcpSession(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::string unechoed_;  // sent, not yet seen back
  bool broken_ = false;
};

// One connected UDP socket (a fixed 5-tuple). Echo drains stale replies, sends a fresh nonce and
// waits for it, discarding anything else.
class UdpSession {
 public:
  // Fails unless a first Echo succeeds before the timeout.
  static StatusOr<std::unique_ptr<UdpSession>> Open(const Netns& client, const std::string& dst, uint16_t port,
                                                    int timeout_ms = 1000);
  bool Echo(int timeout_ms = 1000);
  uint16_t local_port() const;

 private:
  explicit UdpSession(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// A fixed SCTP "association" (source port, destination port, initiate tag). Echo re-sends the INIT
// on the same ports with the same tag and a fresh initial TSN, and waits for the INIT-ACK whose
// State Cookie carries that TSN (ProbeServer's cookie does; see ResponderCookie), so late answers
// to earlier Echos are not counted.
class SctpSession {
 public:
  // Fails unless a first Echo succeeds before the timeout.
  static StatusOr<std::unique_ptr<SctpSession>> Open(const Netns& client, const std::string& dst, uint16_t port,
                                                     int timeout_ms = 1000);
  bool Echo(int timeout_ms = 1000);

 private:
  SctpSession(UniqueFd fd, int family) : fd_(std::move(fd)), family_(family) {}
  UniqueFd fd_;  // raw socket, connected to dst
  int family_;
  uint16_t src_port_ = 0;
  uint16_t dst_port_ = 0;
  uint32_t tag_ = 0;
};

}  // namespace netfence::nettest
