// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/http_connection.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>

#include <limits>

#include "controlplane/kube/tls.h"

namespace netfence::kube {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::awaitable;

namespace {

auto Token(boost::system::error_code& ec) { return net::redirect_error(net::use_awaitable, ec); }

}  // namespace

HttpConnection::HttpConnection(net::any_io_executor executor, TlsTarget tls)
    : executor_(std::move(executor)), tls_(std::move(tls)) {}

beast::tcp_stream& HttpConnection::lowest() { return secure_ ? beast::get_lowest_layer(*secure_) : *plain_; }

void HttpConnection::Close() {
  closed_ = true;
  if (!plain_ && !secure_) return;
  boost::system::error_code ec;
  lowest().socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  lowest().close();  // the socket and the stream's timer
}

awaitable<Status> HttpConnection::Connect(const ServerUrl& url, Millis timeout) {
  if (closed_) co_return Status::Error("connection closed");
  host_header_ = url.authority();
  peer_ = url.authority();
  if (tls_.context) {
    secure_.emplace(executor_, *tls_.context);
  } else {
    plain_.emplace(executor_);
  }
  boost::system::error_code ec;
  net::ip::tcp::resolver resolver(executor_);
  auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port), Token(ec));
  if (ec) co_return Status::Error("resolve " + url.host + ": " + ec.message());
  if (closed_) co_return Status::Error("connection closed");
  lowest().expires_after(timeout);
  co_await lowest().async_connect(endpoints, Token(ec));
  if (ec) {
    co_return Status::Error("connect " + peer_ + ": " + (ec == beast::error::timeout ? "timed out" : ec.message()));
  }
  if (closed_) co_return Status::Error("connection closed");
  lowest().socket().set_option(net::ip::tcp::no_delay(true), ec);
  if (secure_) {
    if (Status st = PrepareTlsHandle(secure_->native_handle(), tls_.verify_name, tls_.verify); !st.ok()) co_return st;
    lowest().expires_after(timeout);
    co_await secure_->async_handshake(net::ssl::stream_base::client, Token(ec));
    if (ec) {
      std::string why = ec == beast::error::timeout ? "timed out" : ec.message();
      long verify = SSL_get_verify_result(secure_->native_handle());
      if (verify != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      co_return Status::Error("TLS handshake with " + peer_ + ": " + why);
    }
  }
  lowest().expires_never();
  co_return Status::Ok();
}

template <class Stream>
awaitable<StatusOr<ResponseHead>> HttpConnection::GetOn(Stream& s, const std::string& target, const Headers& headers,
                                                        Millis timeout) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host_header_);
  req.set(http::field::user_agent, "netfence/0.1");
  req.set(http::field::accept, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  boost::system::error_code ec;
  lowest().expires_after(timeout);
  co_await http::async_write(s, req, Token(ec));
  if (ec) co_return Status::Error("send GET " + target + " to " + peer_ + ": " + ec.message());
  parser_.emplace();
  // Lists are bounded by ReadBody's limit, watches are endless. (Not boost::none: Beast 1.74
  // compares a Content-Length against the optional and refuses every body then.)
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  parser_->header_limit(64 * 1024);
  co_await http::async_read_header(s, buffer_, *parser_, Token(ec));
  lowest().expires_never();
  if (ec) {
    co_return Status::Error("read response to GET " + target + " from " + peer_ + ": " +
                            (ec == beast::error::timeout ? "timed out" : ec.message()));
  }
  const auto& res = parser_->get();
  ResponseHead head;
  head.status = static_cast<int>(res.result_int());
  head.reason = std::string(res.reason());
  if (auto it = res.find(http::field::retry_after); it != res.end()) head.retry_after = std::string(it->value());
  if (auto it = res.find(http::field::content_type); it != res.end()) head.content_type = std::string(it->value());
  co_return head;
}

awaitable<StatusOr<ResponseHead>> HttpConnection::Get(const std::string& target, const Headers& headers,
                                                      Millis timeout) {
  if (closed_ || (!plain_ && !secure_)) co_return Status::Error("connection closed");
  if (secure_) co_return co_await GetOn(*secure_, target, headers, timeout);
  co_return co_await GetOn(*plain_, target, headers, timeout);
}

template <class Stream>
awaitable<StatusOr<bool>> HttpConnection::ReadSomeOn(Stream& s, std::string* out, Millis idle) {
  char chunk[16 * 1024];
  while (!parser_->is_done()) {
    parser_->get().body().data = chunk;
    parser_->get().body().size = sizeof chunk;
    boost::system::error_code ec;
    lowest().expires_after(idle);
    co_await http::async_read_some(s, buffer_, *parser_, Token(ec));
    lowest().expires_never();
    if (ec == http::error::need_buffer) ec = {};
    size_t got = sizeof chunk - parser_->get().body().size;
    out->append(chunk, got);
    if (ec) {
      std::string why = ec == beast::error::timeout ? "timed out"
                        : (ec == http::error::end_of_stream || ec == net::error::eof)
                            ? "connection closed by the server"
                            : ec.message();
      co_return Status::Error("read from " + peer_ + ": " + why);
    }
    if (got > 0) co_return true;
  }
  co_return false;
}

awaitable<StatusOr<bool>> HttpConnection::ReadSome(std::string* out, Millis idle) {
  if (closed_ || !parser_) co_return Status::Error("connection closed");
  if (secure_) co_return co_await ReadSomeOn(*secure_, out, idle);
  co_return co_await ReadSomeOn(*plain_, out, idle);
}

awaitable<StatusOr<std::string>> HttpConnection::ReadBody(Millis timeout, size_t limit) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string body;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left <= Millis(0)) co_return Status::Error("read from " + peer_ + ": timed out");
    auto more = co_await ReadSome(&body, left);
    if (!more.ok()) co_return more.status();
    if (body.size() > limit)
      co_return Status::Error("response from " + peer_ + " exceeds " + std::to_string(limit) + " bytes");
    if (!*more) co_return body;
  }
}

}  // namespace netfence::kube
