// SPDX-License-Identifier: Apache-2.0
// A small HTTP/1.1 server on the caller's io_context for operational endpoints: /metrics
// (Prometheus text), /livez, /readyz. Each request is answered by a handler chosen by path;
// handlers run on the io_context (so they may read the owner's state without locks).
//
// It faces whatever can reach the port, so it defends itself: a request must arrive whole
// within Options::read_timeout (a slow or silent client is cut), headers and body are bounded,
// at most Options::max_connections are open at once (the next ones are closed at accept), and
// when the process runs out of file descriptors (EMFILE, ENFILE) accepting backs off instead
// of spinning. One request per connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/base/status.h"

namespace netfence::http {

struct Reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class Server {
 public:
  using Handler = std::function<Reply()>;
  struct Options {
    std::chrono::milliseconds read_timeout{5000};    // the whole request, from accept
    std::chrono::milliseconds write_timeout{10000};  // the whole reply
    size_t max_connections = 64;
    uint32_t max_header_bytes = 8192;
    std::chrono::milliseconds accept_backoff_min{50};  // after EMFILE/ENFILE, doubling
    std::chrono::milliseconds accept_backoff_max{2000};
  };
  struct Stats {
    uint64_t accepted = 0;
    uint64_t refused_over_cap = 0;  // closed at accept: max_connections were open
    uint64_t timed_out = 0;         // cut by read or write timeout
    uint64_t accept_backoffs = 0;   // pauses after EMFILE/ENFILE
    size_t open = 0;
  };

  Server(boost::asio::io_context& io, std::map<std::string, Handler> routes);
  Server(boost::asio::io_context& io, std::map<std::string, Handler> routes, Options options);
  ~Server();

  // Listens on "HOST:PORT" (":9090" is every address, port 0 picks one).
  Status Start(const std::string& address);
  uint16_t port() const { return port_; }
  const Stats& stats() const { return *stats_; }

 private:
  void Accept();

  boost::asio::io_context& io_;
  std::map<std::string, Handler> routes_;
  Options options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_timer_;
  std::chrono::milliseconds backoff_{0};
  std::shared_ptr<Stats> stats_ = std::make_shared<Stats>();  // shared with live connections
  uint16_t port_ = 0;
};

}  // namespace netfence::http
