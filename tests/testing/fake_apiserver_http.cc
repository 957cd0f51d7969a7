// SPDX-License-Identifier: Apache-2.0
// The fake API server's HTTP side: accepting, TLS, authentication, routing, lists, and the
// chunked watch streams with their injected failures.
#include <utility>  // before awaitable.hpp (Boost 1.74)

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <cstdio>

#include "tests/testing/fake_apiserver_impl.h"

namespace netfence::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::awaitable;
using net::ip::tcp;
using nlohmann::json;

namespace {

auto Ec(boost::system::error_code& ec) { return net::redirect_error(net::use_awaitable, ec); }

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

void ParseTarget(const std::string& target, std::string* path, std::map<std::string, std::string>* query) {
  size_t q = target.find('?');
  *path = target.substr(0, q);
  if (q == std::string::npos) return;
  std::string_view rest = std::string_view(target).substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    size_t eq = kv.find('=');
    (*query)[Unescape(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : Unescape(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
}

std::string Chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

std::string CertUser(SSL* ssl) {
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (!peer) return "";
  std::string cn;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    char buf[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof buf);
    if (n > 0) cn.assign(buf, static_cast<size_t>(n));
  }
  X509_free(peer);
  return cn;
}

template <class Stream>
awaitable<bool> WriteAnswer(Stream& s, int status, const json& body, bool keep_alive, int retry_after) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  if (retry_after >= 0) res.set(http::field::retry_after, std::to_string(retry_after));
  res.body() = body.dump();
  res.keep_alive(keep_alive);
  res.prepare_payload();
  boost::system::error_code ec;
  co_await http::async_write(s, res, Ec(ec));
  co_return !ec;
}

}  // namespace

void FakeConn::Close() {
  if (closed) return;
  closed = true;
  if (lowest) {
    boost::system::error_code ec;
    lowest->socket().close(ec);  // abrupt: no TLS close_notify, no final chunk
  }
  if (on_close) on_close();
}

FakeApiServer::Impl::Impl(const FakeApiServerOptions& o) : options(o), io_(std::make_unique<net::io_context>()) {}

FakeApiServer::Impl::~Impl() {
  io_->stop();
  if (thread_.joinable()) thread_.join();
  watches.clear();
  conns.clear();
  acceptor_.reset();
  io_.reset();  // destroys the sessions' frames while the state above still exists
}

Status FakeApiServer::Impl::Listen() {
  if (options.certs) {
    namespace ssl = net::ssl;
    ssl_.emplace(ssl::context::tls_server);
    boost::system::error_code ec;
    ssl_->use_certificate_chain(net::buffer(options.certs->server_cert_pem), ec);
    if (!ec) ssl_->use_private_key(net::buffer(options.certs->server_key_pem), ssl::context::pem, ec);
    if (!ec) ssl_->add_certificate_authority(net::buffer(options.certs->ca_cert_pem), ec);
    if (ec) return Status::Error("fake apiserver TLS: " + ec.message());
    // Ask for a client certificate, accept connections without one (token auth).
    ssl_->set_verify_mode(ssl::verify_peer, ec);
  }
  boost::system::error_code ec;
  acceptor_.emplace(*io_);
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Error("fake apiserver listen: " + ec.message());
  port_ = acceptor_->local_endpoint().port();
  net::co_spawn(*io_, Accept(), net::detached);
  thread_ = std::thread([this] {
    auto guard = net::make_work_guard(*io_);
    io_->run();
  });
  return Status::Ok();
}

awaitable<void> FakeApiServer::Impl::Accept() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_->async_accept(Ec(ec));
    if (ec) {
      if (!acceptor_->is_open()) co_return;
      continue;
    }
    net::co_spawn(*io_, Session(std::move(socket)), net::detached);
  }
}

awaitable<void> FakeApiServer::Impl::Session(tcp::socket socket) {
  auto conn = std::make_shared<FakeConn>();
  conns.insert(conn);
  if (ssl_) {
    beast::ssl_stream<beast::tcp_stream> s(beast::tcp_stream(std::move(socket)), *ssl_);
    conn->lowest = &beast::get_lowest_layer(s);
    boost::system::error_code ec;
    conn->lowest->expires_after(std::chrono::seconds(10));
    co_await s.async_handshake(net::ssl::stream_base::server, Ec(ec));
    if (!ec && !conn->closed) {
      conn->lowest->expires_never();
      co_await Serve(s, conn, CertUser(s.native_handle()));
    }
    conn->lowest = nullptr;
  } else {
    beast::tcp_stream s(std::move(socket));
    conn->lowest = &s;
    co_await Serve(s, conn, "");
    conn->lowest = nullptr;
  }
  conn->closed = true;
  conns.erase(conn);
}

template <class Stream>
awaitable<void> FakeApiServer::Impl::Serve(Stream& s, std::shared_ptr<FakeConn> conn, const std::string& cert_user) {
  beast::flat_buffer buf;
  for (;;) {
    http::request<http::string_body> req;
    boost::system::error_code ec;
    conn->lowest->expires_after(std::chrono::seconds(60));
    co_await http::async_read(s, buf, req, Ec(ec));
    if (ec || conn->closed) co_return;
    conn->lowest->expires_never();
    FakeRequest r;
    r.time = std::chrono::steady_clock::now();
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    ParseTarget(r.target, &r.path, &r.query);
    r.watch = r.param("watch") == "1" || r.param("watch") == "true";
    const bool keep_alive = req.keep_alive();

    // Authentication (client certificate first, as the API server's union authenticator),
    // authorization, injected failures, routing.
    int status = 0;
    json body;
    int retry_after = -1;
    const std::string auth = std::string(req[http::field::authorization]);
    if (!cert_user.empty()) {
      r.user = cert_user;
    } else if (auth.starts_with("Bearer ")) {
      auto it = options.tokens.find(auth.substr(7));
      if (it != options.tokens.end()) r.user = it->second;
    } else if (auth.empty() && options.allow_anonymous) {
      r.user = "system:anonymous";
    }
    const FakeResource* resource = FakeResourceByPath(r.path);
    if (resource && unserved.contains(resource->name())) resource = nullptr;  // its CRD is not installed
    if (r.user.empty()) {
      status = 401;
      body = FakeStatus(401, "Unauthorized", "Unauthorized");
    } else if (options.forbidden_users.contains(r.user)) {
      status = 403;
      std::string what = resource ? resource->name() : r.path;
      body = FakeStatus(403, "Forbidden",
                        what + " is forbidden: User \"" + r.user + "\" cannot " + (r.watch ? "watch" : "list") +
                            " resource \"" + what + "\" at the cluster scope");
    } else if (auto f = TakeFailure(r)) {
      status = f->status;
      retry_after = f->retry_after;
      if (status == 429) {
        body = FakeStatus(status, "TooManyRequests", "Too many requests, please try again later.");
      } else if (status == 410) {
        body = FakeStatus(status, "Expired", "The provided continue parameter is too old (injected)");
      } else if (status == 504) {
        body = FakeStatus(status, "Timeout", "Too large resource version (injected)");
        body["details"] = {{"causes", json::array({{{"reason", "ResourceVersionTooLarge"}}})}};
      } else {
        body = FakeStatus(status, status >= 500 ? "InternalError" : "BadRequest", "injected failure");
      }
      if (retry_after >= 0) body["details"] = {{"retryAfterSeconds", retry_after}};
    } else if (!resource) {
      status = 404;
      body = FakeStatus(404, "NotFound", "the server could not find the requested resource");
    } else if (req.method() != http::verb::get) {
      status = 405;
      body = FakeStatus(405, "MethodNotAllowed", "the fake serves GET only");
    } else if (r.watch) {
      co_await ServeWatch(s, conn, *resource, &r);
      co_return;  // a watch ends its connection
    } else {
      FakeAnswer a = store.List(*resource, r.query);
      status = a.status;
      body = std::move(a.body);
    }
    r.status = status;
    log.push_back(r);
    if (!co_await WriteAnswer(s, status, body, keep_alive, retry_after) || !keep_alive) co_return;
  }
}

template <class Stream>
awaitable<void> FakeApiServer::Impl::ServeWatch(Stream& s, std::shared_ptr<FakeConn> conn, const FakeResource& resource,
                                                FakeRequest* request) {
  FakeWatchStart start = store.StartWatch(resource, request->param("resourceVersion"));
  const json gone_event = {{"type", "ERROR"}, {"object", FakeStatus(410, "Expired", start.gone_message)}};
  if (start.gone && gone_mode == GoneMode::kHttpStatus) {
    request->status = 410;
    log.push_back(*request);
    co_await WriteAnswer(s, 410, FakeStatus(410, "Expired", start.gone_message), false, -1);
    co_return;
  }
  request->status = 200;
  log.push_back(*request);
  int64_t timeout_s = 1800;
  if (std::string t = request->param("timeoutSeconds"); !t.empty()) {
    std::from_chars(t.data(), t.data() + t.size(), timeout_s);
  }
  auto w = std::make_shared<FakeWatch>(*io_);
  w->resource = &resource;
  w->bookmarks = request->param("allowWatchBookmarks") == "true";
  if (start.gone) {
    w->pending.push_back(gone_event.dump() + "\n");
    w->ended = true;
  } else {
    for (const json& e : start.events) w->pending.push_back(e.dump() + "\n");
  }
  watches.insert(w);  // from here on every change reaches it, in order after the backlog
  conn->on_close = [w] {
    w->client_gone = true;
    w->wake.cancel();
    w->delay.cancel();
  };
  // The client hanging up (it sends nothing on a watch) wakes the stream too.
  conn->lowest->socket().async_wait(tcp::socket::wait_read, [w](const boost::system::error_code&) {
    w->client_gone = true;
    w->wake.cancel();
    w->delay.cancel();
  });

  boost::system::error_code ec;
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  co_await net::async_write(s, net::buffer(head), Ec(ec));
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(timeout_s);
  Clock::time_point next_bookmark =
      options.bookmark_interval.count() > 0 ? Clock::now() + options.bookmark_interval : Clock::time_point::max();
  bool finish = false;  // end with the terminating chunk (a normal end)
  while (!ec) {
    while (w->pending.empty() && !w->ended && !w->client_gone && !conn->closed) {
      const Clock::time_point now = Clock::now();
      if (now >= deadline) break;
      if (w->bookmarks && now >= next_bookmark) {
        w->pending.push_back(store.Bookmark(resource).dump() + "\n");
        next_bookmark = now + options.bookmark_interval;
        break;
      }
      w->wake.expires_at(std::min(deadline, next_bookmark));
      boost::system::error_code wait_ec;
      co_await w->wake.async_wait(Ec(wait_ec));
    }
    if (w->client_gone || conn->closed) break;
    if (w->pending.empty()) {
      finish = true;  // timeoutSeconds reached, or an ERROR was the last event
      break;
    }
    if (chunk_delay.count() > 0) {
      w->delay.expires_after(chunk_delay);
      boost::system::error_code wait_ec;
      co_await w->delay.async_wait(Ec(wait_ec));
      if (w->client_gone || conn->closed) break;
    }
    std::string line = std::move(w->pending.front());
    w->pending.pop_front();
    std::string out;
    if (w->cut_next) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", line.size());
      out = std::string(size) + line.substr(0, line.size() / 2);
      co_await net::async_write(s, net::buffer(out), Ec(ec));
      conn->Close();
      break;
    }
    if (split_events && line.size() > 2) {
      out = Chunk(std::string_view(line).substr(0, line.size() / 2)) +
            Chunk(std::string_view(line).substr(line.size() / 2));
    } else {
      out = Chunk(line);
    }
    co_await net::async_write(s, net::buffer(out), Ec(ec));
  }
  watches.erase(w);
  conn->on_close = nullptr;
  if (finish && !ec) co_await net::async_write(s, net::buffer(std::string("0\r\n\r\n")), Ec(ec));
}

std::optional<FakeApiServer::Impl::Failure> FakeApiServer::Impl::TakeFailure(const FakeRequest& r) {
  const RequestKind specific = r.watch                       ? RequestKind::kWatch
                               : r.param("continue").empty() ? RequestKind::kList
                                                             : RequestKind::kContinue;
  for (RequestKind k : {specific, RequestKind::kAny}) {
    auto it = failures.find({r.path, k});
    if (it == failures.end() || it->second.empty()) continue;
    Failure f = it->second.front();
    it->second.pop_front();
    return f;
  }
  return std::nullopt;
}

void FakeApiServer::Impl::Publish(const FakeChange& change) {
  for (const auto& w : watches) {
    if (!w->ended && w->resource->kind == change.kind) w->Push(change.event.dump() + "\n");
  }
}

void FakeApiServer::Impl::DropAll() {
  std::vector<std::shared_ptr<FakeConn>> all(conns.begin(), conns.end());
  for (auto& c : all) c->Close();
}

}  // namespace netfence::testing
