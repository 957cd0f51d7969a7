// SPDX-License-Identifier: Apache-2.0
// One HTTP/1.1 connection to the API server, over TLS or plain TCP, on Boost.Beast with
// Asio C++20 coroutines. It does exactly what the list/watch client needs: connect (with a
// timeout, TLS handshake with SNI and name verification), send a GET, read the response
// head, then read the body either whole (a list page) or piece by piece as it arrives (a
// watch stream: chunked, possibly endless). Every step has its own timeout.
//
// Close() may be called at any time from the connection's executor: pending operations
// complete with an error. Nothing here throws; Beast errors come back as Status.
#pragma once

#include <utility>  // before awaitable.hpp: Boost 1.74 uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "controlplane/kube/server_url.h"

namespace netfence::kube {

struct ResponseHead {
  int status = 0;
  std::string reason;       // "OK", "Gone"
  std::string retry_after;  // the Retry-After header, raw ("" when absent)
  std::string content_type;
};

struct TlsTarget {
  std::shared_ptr<boost::asio::ssl::context> context;  // null for http://
  std::string verify_name;                             // name (or IP) the server certificate must carry
  bool verify = true;                                  // false with insecure-skip-tls-verify
};

class HttpConnection {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  using Millis = std::chrono::milliseconds;

  HttpConnection(boost::asio::any_io_executor executor, TlsTarget tls);
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Resolves url's host, connects and (https) completes the TLS handshake within `timeout`.
  boost::asio::awaitable<Status> Connect(const ServerUrl& url, Millis timeout);
  // Sends `GET target` and reads the response head within `timeout`.
  boost::asio::awaitable<StatusOr<ResponseHead>> Get(const std::string& target, const Headers& headers, Millis timeout);
  // Reads the rest of the body (at most `limit` bytes) within `timeout` in total.
  boost::asio::awaitable<StatusOr<std::string>> ReadBody(Millis timeout, size_t limit);
  // Appends the next bytes of the body to `out` as soon as some arrive. Returns false once
  // the body is complete (the terminating chunk of a chunked stream). `idle` bounds the wait.
  boost::asio::awaitable<StatusOr<bool>> ReadSome(std::string* out, Millis idle);

  // Drops the connection now; pending and later operations fail.
  void Close();
  bool closed() const { return closed_; }
  // "127.0.0.1:6443" (for messages).
  const std::string& peer() const { return peer_; }

 private:
  template <class Stream>
  boost::asio::awaitable<StatusOr<ResponseHead>> GetOn(Stream& s, const std::string& target, const Headers& headers,
                                                       Millis timeout);
  template <class Stream>
  boost::asio::awaitable<StatusOr<bool>> ReadSomeOn(Stream& s, std::string* out, Millis idle);
  boost::beast::tcp_stream& lowest();

  boost::asio::any_io_executor executor_;
  TlsTarget tls_;
  std::optional<boost::beast::tcp_stream> plain_;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> secure_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser_;
  std::string host_header_;
  std::string peer_;
  bool closed_ = false;
};

}  // namespace netfence::kube
