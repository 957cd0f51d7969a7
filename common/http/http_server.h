// SPDX-License-Identifier: Apache-2.0
// A small HTTP/1.1 server on the caller's io_context for operational endpoints: /metrics
// (Prometheus text), /livez, /readyz. Each request is answered by a handler chosen by path;
// handlers run on the io_context (so they may read the owner's state without locks).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <map>
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
  Server(boost::asio::io_context& io, std::map<std::string, Handler> routes);
  ~Server();

  // Listens on "HOST:PORT" (":9090" is every address, port 0 picks one).
  Status Start(const std::string& address);
  uint16_t port() const { return port_; }

 private:
  void Accept();

  boost::asio::io_context& io_;
  std::map<std::string, Handler> routes_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
};

}  // namespace netfence::http
