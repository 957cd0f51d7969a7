// SPDX-License-Identifier: Apache-2.0
// Taking a real interface (net_af_packet on a veth in a namespace of the test's own): the port
// hands out what arrives on that interface and nothing else, even while other interfaces of the
// namespace are busy as it is taken (net_af_packet's socket takes every interface's frames
// until it is bound; TakeInterface drains what it took).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "dataplane/dpdk/ports.h"
#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "common/base/unique_fd.h"
#include "tests/testing/netns.h"
#include "tests/testing/require_netns.h"
#include "tests/testing/socket_util.h"

namespace netfence::dpdktest {
namespace {

using nettest::Netns;

using nettest::VethPair;

constexpr uint8_t kPeerMac[6] = {0x02, 0, 0, 0, 0, 0x0b};   // behind the taken interface
constexpr uint8_t kNoiseMac[6] = {0x02, 0, 0, 0, 0, 0x0c};  // on another interface

// A frame from `src` (a local experimental EtherType: nothing in the namespace answers it).
std::vector<uint8_t> Frame(const uint8_t* src) {
  std::vector<uint8_t> f(60, 0);
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

// A packet socket of the namespace bound to `ifname` (sends out of it).
StatusOr<UniqueFd> SenderOn(const Netns& ns, const std::string& ifname) {
  return nettest::InNetns(ns, [&]() -> StatusOr<UniqueFd> {
    UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return Status::Error("packet socket: " + std::string(std::strerror(errno)));
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (a.sll_ifindex == 0 || bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      return Status::Error("binding to " + ifname + ": " + std::strerror(errno));
    }
    return fd;
  });
}

TEST(DpdkPorts, ATakenInterfaceHandsOutItsOwnFramesOnlyWhileItsNeighboursAreBusy) {
  NETFENCE_REQUIRE_DPDK();
  NETFENCE_REQUIRE_NETNS();
  auto ns = Netns::Create(nettest::UniqueName("nfq"));
  ASSERT_TRUE(ns.ok()) << ns.status().message();
  // port <-> peer: the pod's veth; noise <-> sink: a neighbour the bridge floods frames to.
  auto pod = VethPair::Create(nettest::UniqueName("nfqp"), ns->get(), nettest::UniqueName("nfqk"), ns->get());
  ASSERT_TRUE(pod.ok()) << pod.status().message();
  auto other = VethPair::Create(nettest::UniqueName("nfqn"), ns->get(), nettest::UniqueName("nfqs"), ns->get());
  ASSERT_TRUE(other.ok()) << other.status().message();
  const std::string port_if = (*pod)->name(VethPair::Side::kA);
  auto peer = SenderOn(**ns, (*pod)->name(VethPair::Side::kB));
  ASSERT_TRUE(peer.ok()) << peer.status().message();
  auto noise = SenderOn(**ns, (*other)->name(VethPair::Side::kA));
  ASSERT_TRUE(noise.ok()) << noise.status().message();

  rte_mempool* pool = rte_pktmbuf_pool_create(("nfq" + std::to_string(getpid())).c_str(), 2047, 0, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(pool, nullptr) << rte_strerror(rte_errno);

  // The neighbour sends without pause while the interface is taken, several times over.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> noise_sent{0};
  std::thread sender([&] {
    const auto f = Frame(kNoiseMac);
    while (!stop.load()) {
      if (send(noise->get(), f.data(), f.size(), 0) == static_cast<ssize_t>(f.size())) noise_sent.fetch_add(1);
    }
  });
  uint64_t own = 0, foreign = 0, discarded = 0;
  for (int round = 0; round < 8; ++round) {
    dpdk::InterfaceSpec spec;
    spec.interface = port_if;
    auto taken = nettest::InNetns(**ns, [&] { return dpdk::TakeInterface(spec, pool); });
    ASSERT_TRUE(taken.ok()) << taken.status().message();
    discarded += taken->discarded;
    const auto f = Frame(kPeerMac);
    ASSERT_EQ(send(peer->get(), f.data(), f.size(), 0), static_cast<ssize_t>(f.size())) << std::strerror(errno);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while (std::chrono::steady_clock::now() < deadline) {
      rte_mbuf* burst[32];
      const uint16_t n = rte_eth_rx_burst(taken->port_id, 0, burst, 32);
      for (uint16_t i = 0; i < n; ++i) {
        const auto* eth = rte_pktmbuf_mtod(burst[i], const uint8_t*);
        if (std::memcmp(eth + 6, kPeerMac, 6) == 0) {
          ++own;
        } else if (std::memcmp(eth + 6, kNoiseMac, 6) == 0) {
          ++foreign;
        }
      }
      if (n != 0) rte_pktmbuf_free_bulk(burst, n);
    }
    EXPECT_TRUE(dpdk::ReleaseInterface(*taken, false).ok());
  }
  stop.store(true);
  sender.join();
  rte_mempool_free(pool);
  EXPECT_GT(noise_sent.load(), 0u);
  EXPECT_EQ(own, 8u) << "each round's frame from the peer arrives once";
  EXPECT_EQ(foreign, 0u) << "frames of another interface handed out as received on the port (" << discarded
                         << " discarded when taken)";
}

}  // namespace
}  // namespace netfence::dpdktest
