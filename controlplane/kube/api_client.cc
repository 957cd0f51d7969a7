// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/api_client.h"

#include <boost/asio/this_coro.hpp>

#include "controlplane/kube/tls.h"

namespace netfence::kube {

void ConnectionSlot::Set(std::shared_ptr<HttpConnection> c) {
  conn_ = std::move(c);
  if (stopped_ && conn_) conn_->Close();
}

void ConnectionSlot::Stop() {
  stopped_ = true;
  if (conn_) conn_->Close();
}

StatusOr<std::shared_ptr<ApiClient>> ApiClient::Create(const KubeConfig& config, ClientOptions options) {
  auto url = ParseServerUrl(config.server);
  if (!url.ok()) return url.status();
  TlsTarget tls;
  if (url->tls) {
    auto ctx = MakeClientTlsContext(config);
    if (!ctx.ok())
      return Status::Error(config.origin.empty() ? ctx.status().message()
                                                 : config.origin + ": " + ctx.status().message());
    tls.context = std::move(*ctx);
    tls.verify_name = VerifyName(config, *url);
    tls.verify = !config.insecure_skip_tls_verify;
  }
  return std::shared_ptr<ApiClient>(new ApiClient(std::move(*url), std::move(tls), options, config));
}

std::shared_ptr<HttpConnection> ApiClient::NewConnection(boost::asio::any_io_executor executor) const {
  return std::make_shared<HttpConnection>(std::move(executor), tls_);
}

HttpConnection::Headers ApiClient::RequestHeaders() {
  HttpConnection::Headers h;
  if (std::string t = tokens_.Token(); !t.empty()) h.emplace_back("Authorization", "Bearer " + t);
  return h;
}

boost::asio::awaitable<StatusOr<ApiResponse>> ApiClient::GetAll(const std::string& path_and_query,
                                                                ConnectionSlot* slot) {
  auto conn = NewConnection(co_await boost::asio::this_coro::executor);
  slot->Set(conn);
  const std::string what = "GET " + url_.str() + path_and_query;
  if (Status st = co_await conn->Connect(url_, options_.connect_timeout); !st.ok()) {
    co_return Status::Error(what + ": " + st.message());
  }
  auto head = co_await conn->Get(Target(path_and_query), RequestHeaders(), options_.request_timeout);
  if (!head.ok()) co_return Status::Error(what + ": " + head.status().message());
  auto body = co_await conn->ReadBody(options_.request_timeout, options_.max_body_bytes);
  conn->Close();
  slot->Clear();
  if (!body.ok()) co_return Status::Error(what + ": " + body.status().message());
  if (head->status == 401) tokens_.Invalidate();
  co_return ApiResponse{head->status, std::move(*body), head->retry_after};
}

std::string QueryEscape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace netfence::kube
