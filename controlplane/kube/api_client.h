// SPDX-License-Identifier: Apache-2.0
// The API server as the list/watch code sees it: its URL, TLS settings and credentials
// (shared by every request of a source), new connections on demand, and GET of a whole
// response. Each request uses its own connection (a watch holds one for minutes; lists are
// a few pages), so there is no pool to manage. Connections are registered in a
// ConnectionSlot so that their owner can cut them when it stops.
#pragma once

#include <utility>  // before awaitable.hpp (Boost 1.74)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "common/base/status.h"
#include "controlplane/kube/api_error.h"
#include "controlplane/kube/http_connection.h"
#include "controlplane/kube/kube_config.h"
#include "controlplane/kube/server_url.h"
#include "controlplane/kube/token_source.h"

namespace netfence::kube {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};  // TCP connect, and the TLS handshake
  std::chrono::milliseconds request_timeout{60'000};  // response head, and a whole non-watch body
  size_t max_body_bytes = size_t{64} << 20;           // one list page (500 items are a few MB)
  TokenSource::Clock::duration token_reload_period = TokenSource::kDefaultReloadPeriod;
};

// The connection an operation is using right now, so that Stop() can close it.
class ConnectionSlot {
 public:
  // Registers `c` (closing it at once when the slot is already stopped).
  void Set(std::shared_ptr<HttpConnection> c);
  void Clear() { conn_.reset(); }
  // Closes the current connection and every later one.
  void Stop();
  bool stopped() const { return stopped_; }

 private:
  std::shared_ptr<HttpConnection> conn_;
  bool stopped_ = false;
};

struct ApiResponse {
  int status = 0;
  std::string body;
  std::string retry_after;
};

class ApiClient {
 public:
  // Fails on a bad server URL or TLS material (the message says which).
  static StatusOr<std::shared_ptr<ApiClient>> Create(const KubeConfig& config, ClientOptions options = {});

  const ServerUrl& url() const { return url_; }
  const ClientOptions& options() const { return options_; }
  TokenSource& tokens() { return tokens_; }

  // A new connection (not yet connected) and the headers for the next request.
  std::shared_ptr<HttpConnection> NewConnection(boost::asio::any_io_executor executor) const;
  HttpConnection::Headers RequestHeaders();
  // The request target for an API path: the server URL's path prefix + `path_and_query`.
  std::string Target(const std::string& path_and_query) const { return url_.prefix + path_and_query; }

  // GET `path_and_query` on a new connection registered in `slot`; any HTTP status comes
  // back as a response (a 401 also invalidates the token), transport failures as an error.
  boost::asio::awaitable<StatusOr<ApiResponse>> GetAll(const std::string& path_and_query, ConnectionSlot* slot);

 private:
  ApiClient(ServerUrl url, TlsTarget tls, ClientOptions options, const KubeConfig& config)
      : url_(std::move(url)), tls_(std::move(tls)), options_(options),
        tokens_(config.token, config.token_file, options.token_reload_period) {}

  ServerUrl url_;
  TlsTarget tls_;
  ClientOptions options_;
  TokenSource tokens_;
};

// "a%2Fb": percent-encoding for a query value.
std::string QueryEscape(const std::string& s);

}  // namespace netfence::kube
