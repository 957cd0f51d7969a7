// SPDX-License-Identifier: Apache-2.0
// The agent's unix socket (protocol.h): one request line, one response line per connection,
// handled on the agent's event loop. The socket file is created mode 0600 (root only).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <string>

#include "common/base/status.h"
#include "dataplane/agent/protocol.h"

namespace netfence::agent {

class Server {
 public:
  // Called on the event loop; answers through `reply` (once, maybe later).
  using Handler = std::function<void(const Request&, std::function<void(Response)> reply)>;
  Server(boost::asio::io_context& io, std::string path, Handler handler);
  ~Server();

  // Removes a stale socket file, binds, chmods 0600, listens.
  Status Start();

  static constexpr size_t kMaxRequestBytes = 1 << 20;

 private:
  void Accept();

  boost::asio::io_context& io_;
  std::string path_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace netfence::agent
