// SPDX-License-Identifier: Apache-2.0
// Client probes and sessions: sockets are created inside the client namespace (SocketIn), then
// used from the calling thread with non-blocking calls and poll against a deadline.
#include "tests/testing/probes.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "tests/testing/sctp_packet.h"

namespace netfence::nettest {
namespace {

bool Transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

std::string Nonce() {
  uint64_t v = RandomU64();
  return std::string(reinterpret_cast<const char*>(&v), sizeof(v));
}

// A non-blocking socket inside ns, connected to dst (for TCP: established before the deadline).
StatusOr<UniqueFd> Connect(const Netns& ns, const SockAddr& dst, int type, int protocol, const Deadline& deadline) {
  auto fd = SocketIn(ns, dst.family(), type | SOCK_NONBLOCK, protocol);
  if (!fd.ok()) return fd.status();
  if (::connect(fd->get(), dst.get(), dst.len) != 0) {
    if (errno != EINPROGRESS) return Status::Error(std::string("connect: ") + std::strerror(errno));
    if (!WaitFor(fd->get(), POLLOUT, deadline)) return Status::Error("connect: timed out");
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd->get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Status::Error(std::string("connect: ") + std::strerror(err));
  }
  return fd;
}

StatusOr<UniqueFd> Connect(const Netns& ns, const std::string& dst, uint16_t port, int type, int protocol,
                           const Deadline& deadline) {
  auto addr = ParseAddr(dst, type == SOCK_RAW ? 0 : port);  // raw sockets have no port
  if (!addr.ok()) return addr.status();
  return Connect(ns, *addr, type, protocol, deadline);
}

enum class StreamEcho { kOk, kTimeout, kBroken };

// Sends `data` on a TCP socket and reads until everything in *unechoed (data appended) is back.
StreamEcho EchoStream(int fd, const std::string& data, std::string* unechoed, const Deadline& deadline) {
  for (size_t sent = 0; sent < data.size();) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      unechoed->append(data, sent, static_cast<size_t>(n));
      sent += static_cast<size_t>(n);
    } else if (n < 0 && !Transient(errno)) {
      return StreamEcho::kBroken;
    } else if (!WaitFor(fd, POLLOUT, deadline)) {
      return StreamEcho::kTimeout;
    }
  }
  char buf[4096];
  while (!unechoed->empty()) {
    if (!WaitFor(fd, POLLIN, deadline)) return StreamEcho::kTimeout;
    ssize_t n = ::recv(fd, buf, std::min(sizeof(buf), unechoed->size()), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && !Transient(errno))) return StreamEcho::kBroken;
    if (n < 0) continue;
    if (unechoed->compare(0, static_cast<size_t>(n), buf, static_cast<size_t>(n)) != 0) return StreamEcho::kBroken;
    unechoed->erase(0, static_cast<size_t>(n));
  }
  return StreamEcho::kOk;
}

// Drops whatever is waiting on the socket, and pending ICMP errors (each is reported once).
void Drain(int fd) {
  char buf[65536];
  for (int i = 0; i < 1024; ++i) {  // bounded, in case an error were sticky
    if (::recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  }
}

// Sends a nonce on a connected UDP socket; true iff it comes back. An ICMP port unreachable
// (ECONNREFUSED) ends the wait early.
bool EchoDatagram(int fd, const Deadline& deadline) {
  Drain(fd);
  const std::string nonce = Nonce();
  if (::send(fd, nonce.data(), nonce.size(), MSG_DONTWAIT) != static_cast<ssize_t>(nonce.size())) return false;
  char buf[64];
  while (WaitFor(fd, POLLIN, deadline)) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && errno == ECONNREFUSED) return false;
    if (n == static_cast<ssize_t>(nonce.size()) && nonce.compare(0, nonce.size(), buf, nonce.size()) == 0) return true;
  }
  return false;
}

// Sends an INIT on a raw socket connected to the server; true iff the matching INIT-ACK comes back:
// from dst_port to src_port, verification tag == tag, and (when match_cookie) ProbeServer's cookie
// for this TSN.
bool SctpHandshake(int fd, int family, uint16_t src_port, uint16_t dst_port, uint32_t tag, bool match_cookie,
                   const Deadline& deadline) {
  SctpPacket init;
  init.src_port = src_port;
  init.dst_port = dst_port;
  init.initiate_tag = tag;
  init.initial_tsn = RandomU32();
  const std::vector<uint8_t> packet = BuildSctp(init);
  if (::send(fd, packet.data(), packet.size(), MSG_DONTWAIT) != static_cast<ssize_t>(packet.size())) return false;
  const std::vector<uint8_t> cookie = ResponderCookie(init.initial_tsn);
  uint8_t buf[65536];
  while (WaitFor(fd, POLLIN, deadline)) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) continue;
    std::span<const uint8_t> bytes(buf, static_cast<size_t>(n));
    if (family == AF_INET) {  // IPv4 raw sockets read the IP header too
      auto payload = Ipv4Payload(bytes);
      if (!payload) continue;
      bytes = *payload;
    }
    auto ack = ParseSctp(bytes);
    if (ack && ack->chunk == kSctpInitAck && ack->src_port == dst_port && ack->dst_port == src_port &&
        ack->vtag == tag && (!match_cookie || ack->cookie == cookie)) {
      return true;
    }
  }
  return false;
}

// A port from the dynamic range, and an initiate tag (never zero).
uint16_t RandomPort() { return static_cast<uint16_t>(49152 + RandomU32() % 16384); }
uint32_t RandomTag() { return RandomU32() | 1; }

}  // namespace

bool ProbeTcp(const Netns& client, const std::string& dst, uint16_t port, int timeout_ms) {
  Deadline deadline(timeout_ms);
  auto fd = Connect(client, dst, port, SOCK_STREAM, 0, deadline);
  std::string unechoed;
  return fd.ok() && EchoStream(fd->get(), "p", &unechoed, deadline) == StreamEcho::kOk;
}

bool ProbeUdp(const Netns& client, const std::string& dst, uint16_t port, int timeout_ms) {
  Deadline deadline(timeout_ms);
  auto fd = Connect(client, dst, port, SOCK_DGRAM, 0, deadline);
  return fd.ok() && EchoDatagram(fd->get(), deadline);
}

namespace {
uint16_t LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}
}  // namespace

StatusOr<Transfer> TcpTransfer(const Netns& client, const std::string& dst, uint16_t port, size_t bytes,
                               int timeout_ms) {
  Deadline deadline(timeout_ms);
  auto fd = Connect(client, dst, port, SOCK_STREAM, 0, deadline);
  if (!fd.ok()) return Status::Error("TCP to " + dst + ":" + std::to_string(port) + ": " + fd.status().message());
  Transfer t;
  t.local_port = LocalPort(fd->get());
  std::string data(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>('a' + i % 26);
  std::string unechoed;
  if (EchoStream(fd->get(), data, &unechoed, deadline) != StreamEcho::kOk) return Status::Error("TCP echo failed");
  t.sent = t.received = bytes;
  ::shutdown(fd->get(), SHUT_WR);
  char buf[256];
  for (;;) {  // the server closes its side once it read our FIN
    if (!WaitFor(fd->get(), POLLIN, deadline)) return Status::Error("TCP close: timed out");
    ssize_t n = ::recv(fd->get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) break;
    if (n < 0 && !Transient(errno)) return Status::Error(std::string("TCP close: ") + std::strerror(errno));
    if (n > 0) return Status::Error("TCP close: unexpected data");
  }
  return t;
}

StatusOr<Transfer> UdpExchange(const Netns& client, const std::string& dst, uint16_t port, int count, size_t size,
                               int timeout_ms) {
  auto fd = Connect(client, dst, port, SOCK_DGRAM, 0, Deadline(timeout_ms));
  if (!fd.ok()) return fd.status();
  Transfer t;
  t.local_port = LocalPort(fd->get());
  std::vector<char> out(size), in(size + 1);
  for (int i = 0; i < count; ++i) {
    for (size_t k = 0; k < size; ++k) out[k] = static_cast<char>(RandomU32());
    Deadline deadline(timeout_ms);
    if (::send(fd->get(), out.data(), size, MSG_DONTWAIT) != static_cast<ssize_t>(size)) {
      return Status::Error(std::string("UDP send: ") + std::strerror(errno));
    }
    t.sent += size;
    bool back = false;
    while (!back && WaitFor(fd->get(), POLLIN, deadline)) {
      ssize_t n = ::recv(fd->get(), in.data(), in.size(), MSG_DONTWAIT);
      back = n == static_cast<ssize_t>(size) && std::memcmp(in.data(), out.data(), size) == 0;
    }
    if (!back) return Status::Error("UDP datagram " + std::to_string(i) + " not echoed");
    t.received += size;
  }
  return t;
}

bool ProbeSctp(const Netns& client, const std::string& dst, uint16_t port, int timeout_ms) {
  Deadline deadline(timeout_ms);
  auto addr = ParseAddr(dst, 0);
  if (!addr.ok()) return false;
  auto fd = Connect(client, *addr, SOCK_RAW, kIpProtoSctp, deadline);
  return fd.ok() && SctpHandshake(fd->get(), addr->family(), RandomPort(), port, RandomTag(), false, deadline);
}

StatusOr<std::unique_ptr<TcpSession>> TcpSession::Open(const Netns& client, const std::string& dst, uint16_t port,
                                                       int timeout_ms) {
  auto fd = Connect(client, dst, port, SOCK_STREAM, 0, Deadline(timeout_ms));
  if (!fd.ok()) return Status::Error("TCP to " + dst + ":" + std::to_string(port) + ": " + fd.status().message());
  return std::unique_ptr<TcpSession>(new TcpSession(std::move(fd).value()));
}

bool TcpSession::Echo(int timeout_ms) {
  if (broken_) return false;
  StreamEcho result = EchoStream(fd_.get(), Nonce(), &unechoed_, Deadline(timeout_ms));
  broken_ = result == StreamEcho::kBroken;
  return result == StreamEcho::kOk;
}

StatusOr<std::unique_ptr<UdpSession>> UdpSession::Open(const Netns& client, const std::string& dst, uint16_t port,
                                                       int timeout_ms) {
  auto fd = Connect(client, dst, port, SOCK_DGRAM, 0, Deadline(timeout_ms));
  if (!fd.ok()) return Status::Error("UDP to " + dst + ":" + std::to_string(port) + ": " + fd.status().message());
  std::unique_ptr<UdpSession> session(new UdpSession(std::move(fd).value()));
  if (!session->Echo(timeout_ms)) return Status::Error("UDP to " + dst + ":" + std::to_string(port) + ": no echo");
  return session;
}

bool UdpSession::Echo(int timeout_ms) { return EchoDatagram(fd_.get(), Deadline(timeout_ms)); }

uint16_t TcpSession::local_port() const { return LocalPort(fd_.get()); }
uint16_t UdpSession::local_port() const { return LocalPort(fd_.get()); }

StatusOr<std::unique_ptr<SctpSession>> SctpSession::Open(const Netns& client, const std::string& dst, uint16_t port,
                                                         int timeout_ms) {
  auto addr = ParseAddr(dst, 0);
  if (!addr.ok()) return addr.status();
  auto fd = Connect(client, *addr, SOCK_RAW, kIpProtoSctp, Deadline(timeout_ms));
  if (!fd.ok()) return Status::Error("SCTP to " + dst + ": " + fd.status().message());
  std::unique_ptr<SctpSession> session(new SctpSession(std::move(fd).value(), addr->family()));
  session->src_port_ = RandomPort();
  session->dst_port_ = port;
  session->tag_ = RandomTag();
  if (!session->Echo(timeout_ms)) {
    return Status::Error("SCTP to " + dst + ":" + std::to_string(port) + ": no INIT-ACK");
  }
  return session;
}

bool SctpSession::Echo(int timeout_ms) {
  Drain(fd_.get());
  return SctpHandshake(fd_.get(), family_, src_port_, dst_port_, tag_, true, Deadline(timeout_ms));
}

}  // namespace netfence::nettest
