// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/server.h"

#include "common/base/json_depth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <istream>
#include <memory>

namespace netfence::agent {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

// One connection: read a line, answer it, close.
struct Connection : std::enable_shared_from_this<Connection> {
  Connection(stream::socket s, const Server::Handler& h)
      : socket(std::move(s)), buffer(Server::kMaxRequestBytes), handler(h) {}

  void Start() {
    auto self = shared_from_this();
    asio::async_read_until(socket, buffer, '\n', [self](boost::system::error_code ec, size_t) {
      if (ec) {
        if (ec == asio::error::eof || ec == asio::error::operation_aborted) return;
        Response response;
        response.code = kBadRequest;
        response.message = "reading the request: " + ec.message();
        self->Answer(response);
        return;
      }
      std::istream in(&self->buffer);
      std::string line;
      std::getline(in, line);
      Status depth = CheckJsonDepth(line);
      auto j =
          depth.ok() ? nlohmann::json::parse(line, nullptr, false) : nlohmann::json(nlohmann::json::value_t::discarded);
      auto request = !depth.ok()        ? StatusOr<Request>(Status::Error("the request: " + depth.message()))
                     : j.is_discarded() ? StatusOr<Request>(Status::Error("the request is not JSON"))
                                        : RequestFromJson(j);
      if (!request.ok()) {
        Response response;
        response.code = kBadRequest;
        response.message = request.status().message();
        self->Answer(response);
        return;
      }
      self->handler(*request, [self](Response response) { self->Answer(response); });
    });
  }

  void Answer(const Response& response) {
    auto self = shared_from_this();
    out = ToJson(response).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    asio::async_write(socket, asio::buffer(out), [self](boost::system::error_code, size_t) {
      boost::system::error_code ignored;
      self->socket.shutdown(stream::socket::shutdown_both, ignored);
    });
  }

  stream::socket socket;
  asio::streambuf buffer;
  const Server::Handler& handler;
  std::string out;
};

}  // namespace

Server::Server(asio::io_context& io, std::string path, Handler handler)
    : io_(io), path_(std::move(path)), handler_(std::move(handler)), acceptor_(io) {}

Server::~Server() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

Status Server::Start() {
  ::unlink(path_.c_str());
  boost::system::error_code ec;
  acceptor_.open(stream(), ec);
  const mode_t old_mask = ::umask(0177);  // the socket file is created 0600
  if (!ec) acceptor_.bind(stream::endpoint(path_), ec);
  ::umask(old_mask);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Error("agent socket " + path_ + ": " + ec.message());
  if (::chmod(path_.c_str(), 0600) != 0) return Status::Error("chmod " + path_ + ": " + std::strerror(errno));
  Accept();
  return Status::Ok();
}

void Server::Accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Connection>(std::move(socket), handler_)->Start();
    Accept();
  });
}

}  // namespace netfence::agent
