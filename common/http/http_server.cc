// SPDX-License-Identifier: Apache-2.0
#include "common/http/http_server.h"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>

namespace netfence::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = boost::asio::ip::tcp;

struct Connection : std::enable_shared_from_this<Connection> {
  Connection(tcp::socket s, const std::map<std::string, Server::Handler>& r) : socket(std::move(s)), routes(r) {}

  void Start() {
    auto self = shared_from_this();
    bhttp::async_read(socket, buffer, request, [self](beast::error_code ec, size_t) {
      if (ec) return;
      self->Answer();
    });
  }

  void Answer() {
    std::string path(request.target());
    path = path.substr(0, path.find('?'));
    Reply reply;
    if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
      reply = {405, "text/plain; charset=utf-8", "only GET\n"};
    } else if (auto it = routes.find(path); it != routes.end()) {
      reply = it->second();
    } else {
      std::string known;
      for (const auto& [p, h] : routes) known += p + "\n";
      reply = {404, "text/plain; charset=utf-8", "no such path; these exist:\n" + known};
    }
    response.version(request.version());
    response.result(static_cast<unsigned>(reply.status));
    response.set(bhttp::field::content_type, reply.content_type);
    response.set(bhttp::field::connection, "close");
    response.body() = request.method() == bhttp::verb::head ? "" : std::move(reply.body);
    response.prepare_payload();
    auto self = shared_from_this();
    bhttp::async_write(socket, response, [self](beast::error_code, size_t) {
      beast::error_code ignored;
      self->socket.shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  tcp::socket socket;
  const std::map<std::string, Server::Handler>& routes;
  beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> request;
  bhttp::response<bhttp::string_body> response;
};

}  // namespace

Server::Server(boost::asio::io_context& io, std::map<std::string, Handler> routes)
    : io_(io), routes_(std::move(routes)), acceptor_(io) {}

Server::~Server() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

Status Server::Start(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return Status::Error("listen address '" + address + "': want HOST:PORT");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (...) {
    return Status::Error("listen address '" + address + "': bad port");
  }
  if (port < 0 || port > 65535) return Status::Error("listen address '" + address + "': bad port");
  beast::error_code ec;
  auto ip = host.empty() ? boost::asio::ip::address(boost::asio::ip::address_v6::any())
                         : boost::asio::ip::make_address(host, ec);
  if (ec) return Status::Error("listen address '" + address + "': " + ec.message());
  tcp::endpoint ep(ip, static_cast<uint16_t>(port));
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && ip.is_v6() && host.empty()) acceptor_.set_option(boost::asio::ip::v6_only(false), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(64, ec);
  if (ec) return Status::Error("listening on " + address + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  Accept();
  return Status::Ok();
}

void Server::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Connection>(std::move(socket), routes_)->Start();
    Accept();
  });
}

}  // namespace netfence::http
