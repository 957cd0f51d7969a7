// SPDX-License-Identifier: Apache-2.0
// ProbeServer: one thread polls a stop eventfd, a TCP listener and its connections, a UDP socket
// and a raw SCTP socket, all non-blocking, and echoes (TCP, UDP) or answers INITs (SCTP).
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tests/testing/probes.h"
#include "tests/testing/sctp_packet.h"

namespace netfence::nettest {
namespace {

bool Transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

Status Errno(const std::string& what) { return Status::Error(what + ": " + std::strerror(errno)); }

// A non-blocking socket of addr's family bound to addr (port included unless `raw`).
StatusOr<UniqueFd> BoundSocket(const SockAddr& addr, int type, int protocol) {
  UniqueFd fd(::socket(addr.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!fd.valid()) return Errno("socket");
  int one = 1;
  if (type == SOCK_STREAM) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (addr.family() == AF_INET6 && type != SOCK_RAW) {
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));  // this family only
  }
  SockAddr bind_addr = addr;
  if (type == SOCK_RAW) SetPort(&bind_addr, 0);  // a raw socket has no port
  if (::bind(fd.get(), bind_addr.get(), bind_addr.len) != 0) return Errno("bind");
  if (type == SOCK_STREAM && ::listen(fd.get(), 64) != 0) return Errno("listen");
  return fd;
}

struct Connection {
  UniqueFd fd;
  std::string pending;  // received, not yet echoed
};

// Reads and echoes what is available; false once the connection is finished.
bool ServeConnection(Connection* c) {
  char buf[4096];
  if (c->pending.empty()) {
    ssize_t n = ::recv(c->fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && !Transient(errno))) return false;
    if (n > 0) c->pending.assign(buf, static_cast<size_t>(n));
  }
  if (!c->pending.empty()) {
    ssize_t n = ::send(c->fd.get(), c->pending.data(), c->pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && !Transient(errno)) return false;
    if (n > 0) c->pending.erase(0, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

StatusOr<std::unique_ptr<ProbeServer>> ProbeServer::Start(const Netns& ns, const std::string& addr, uint16_t port) {
  if (port == 0) return Status::Error("ProbeServer needs a fixed port");
  auto local = ParseAddr(addr, port);
  if (!local.ok()) return local.status();
  std::unique_ptr<ProbeServer> server(new ProbeServer());
  server->local_ = *local;
  server->stop_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!server->stop_.valid()) return Errno("eventfd");
  Status bound = InNetns(ns, [&]() -> Status {
    struct {
      UniqueFd* fd;
      int type, protocol;
      const char* what;
    } sockets[] = {{&server->tcp_, SOCK_STREAM, 0, "TCP"},
                   {&server->udp_, SOCK_DGRAM, 0, "UDP"},
                   {&server->sctp_, SOCK_RAW, kIpProtoSctp, "raw SCTP"}};
    for (auto& s : sockets) {
      auto fd = BoundSocket(server->local_, s.type, s.protocol);
      if (!fd.ok()) return Status::Error(std::string(s.what) + " on " + addr + ": " + fd.status().message());
      *s.fd = std::move(fd).value();
    }
    return Status::Ok();
  });
  if (!bound.ok()) return bound;
  server->thread_ = std::thread(&ProbeServer::Serve, server.get());
  return server;
}

ProbeServer::~ProbeServer() { Stop(); }

void ProbeServer::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (::write(stop_.get(), &one, sizeof(one)) != sizeof(one)) {
      // An eventfd write only fails on counter overflow; the thread is then already woken.
    }
    thread_.join();
  }
  tcp_.reset();
  udp_.reset();
  sctp_.reset();
}

void ProbeServer::Serve() {
  enum { kStop, kTcp, kUdp, kSctp, kFixed };
  std::vector<Connection> conns;
  std::vector<pollfd> fds;
  char buf[65536];
  while (true) {
    fds = {{stop_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}, {sctp_.get(), POLLIN, 0}};
    for (const auto& c : conns) {
      fds.push_back({c.fd.get(), static_cast<short>(c.pending.empty() ? POLLIN : POLLOUT), 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[kStop].revents) return;
    // Connections first: accepting below appends to `conns`, which fds does not cover yet.
    for (size_t i = conns.size(); i-- > 0;) {
      if (fds[kFixed + i].revents && !ServeConnection(&conns[i])) conns.erase(conns.begin() + static_cast<long>(i));
    }
    if (fds[kTcp].revents) {
      int fd;
      while ((fd = ::accept4(tcp_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        conns.push_back({UniqueFd(fd), ""});
      }
    }
    if (fds[kUdp].revents) {
      sockaddr_storage from;
      socklen_t from_len = sizeof(from);
      ssize_t n;
      while ((n = ::recvfrom(udp_.get(), buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                             &from_len)) >= 0) {
        ::sendto(udp_.get(), buf, static_cast<size_t>(n), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), from_len);
        from_len = sizeof(from);
      }
    }
    if (fds[kSctp].revents) AnswerSctp();
  }
}

// Answers every INIT to our port waiting on the raw socket with an INIT-ACK.
void ProbeServer::AnswerSctp() {
  uint8_t buf[65536];
  sockaddr_storage from;
  socklen_t from_len = sizeof(from);
  ssize_t n;
  const uint16_t port = Port(local_);
  auto* from_addr = reinterpret_cast<sockaddr*>(&from);
  while ((n = ::recvfrom(sctp_.get(), buf, sizeof(buf), MSG_DONTWAIT, from_addr, &from_len)) >= 0) {
    std::span<const uint8_t> bytes(buf, static_cast<size_t>(n));
    const socklen_t reply_len = from_len;
    from_len = sizeof(from);
    if (local_.family() == AF_INET) {  // IPv4 raw sockets read the IP header too; IPv6 ones do not
      auto payload = Ipv4Payload(bytes);
      if (!payload) continue;
      bytes = *payload;
    }
    auto init = ParseSctp(bytes);
    if (!init || init->chunk != kSctpInit || init->vtag != 0 || init->dst_port != port) continue;
    SctpPacket ack;
    ack.chunk = kSctpInitAck;
    ack.src_port = port;
    ack.dst_port = init->src_port;
    ack.vtag = init->initiate_tag;
    ack.initiate_tag = RandomU32() | 1;  // never zero
    ack.initial_tsn = RandomU32();
    ack.cookie = ResponderCookie(init->initial_tsn);
    const std::vector<uint8_t> reply = BuildSctp(ack);
    ::sendto(sctp_.get(), reply.data(), reply.size(), MSG_DONTWAIT, from_addr, reply_len);
  }
}

}  // namespace netfence::nettest
