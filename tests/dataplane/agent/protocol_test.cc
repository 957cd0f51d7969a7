// SPDX-License-Identifier: Apache-2.0
// The agent's local API (dataplane/agent/protocol.h): the JSON of requests and responses, their
// malformed forms, and Call() against a peer that answers, hangs up, stalls, or is not there.
#include "dataplane/agent/protocol.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/base/unique_fd.h"

namespace netfence::agent {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

Request FullRequest() {
  Request r;
  r.op = "add";
  r.container_id = "c0ffee01";
  r.ifname = "eth0";
  r.netns = "/var/run/netns/cni-1234";
  r.pod_namespace = "shop";
  r.pod_name = "cart-7d9";
  r.host_interfaces = {"cni0", "veth1a2b3c4d"};
  r.ips = {"10.22.0.5/16", "fd00:22::5/64"};
  return r;
}

void ExpectSameRequest(const Request& a, const Request& b) {
  EXPECT_EQ(a.op, b.op);
  EXPECT_EQ(a.container_id, b.container_id);
  EXPECT_EQ(a.ifname, b.ifname);
  EXPECT_EQ(a.netns, b.netns);
  EXPECT_EQ(a.pod_namespace, b.pod_namespace);
  EXPECT_EQ(a.pod_name, b.pod_name);
  EXPECT_EQ(a.host_interfaces, b.host_interfaces);
  EXPECT_EQ(a.ips, b.ips);
  EXPECT_EQ(a.valid, b.valid);
}

// Through text, as on the wire.
StatusOr<Request> RequestRoundTrip(const Request& r) { return RequestFromJson(json::parse(ToJson(r).dump())); }

TEST(ProtocolTest, RequestRoundTripsWithTheDocumentedFieldNames) {
  Request r = FullRequest();
  json j = ToJson(r);
  EXPECT_EQ(j, json::parse(R"({"op":"add","container_id":"c0ffee01","ifname":"eth0",
      "netns":"/var/run/netns/cni-1234","namespace":"shop","pod":"cart-7d9",
      "host_interfaces":["cni0","veth1a2b3c4d"],"ips":["10.22.0.5/16","fd00:22::5/64"]})"));
  auto back = RequestRoundTrip(r);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectSameRequest(*back, r);
}

TEST(ProtocolTest, GcRequestAlwaysCarriesValid) {
  Request gc;
  gc.op = "gc";
  EXPECT_EQ(ToJson(gc), json::parse(R"({"op":"gc","valid":[]})"));
  gc.valid = {{"c1", "eth0"}, {"c2", "net1"}};
  EXPECT_EQ(ToJson(gc), json::parse(R"({"op":"gc","valid":[{"container_id":"c1","ifname":"eth0"},
      {"container_id":"c2","ifname":"net1"}]})"));
  auto back = RequestRoundTrip(gc);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectSameRequest(*back, gc);

  Request status;  // empty fields are left out
  status.op = "status";
  EXPECT_EQ(ToJson(status), json::parse(R"({"op":"status"})"));
}

TEST(ProtocolTest, ResponseRoundTrips) {
  Response ok;
  ok.ok = true;
  ok.generation = 7;
  ok.host_interface = "veth1a2b3c4d";
  ok.message = "enforced";
  EXPECT_EQ(ToJson(ok), json::parse(R"({"ok":true,"generation":7,"host_interface":"veth1a2b3c4d",
      "message":"enforced"})"));
  auto back = ResponseFromJson(json::parse(ToJson(ok).dump()));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->ok);
  EXPECT_EQ(back->generation, 7u);
  EXPECT_EQ(back->host_interface, "veth1a2b3c4d");
  EXPECT_EQ(back->message, "enforced");

  Response refused;
  refused.code = kUnknownPod;
  refused.message = "pod shop/cart-7d9: unknown to the tables of generation 7";
  refused.generation = 7;
  EXPECT_EQ(ToJson(refused).value("code", 0), 101);
  auto r = ResponseFromJson(json::parse(ToJson(refused).dump()));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->code, kUnknownPod);
  EXPECT_EQ(r->message, refused.message);
  EXPECT_EQ(ToJson(ok).count("code"), 0u) << "an ok response carries no code";
}

TEST(ProtocolTest, MalformedRequestsNameTheField) {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {R"([])", "must be a JSON object"},
      {R"("add")", "must be a JSON object"},
      {R"({})", "field 'op' is required"},
      {R"({"op":""})", "field 'op' is required"},
      {R"({"op":7})", "field 'op' must be a string"},
      {R"({"op":"add","container_id":1})", "field 'container_id' must be a string"},
      {R"({"op":"add","namespace":{}})", "field 'namespace' must be a string"},
      {R"({"op":"add","pod":[]})", "field 'pod' must be a string"},
      {R"({"op":"add","host_interfaces":"veth0"})", "field 'host_interfaces' must be an array of strings"},
      {R"({"op":"add","ips":["10.0.0.1/8",4]})", "field 'ips' must be an array of strings"},
      {R"({"op":"gc","valid":{}})", "field 'valid' must be an array"},
      {R"({"op":"gc","valid":["c1"]})", "field 'valid' must hold objects"},
      {R"({"op":"gc","valid":[{"container_id":1,"ifname":"eth0"}]})", "field 'container_id' must be a string"},
      {R"({"op":"gc","valid":[{"container_id":"c1","ifname":false}]})", "field 'ifname' must be a string"},
  };
  for (const Case& c : cases) {
    auto r = RequestFromJson(json::parse(c.text));
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_TRUE(Contains(r.status().message(), c.needle)) << c.text << " -> " << r.status().message();
  }
  // Nulls count as absent; unknown keys are ignored.
  auto lenient = RequestFromJson(json::parse(R"({"op":"del","netns":null,"ips":null,"valid":null,"extra":1})"));
  ASSERT_TRUE(lenient.ok()) << lenient.status().message();
  EXPECT_EQ(lenient->op, "del");
  EXPECT_TRUE(lenient->ips.empty());
}

TEST(ProtocolTest, MalformedResponses) {
  for (const char* text : {R"([])", R"({})", R"({"ok":"yes"})", R"({"ok":1})", R"({"code":101})"}) {
    auto r = ResponseFromJson(json::parse(text));
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_TRUE(Contains(r.status().message(), "boolean 'ok'")) << r.status().message();
  }
  auto bad_message = ResponseFromJson(json::parse(R"({"ok":false,"message":3})"));
  ASSERT_FALSE(bad_message.ok());
  EXPECT_TRUE(Contains(bad_message.status().message(), "field 'message' must be a string"));
  auto bad_iface = ResponseFromJson(json::parse(R"({"ok":true,"host_interface":[]})"));
  ASSERT_FALSE(bad_iface.ok());
  EXPECT_TRUE(Contains(bad_iface.status().message(), "field 'host_interface' must be a string"));

  // Ill-typed optional numbers are ignored rather than trusted.
  auto odd = ResponseFromJson(json::parse(R"({"ok":false,"code":"x","generation":-1})"));
  ASSERT_TRUE(odd.ok()) << odd.status().message();
  EXPECT_EQ(odd->code, 0);
  EXPECT_EQ(odd->generation, 0u);
}

// A directory under /tmp for one socket, removed with it.
class SocketDir {
 public:
  SocketDir() {
    char tmpl[] = "/tmp/nfproto-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
    path_ = dir_ + "/agent.sock";
  }
  ~SocketDir() {
    ::unlink(path_.c_str());
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  SocketDir(const SocketDir&) = delete;
  SocketDir& operator=(const SocketDir&) = delete;
  bool ok() const { return !dir_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

// A bound, listening unix socket at `path`; invalid on failure.
UniqueFd Listen(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), 4) != 0) {
    return UniqueFd();
  }
  return fd;
}

// A peer that accepts one connection, reads the request line, then runs `behaviour` on the
// connection (answer, hang up, stall ...). The request line is kept for the test to inspect.
class Peer {
 public:
  using Behaviour = std::function<void(Peer&, int fd)>;

  explicit Peer(Behaviour behaviour) : behaviour_(std::move(behaviour)) {
    int fds[2];
    if (!dir_.ok() || ::pipe2(fds, O_CLOEXEC) != 0) return;
    stop_read_.reset(fds[0]);
    stop_write_.reset(fds[1]);
    listen_ = Listen(dir_.path());
    if (listen_.valid()) thread_ = std::thread([this] { Serve(); });
  }
  ~Peer() {
    if (thread_.joinable()) {
      (void)!::write(stop_write_.get(), "x", 1);
      thread_.join();
    }
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  bool ok() const { return thread_.joinable(); }
  const std::string& path() const { return dir_.path(); }
  std::string request_line() {
    std::lock_guard<std::mutex> lock(mu_);
    return line_;
  }
  // Waits until fd is readable (data or the client's EOF); false when the test is ending.
  bool WaitReadable(int fd) {
    while (true) {
      pollfd p[2] = {{fd, POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
      int n = ::poll(p, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || p[1].revents != 0) return false;
      if (p[0].revents != 0) return true;
    }
  }
  static void Send(int fd, const std::string& data) { (void)!::send(fd, data.data(), data.size(), MSG_NOSIGNAL); }

 private:
  void Serve() {
    if (!WaitReadable(listen_.get())) return;
    UniqueFd conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) return;
    std::string in;
    while (in.find('\n') == std::string::npos) {
      if (!WaitReadable(conn.get())) return;
      char buf[4096];
      ssize_t n = ::recv(conn.get(), buf, sizeof(buf), 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      line_ = in.substr(0, in.find('\n'));
    }
    behaviour_(*this, conn.get());
  }

  SocketDir dir_;
  Behaviour behaviour_;
  UniqueFd listen_, stop_read_, stop_write_;
  std::mutex mu_;
  std::string line_;
  std::thread thread_;
};

Request StatusRequest() {
  Request r;
  r.op = "status";
  return r;
}

TEST(ProtocolCallTest, AnswerIsReturnedAndTheRequestIsOneJsonLine) {
  Peer peer([](Peer&, int fd) {
    Peer::Send(fd, R"({"ok":true,"generation":9,"host_interface":"veth0"})"
                   "\n");
  });
  ASSERT_TRUE(peer.ok());
  auto r = Call(peer.path(), FullRequest(), 2000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->generation, 9u);
  EXPECT_EQ(r->host_interface, "veth0");
  std::string line = peer.request_line();
  EXPECT_EQ(line, ToJson(FullRequest()).dump());
  auto sent = RequestFromJson(json::parse(line, nullptr, false));
  ASSERT_TRUE(sent.ok()) << sent.status().message();
  ExpectSameRequest(*sent, FullRequest());
}

TEST(ProtocolCallTest, RefusalIsAResponseNotAnError) {
  Peer peer([](Peer&, int fd) {
    Peer::Send(fd, R"({"ok":false,"code":104,"message":"not enforced"})"
                   "\n");
  });
  ASSERT_TRUE(peer.ok());
  auto r = Call(peer.path(), StatusRequest(), 2000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->code, kNotEnforced);
  EXPECT_EQ(r->message, "not enforced");
}

TEST(ProtocolCallTest, AnswerInPiecesIsReassembled) {
  Peer peer([](Peer&, int fd) {
    Peer::Send(fd, R"({"ok":true,)");
    std::this_thread::sleep_for(milliseconds(50));
    Peer::Send(fd, R"("generation":3})"
                   "\n"
                   "trailing bytes are ignored");
  });
  ASSERT_TRUE(peer.ok());
  auto r = Call(peer.path(), StatusRequest(), 2000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->generation, 3u);
}

TEST(ProtocolCallTest, NoListener) {
  SocketDir dir;
  ASSERT_TRUE(dir.ok());
  auto r = Call(dir.path(), StatusRequest(), 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "no netfence agent at " + dir.path())) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), std::strerror(ENOENT))) << r.status().message();

  // A stale socket file (its listener is gone): refused.
  UniqueFd stale = Listen(dir.path());
  ASSERT_TRUE(stale.valid());
  stale.reset();
  auto refused = Call(dir.path(), StatusRequest(), 1000);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(), "no netfence agent at " + dir.path()));
  EXPECT_TRUE(Contains(refused.status().message(), std::strerror(ECONNREFUSED))) << refused.status().message();
}

TEST(ProtocolCallTest, ListenerThatNeverAnswersTimesOut) {
  Peer peer([](Peer& self, int fd) { self.WaitReadable(fd); });  // holds the connection open
  ASSERT_TRUE(peer.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = Call(peer.path(), StatusRequest(), 300);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "did not answer within 300 ms")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), peer.path()));
  EXPECT_GE(elapsed, milliseconds(290));
  EXPECT_LT(elapsed, milliseconds(3000));
}

TEST(ProtocolCallTest, ListenerThatNeverAcceptsTimesOut) {
  SocketDir dir;
  ASSERT_TRUE(dir.ok());
  UniqueFd listener = Listen(dir.path());  // the connection waits in the backlog
  ASSERT_TRUE(listener.valid());
  auto r = Call(dir.path(), StatusRequest(), 200);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "did not answer within 200 ms")) << r.status().message();
}

TEST(ProtocolCallTest, ListenerThatClosesWithoutAnswering) {
  Peer peer([](Peer&, int) {});  // the connection closes when Serve returns
  ASSERT_TRUE(peer.ok());
  auto r = Call(peer.path(), StatusRequest(), 2000);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "closed the connection without answering")) << r.status().message();

  Peer partial([](Peer&, int fd) { Peer::Send(fd, R"({"ok":tr)"); });  // half an answer, then EOF
  ASSERT_TRUE(partial.ok());
  auto half = Call(partial.path(), StatusRequest(), 2000);
  ASSERT_FALSE(half.ok());
  EXPECT_TRUE(Contains(half.status().message(), "closed the connection without answering")) << half.status().message();
}

TEST(ProtocolCallTest, MalformedAnswers) {
  Peer garbage([](Peer&, int fd) { Peer::Send(fd, "garbage\n"); });
  ASSERT_TRUE(garbage.ok());
  auto r = Call(garbage.path(), StatusRequest(), 2000);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "not JSON: garbage")) << r.status().message();

  Peer no_ok([](Peer&, int fd) { Peer::Send(fd, "{\"generation\":1}\n"); });
  ASSERT_TRUE(no_ok.ok());
  auto n = Call(no_ok.path(), StatusRequest(), 2000);
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(Contains(n.status().message(), "boolean 'ok'")) << n.status().message();
}

TEST(ProtocolCallTest, SocketPathTooLong) {
  std::string path = "/tmp/" + std::string(200, 'x');
  auto r = Call(path, StatusRequest(), 100);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "socket path too long")) << r.status().message();
}

}  // namespace
}  // namespace netfence::agent
