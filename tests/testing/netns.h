// SPDX-License-Identifier: Apache-2.0
// Network namespaces and veth pairs for real-packet tests, cleaned up by RAII. Everything here
// shells out to iproute2 (`ip`) with an explicit argv (no shell) and needs root (CAP_SYS_ADMIN).
//
//   auto server = Netns::Create(UniqueName("nfs"));  // StatusOr<unique_ptr<Netns>>: ip netns add, lo up
//   auto veth = VethPair::Create(UniqueName("nfa"), server->get(), UniqueName("nfb"), client->get());
//   (*veth)->AddAddress(VethPair::Side::kA, "10.99.0.1/24");
//   StatusOr<UniqueFd> fd = InNetns(**server, [] { ... socket(...) ... });  // a socket of that namespace
//
// Destroy in reverse order of creation (sessions and servers, then veth pairs, then namespaces):
// an open socket keeps its namespace alive after `ip netns del`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace netfence::nettest {

// Runs argv[0] (looked up in PATH) with these arguments, waits for it, and returns its stdout. An
// error names the command line, the exit status and the command's stderr.
StatusOr<std::string> RunCommand(const std::vector<std::string>& argv);

// "prefix-<pid>-<n>" in hex, shortened (the prefix first) to at most 15 characters so it is a valid
// interface name; unique within this process and among processes running at the same time.
std::string UniqueName(const std::string& prefix);

// Moves the calling thread into the network namespace /run/netns/NAME (setns(CLONE_NEWNET)).
Status EnterNetns(const std::string& name);

class Netns {
 public:
  // Deletes a stale namespace of this name, runs `ip netns add NAME`, brings `lo` up inside, and
  // sets net.ipv6.conf.all.keep_addr_on_down=1 there so IPv6 addresses survive `ip link set X
  // down` the way IPv4 ones do (the kernel default flushes them).
  static StatusOr<std::unique_ptr<Netns>> Create(const std::string& name);
  // `ip netns del NAME`; errors are ignored. The kernel frees the namespace (and the interfaces
  // in it) asynchronously once nothing uses it.
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  // Runs `ip netns exec NAME argv...`; an error carries the command line and its stderr.
  Status Exec(const std::vector<std::string>& argv) const;

 private:
  explicit Netns(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// Runs fn() on a fresh thread that first entered the namespace, waits for it, and returns its
// result: sockets fn creates belong to that namespace (and may then be used from any thread). fn
// must return Status, StatusOr<T> or bool; when entering the namespace fails fn is not run and the
// result is that error (false for bool).
template <typename F>
auto InNetns(const std::string& netns_name, F fn) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  static_assert(std::is_same_v<R, bool> || std::is_constructible_v<R, Status>,
                "InNetns: fn must return Status, StatusOr<T> or bool");
  std::optional<R> result;
  std::thread thread([&] {
    Status entered = EnterNetns(netns_name);
    if (entered.ok()) {
      result.emplace(fn());
    } else if constexpr (std::is_same_v<R, bool>) {
      result.emplace(false);
    } else {
      result.emplace(std::move(entered));
    }
  });
  thread.join();
  return std::move(*result);
}

template <typename F>
auto InNetns(const Netns& ns, F fn) -> std::invoke_result_t<F&> {
  return InNetns(ns.name(), std::move(fn));
}

// A veth pair whose ends may live in different namespaces (nullptr = the root namespace).
class VethPair {
 public:
  enum class Side { kA, kB };

  // `ip link add A type veth peer name B` in the root namespace, moves each end into its namespace
  // and brings both up. Names must be at most 15 characters (see UniqueName).
  static StatusOr<std::unique_ptr<VethPair>> Create(const std::string& a, const Netns* ns_a, const std::string& b,
                                                    const Netns* ns_b);
  // Deletes the pair (deleting one end deletes both); errors are ignored, e.g. when a namespace is
  // already gone (the pair then goes away with it).
  ~VethPair();
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;

  const std::string& name(Side side) const { return side == Side::kA ? a_ : b_; }
  // `ip addr add CIDR dev END` in that end's namespace ("10.99.0.1/24", "fd00:99::1/64"); IPv6
  // addresses get `nodad` so they are usable at once.
  Status AddAddress(Side side, const std::string& cidr) const;
  // `ip link set dev END up|down` in that end's namespace. Bringing an end up then waits (WaitUp)
  // until both ends are operationally up, so it fails when the other end is down.
  Status SetUp(Side side, bool up) const;
  // Waits until both ends report operstate UP. The kernel switches a device from its dropping
  // placeholder qdisc to a real one asynchronously (linkwatch, slow when many namespaces come and
  // go); packets sent before are silently lost.
  Status WaitUp(int timeout_ms = 5000) const;
  // The interface index of that end inside its namespace.
  StatusOr<int> Ifindex(Side side) const;

 private:
  VethPair(std::string a, std::string ns_a, std::string b, std::string ns_b)
      : a_(std::move(a)), ns_a_(std::move(ns_a)), b_(std::move(b)), ns_b_(std::move(ns_b)) {}
  // `ip [-n NS] args...` for that end's namespace.
  Status Ip(Side side, std::vector<std::string> args) const;

  std::string a_, ns_a_, b_, ns_b_;  // an empty namespace name is the root namespace
};

// Whether this process can create network namespaces (root and `ip netns add` permitted); probed
// once. Tests skip with this message when not (see require_netns.h).
const Status& NetnsAvailable();

}  // namespace netfence::nettest
