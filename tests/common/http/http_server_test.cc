// SPDX-License-Identifier: Apache-2.0
// The operational HTTP server against hostile clients: silent and slow ones are cut at the
// read deadline, connections past the cap are closed at accept, oversized headers refused,
// and running out of file descriptors makes accept back off instead of spinning.
#include "common/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/base/unique_fd.h"

namespace netfence::http {
namespace {

using namespace std::chrono_literals;

UniqueFd Connect(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return UniqueFd();
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// Everything the server sends until it closes ("" if it closed without a word).
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string Get(uint16_t port, const std::string& path) {
  UniqueFd fd = Connect(port);
  if (!fd.valid()) return "connect failed";
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  if (::write(fd.get(), req.data(), req.size()) != static_cast<ssize_t>(req.size())) return "write failed";
  return ReadAll(fd.get());
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(Server::Options options) {
    server_ =
        std::make_unique<Server>(io_,
                                 std::map<std::string, Server::Handler>{{"/livez",
                                                                         [] {
                                                                           return Reply{200, "text/plain", "ok\n"};
                                                                         }}},
                                 options);
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  // The server's stats, read on its thread.
  Server::Stats Stats() {
    std::promise<Server::Stats> p;
    boost::asio::post(io_, [&] { p.set_value(server_->stats()); });
    return p.get_future().get();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, AnswersAndNamesTheKnownPaths) {
  StartServer({});
  EXPECT_NE(Get(server_->port(), "/livez").find("200 OK"), std::string::npos);
  const std::string missing = Get(server_->port(), "/nope");
  EXPECT_NE(missing.find("404"), std::string::npos);
  EXPECT_NE(missing.find("/livez"), std::string::npos);
}

TEST_F(HttpServerTest, ASilentClientIsCutAtTheReadDeadline) {
  Server::Options o;
  o.read_timeout = 200ms;
  StartServer(o);
  UniqueFd silent = Connect(server_->port());
  ASSERT_TRUE(silent.valid());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ReadAll(silent.get()), "") << "closed without an answer";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s) << "cut by the server, not by our 5 s receive timeout";
  EXPECT_EQ(Stats().timed_out, 1u);
}

TEST_F(HttpServerTest, ASlowClientIsCutAtTheDeadlineOfTheWholeRequest) {
  Server::Options o;
  o.read_timeout = 300ms;
  StartServer(o);
  UniqueFd slow = Connect(server_->port());
  ASSERT_TRUE(slow.valid());
  // One byte every 50 ms: each arrives well within the deadline, the whole request never does.
  const std::string req = "GET /livez HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  bool cut = false;
  for (char c : req) {
    if (::send(slow.get(), &c, 1, MSG_NOSIGNAL) != 1) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  if (!cut) cut = ReadAll(slow.get()).empty();
  EXPECT_TRUE(cut);
  EXPECT_EQ(Stats().timed_out, 1u);
}

TEST_F(HttpServerTest, ConnectionsPastTheCapAreClosedAtAccept) {
  Server::Options o;
  o.max_connections = 3;
  o.read_timeout = 1500ms;
  StartServer(o);
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(Connect(server_->port()));
  std::this_thread::sleep_for(100ms);  // accepted
  UniqueFd extra = Connect(server_->port());
  ASSERT_TRUE(extra.valid());
  const std::string req = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
  (void)::send(extra.get(), req.data(), req.size(), MSG_NOSIGNAL);  // may fail: it is being closed
  EXPECT_EQ(ReadAll(extra.get()), "");
  EXPECT_EQ(Stats().refused_over_cap, 1u);
  // Once the idle ones are cut, the server answers again.
  std::this_thread::sleep_for(1700ms);
  EXPECT_NE(Get(server_->port(), "/livez").find("200 OK"), std::string::npos);
  EXPECT_EQ(Stats().timed_out, 3u);
}

TEST_F(HttpServerTest, OversizedHeadersAreRefused) {
  Server::Options o;
  o.max_header_bytes = 1024;
  StartServer(o);
  UniqueFd fd = Connect(server_->port());
  const std::string req = "GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n";
  (void)::send(fd.get(), req.data(), req.size(), MSG_NOSIGNAL);
  EXPECT_EQ(ReadAll(fd.get()).find("200 OK"), std::string::npos);
  EXPECT_NE(Get(server_->port(), "/livez").find("200 OK"), std::string::npos) << "and the server goes on";
}

TEST_F(HttpServerTest, OutOfDescriptorsAcceptBacksOffAndRecovers) {
  Server::Options o;
  o.accept_backoff_min = 20ms;
  o.accept_backoff_max = 100ms;
  StartServer(o);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  // Use up the descriptors (the client's socket is made before the limit is reached).
  UniqueFd client = Connect(server_->port());  // accepted: fine
  std::vector<UniqueFd> hog;
  rlimit tight = old;
  tight.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  UniqueFd waiting(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  for (;;) {
    UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) break;
    hog.push_back(std::move(fd));
  }
  // A connection the server cannot accept now: it waits in the backlog.
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(server_->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(waiting.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  std::this_thread::sleep_for(300ms);
  const uint64_t backoffs = Stats().accept_backoffs;
  EXPECT_GE(backoffs, 2u) << "it noticed and paused";
  EXPECT_LE(backoffs, 20u) << "paused, not spun: 300 ms at >= 20 ms per pause";
  hog.clear();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  const std::string req = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(waiting.get(), req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  timeval tv{5, 0};
  ::setsockopt(waiting.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  EXPECT_NE(ReadAll(waiting.get()).find("200 OK"), std::string::npos) << "the waiting client is served";
}

}  // namespace
}  // namespace netfence::http
