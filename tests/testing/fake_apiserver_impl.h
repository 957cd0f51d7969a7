// SPDX-License-Identifier: Apache-2.0
// Inside the fake API server (fake_apiserver.h): the server thread's state and the HTTP
// sessions. Private to fake_apiserver*.cc.
#pragma once

#include <utility>  // before awaitable.hpp (Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/fake_apiserver.h"
#include "tests/testing/fake_apiserver_store.h"

namespace netfence::testing {

// An open connection, so that DropConnections() can cut it.
struct FakeConn {
  boost::beast::tcp_stream* lowest = nullptr;  // lives in the session coroutine's frame
  bool closed = false;
  std::function<void()> on_close;  // wakes a watch waiting on this connection
  void Close();
};

// An open watch stream: what it still has to send, and how to wake it.
struct FakeWatch {
  explicit FakeWatch(boost::asio::io_context& io) : wake(io), delay(io) {}
  const FakeResource* resource = nullptr;
  bool bookmarks = false;
  std::deque<std::string> pending;  // event lines, each ending in "\n"
  bool ended = false;               // an ERROR is queued: send what is pending, then end
  bool cut_next = false;            // write half of the next chunk, then close
  bool client_gone = false;
  boost::asio::steady_timer wake;   // cancelled to wake the stream
  boost::asio::steady_timer delay;  // chunk delay
  void Push(std::string line) {
    pending.push_back(std::move(line));
    wake.cancel();
  }
};

class FakeApiServer::Impl {
 public:
  explicit Impl(const FakeApiServerOptions& options);
  ~Impl();

  Status Listen();  // binds 127.0.0.1:0, starts the thread
  uint16_t port() const { return port_; }

  // Runs `f` on the server thread and returns its result.
  template <typename F>
  auto Sync(F&& f) {
    using R = decltype(f());
    std::promise<R> done;
    auto result = done.get_future();
    boost::asio::post(*io_, [&] {
      if constexpr (std::is_void_v<R>) {
        f();
        done.set_value();
      } else {
        done.set_value(f());
      }
    });
    return result.get();
  }

  // ---- Server-thread state (touch only on the server thread).
  FakeApiServerOptions options;
  FakeStore store;
  GoneMode gone_mode = GoneMode::kHttpStatus;
  std::chrono::milliseconds chunk_delay{0};
  bool split_events = false;
  std::set<std::string> unserved;  // resource names answered 404 (a CRD not installed)
  struct Failure {
    int status;
    int retry_after;
  };
  std::map<std::pair<std::string, RequestKind>, std::deque<Failure>> failures;  // by path and kind
  // The injected failure for a request, if one is armed (removed from its queue).
  std::optional<Failure> TakeFailure(const FakeRequest& r);
  std::vector<FakeRequest> log;
  std::set<std::shared_ptr<FakeConn>> conns;
  std::set<std::shared_ptr<FakeWatch>> watches;

  void Publish(const FakeChange& change);  // queues a change on the open watches of its kind
  void DropAll();

  boost::asio::io_context& io() { return *io_; }

 private:
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Session(boost::asio::ip::tcp::socket socket);
  template <class Stream>
  boost::asio::awaitable<void> Serve(Stream& s, std::shared_ptr<FakeConn> conn, const std::string& cert_user);
  template <class Stream>
  boost::asio::awaitable<void> ServeWatch(Stream& s, std::shared_ptr<FakeConn> conn, const FakeResource& resource,
                                          FakeRequest* request);

  std::unique_ptr<boost::asio::io_context> io_;
  std::optional<boost::asio::ssl::context> ssl_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace netfence::testing
