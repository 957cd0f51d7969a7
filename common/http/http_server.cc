// SPDX-License-Identifier: Apache-2.0
#include "common/http/http_server.h"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>

namespace netfence::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = boost::asio::ip::tcp;

struct Connection : std::enable_shared_from_this<Connection> {
  Connection(tcp::socket s, const std::map<std::string, Server::Handler>& r, const Server::Options& o,
             std::shared_ptr<Server::Stats> st)
      : stream(std::move(s)), routes(r), options(o), stats(std::move(st)) {
    ++stats->open;
  }
  ~Connection() { --stats->open; }

  void Start() {
    parser.emplace();
    parser->header_limit(options.max_header_bytes);
    parser->body_limit(0);  // GET and HEAD carry no body
    stream.expires_after(options.read_timeout);
    auto self = shared_from_this();
    bhttp::async_read(stream, buffer, *parser, [self](beast::error_code ec, size_t) {
      if (ec == beast::error::timeout) ++self->stats->timed_out;
      if (ec) return;  // the stream closes with the last reference
      self->Answer(self->parser->get());
    });
  }

  void Answer(const bhttp::request<bhttp::empty_body>& request) {
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
    stream.expires_after(options.write_timeout);
    auto self = shared_from_this();
    bhttp::async_write(stream, response, [self](beast::error_code ec, size_t) {
      if (ec == beast::error::timeout) ++self->stats->timed_out;
      beast::error_code ignored;
      self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  beast::tcp_stream stream;
  const std::map<std::string, Server::Handler>& routes;
  const Server::Options options;
  std::shared_ptr<Server::Stats> stats;
  beast::flat_buffer buffer{8192};
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser;
  bhttp::response<bhttp::string_body> response;
};

bool OutOfDescriptors(const beast::error_code& ec) {
  return ec == boost::system::errc::too_many_files_open || ec == boost::system::errc::too_many_files_open_in_system;
}

}  // namespace

Server::Server(boost::asio::io_context& io, std::map<std::string, Handler> routes)
    : Server(io, std::move(routes), Options{}) {}

Server::Server(boost::asio::io_context& io, std::map<std::string, Handler> routes, Options options)
    : io_(io), routes_(std::move(routes)), options_(options), acceptor_(io), backoff_timer_(io) {}

Server::~Server() {
  beast::error_code ignored;
  acceptor_.close(ignored);
  backoff_timer_.cancel();
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
    if (OutOfDescriptors(ec)) {
      // The connection stays in the backlog; accepting again at once would spin. Wait,
      // longer each time, until descriptors are free again.
      backoff_ = std::min(options_.accept_backoff_max, std::max(options_.accept_backoff_min, backoff_ * 2));
      ++stats_->accept_backoffs;
      backoff_timer_.expires_after(backoff_);
      backoff_timer_.async_wait([this](beast::error_code timer_ec) {
        if (!timer_ec) Accept();
      });
      return;
    }
    backoff_ = std::chrono::milliseconds(0);
    if (!ec) {
      ++stats_->accepted;
      if (stats_->open >= options_.max_connections) {
        ++stats_->refused_over_cap;
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Connection>(std::move(socket), routes_, options_, stats_)->Start();
      }
    }
    Accept();
  });
}

}  // namespace netfence::http
