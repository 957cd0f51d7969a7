// SPDX-License-Identifier: Apache-2.0
// A worker lcore's burst loop over real ethdevs (net_ring ports: frames in through one ring,
// out through another): policy on what it forwards, and the learning switch (flooding
// broadcast and unknown unicast, forwarding known unicast, filtering a frame whose destination
// is behind its own port, a pod's MAC pinned to its port), with hot-plug while it runs.
#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>
#include <thread>

#include "dataplane/dpdk/ports.h"
#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::dpdktest {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;
using xdptest::PacketBuilder;

const IpAddr kClient = *IpAddr::Parse("10.0.0.2");
const IpAddr kServer = *IpAddr::Parse("10.0.0.1");
const IpAddr kAdmin = *IpAddr::Parse("10.0.0.3");
const uint8_t kClientMac[6] = {0x02, 0, 0, 0, 0, 0x02};
const uint8_t kServerMac[6] = {0x02, 0, 0, 0, 0, 0x01};
const uint8_t kAdminMac[6] = {0x02, 0, 0, 0, 0, 0x03};
const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// The server takes TCP/80 from the client; nothing else is isolated.
std::string Yaml() {
  return PodYaml("default", "client", "app: client", kClient.str()) +
         PodYaml("default", "server", "app: server", kServer.str()) +
         PodYaml("default", "admin", "app: admin", kAdmin.str()) +
         PolicyYaml("default", "server-in",
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 80}]\n");
}

// Each pod's IPv6 address: fd00::<its IPv4 address's last byte>.
IpAddr V6(const IpAddr& v4) { return *IpAddr::Parse("fd00::" + std::to_string(v4.bytes[15])); }

std::vector<uint8_t> Frame(const uint8_t* dst_mac, const uint8_t* src_mac, std::vector<uint8_t> f) {
  std::copy(dst_mac, dst_mac + 6, f.begin());
  std::copy(src_mac, src_mac + 6, f.begin() + 6);
  return f;
}

struct RingPort {
  uint16_t id = 0;
  rte_ring* rx = nullptr;  // what the port receives
  rte_ring* tx = nullptr;  // what it sends
};

class DpdkWorkerTest : public ::testing::Test {
 protected:
  virtual uint32_t Quota() const { return 0; }
  void SetUp() override {
    NETFENCE_REQUIRE_DPDK();
    dpdk::DatapathOptions o = StatefulOptions();
    o.lanes = 0;
    o.forward = true;
    o.ct_pod_quota = Quota();
    o.idle_sleep_max_us = 50;
    auto h = Harness::Create(o);
    ASSERT_TRUE(h.ok()) << h.status().message();
    harness_ = std::move(h).value();
    ASSERT_EQ(harness_->dp().workers(), 1u);
    cluster_ = std::make_unique<testing::Cluster>(Yaml());
    ASSERT_TRUE(harness_->dp().Program(cluster_->tables()).ok());
    for (const IpAddr* pod : {&kClient, &kServer, &kAdmin}) ports_.push_back(MakePort(*pod));
    ASSERT_TRUE(harness_->dp().Start().ok());
  }
  void TearDown() override {
    if (!harness_) return;
    harness_->dp().Stop();
    for (const RingPort& p : ports_) {
      (void)rte_eth_dev_stop(p.id);
      (void)rte_eth_dev_close(p.id);
      rte_ring_free(p.rx);
      rte_ring_free(p.tx);
    }
  }
  RingPort MakePort(const IpAddr& pod) {
    static int n = 0;
    const std::string name = "nfwt" + std::to_string(n++);
    RingPort p;
    p.rx = rte_ring_create((name + "r").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    p.tx = rte_ring_create((name + "t").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    EXPECT_NE(p.rx, nullptr);
    EXPECT_NE(p.tx, nullptr);
    const int id = rte_eth_from_rings(name.c_str(), &p.rx, 1, &p.tx, 1, 0);
    EXPECT_GE(id, 0);
    p.id = static_cast<uint16_t>(id);
    EXPECT_TRUE(dpdk::StartEthdev(p.id, 1, harness_->dp().mempool()).ok());
    dpdk::PortPolicy policy;
    policy.role = dpdk::PortRole::kEndpoint;
    policy.ifindex = 100u + p.id;
    policy.n_addrs = 2;
    policy.addrs[0] = pod.bytes;
    policy.addrs[1] = V6(pod).bytes;
    EXPECT_TRUE(harness_->dp().AttachEthdev(p.id, policy).ok());
    return p;
  }
  // Puts `frame` on port `in`'s wire and waits until the worker has decided it.
  void Send(size_t in, const std::vector<uint8_t>& frame) { Send(in, std::vector<std::vector<uint8_t>>{frame}); }
  // The frames at once (one burst, unless the worker polls in between): waits for them all.
  void Send(size_t in, const std::vector<std::vector<uint8_t>>& frames) {
    const auto c = harness_->dp().ReadCounters();
    uint64_t before = 0;  // packets decided: every one ends on one path counter
    for (int i = 0; i <= NF_CNT_DROP; ++i) before += c[static_cast<size_t>(i)];
    std::vector<void*> mbufs;
    for (const auto& f : frames) mbufs.push_back(harness_->Mbuf(f));
    ASSERT_EQ(rte_ring_enqueue_bulk(ports_[in].rx, mbufs.data(), static_cast<unsigned>(mbufs.size()), nullptr),
              mbufs.size());
    before += frames.size() - 1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      const auto now = harness_->dp().ReadCounters();
      uint64_t after = 0;
      for (int i = 0; i <= NF_CNT_DROP; ++i) after += now[static_cast<size_t>(i)];
      if (after > before) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the worker did not take the frame";
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // its round's flush
  }
  // How many frames each port sent since the last call (and frees them).
  std::vector<unsigned> Out() {
    std::vector<unsigned> out;
    for (const RingPort& p : ports_) {
      unsigned n = 0;
      void* m;
      while (rte_ring_dequeue(p.tx, &m) == 0) {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        ++n;
      }
      out.push_back(n);
    }
    return out;
  }

  std::unique_ptr<Harness> harness_;
  std::unique_ptr<testing::Cluster> cluster_;
  std::vector<RingPort> ports_;  // client, server, admin
};

TEST_F(DpdkWorkerTest, ForwardsWhatPolicyAllowsAndLearnsWhereMacsAre) {
  const auto syn = PacketBuilder().Ipv4(kClient, kServer).Tcp(80, 40000).Build();
  // The server's MAC is unknown: the allowed SYN is flooded to the server's and admin's ports.
  Send(0, Frame(kServerMac, kClientMac, syn));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 1, 1}));
  // The reply teaches the switch where the server is; the client's MAC is known from the SYN.
  Send(1, Frame(kClientMac, kServerMac, PacketBuilder().Ipv4(kServer, kClient).TcpFlags(0x12).Tcp(40000, 80).Build()));
  EXPECT_EQ(Out(), (std::vector<unsigned>{1, 0, 0}));
  Send(0, Frame(kServerMac, kClientMac, PacketBuilder().Ipv4(kClient, kServer).TcpFlags(0x10).Tcp(80, 40000).Build()));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 1, 0}));
  // Denied by the server's ingress policy: forwarded nowhere.
  Send(0, Frame(kServerMac, kClientMac, PacketBuilder().Ipv4(kClient, kServer).Tcp(81, 40001).Build()));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 0, 0}));
  // A source address that is not the pod's: spoofed, dropped.
  Send(2, Frame(kServerMac, kAdminMac, PacketBuilder().Ipv4(kClient, kServer).Tcp(80, 40002).Build()));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 0, 0}));
  EXPECT_EQ(harness_->dp().ReadDropReasons()[NF_DROP_SPOOFED], 1u);
  // ARP for the pod's own address is not IP: broadcast to every other port.
  Send(2, Frame(kBroadcast, kAdminMac, xdptest::ArpFrame(kAdmin)));
  EXPECT_EQ(Out(), (std::vector<unsigned>{1, 1, 0}));
  // ARP for another pod's address is spoofing, any other ethertype from a pod is dropped.
  Send(2, Frame(kBroadcast, kAdminMac, xdptest::ArpFrame(kServer)));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 0, 0}));
  EXPECT_EQ(harness_->dp().ReadDropReasons()[NF_DROP_SPOOFED], 2u);
  // A neighbour advertisement speaks for its target: the pod's own IPv6 address is flooded
  // like ARP, another pod's (neighbour cache poisoning) is spoofing.
  auto na = [](const IpAddr& target) {
    return PacketBuilder()
        .Ipv6(V6(kAdmin), *IpAddr::Parse("ff02::1"))
        .IcmpMessage(136, 0, std::vector<uint8_t>(target.bytes.begin(), target.bytes.end()))
        .Build();
  };
  Send(2, Frame(kBroadcast, kAdminMac, na(V6(kAdmin))));
  EXPECT_EQ(Out(), (std::vector<unsigned>{1, 1, 0}));
  Send(2, Frame(kBroadcast, kAdminMac, na(V6(kServer))));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 0, 0}));
  EXPECT_EQ(harness_->dp().ReadDropReasons()[NF_DROP_SPOOFED], 3u);
  Send(2, Frame(kBroadcast, kAdminMac, PacketBuilder().EtherType(0x88CC).Payload(28).Build()));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 0, 0}));
  EXPECT_EQ(harness_->dp().ReadDropReasons()[NF_DROP_NOT_IP], 1u);
  // A frame for a MAC behind the port it came from goes nowhere.
  Send(0, Frame(kClientMac, kClientMac, xdptest::ArpFrame(kClient)));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 0, 0}));
  // The admin forging the client's MAC does not draw the client's frames.
  Send(2, Frame(kBroadcast, kClientMac, xdptest::ArpFrame(kAdmin)));
  (void)Out();
  Send(1, Frame(kClientMac, kServerMac, PacketBuilder().Ipv4(kServer, kClient).TcpFlags(0x10).Tcp(40000, 80).Build()));
  EXPECT_EQ(Out(), (std::vector<unsigned>{1, 0, 0}));
}

// The switch remembers its last answers within a burst (Worker::SwitchMemo): a burst whose
// frames alternate between a known and an unknown destination still sends each frame where its
// own destination is.
TEST_F(DpdkWorkerTest, EachFrameOfABurstGoesWhereItsOwnDestinationIs) {
  // The server's MAC is learned from its ARP; the admin's is not known yet.
  Send(1, Frame(kBroadcast, kServerMac, xdptest::ArpFrame(kServer)));
  EXPECT_EQ(Out(), (std::vector<unsigned>{1, 0, 1}));
  std::vector<std::vector<uint8_t>> burst;
  for (uint16_t k = 0; k < 12; ++k) {
    const auto syn = PacketBuilder().Ipv4(kClient, kServer).Tcp(80, static_cast<uint16_t>(41000 + k)).Build();
    const auto arp = xdptest::ArpFrame(kClient);
    // 6 SYNs to the server (known: its port only), 6 ARPs to the admin's MAC (unknown: flooded).
    burst.push_back(k % 2 == 0 ? Frame(kServerMac, kClientMac, syn) : Frame(kAdminMac, kClientMac, arp));
  }
  Send(0, burst);
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 12, 6}));
  // The admin answers: now it is known, and a burst to both goes to each one's port alone.
  Send(2, Frame(kClientMac, kAdminMac, xdptest::ArpFrame(kAdmin)));
  EXPECT_EQ(Out(), (std::vector<unsigned>{1, 0, 0}));
  Send(0, burst);
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 6, 6}));
}

// The per-pod connection quota (as the XDP program's): the client's port may hold 5
// connections; its 6th to 8th new flows are dropped as NF_DROP_CT_QUOTA and reach no port. The
// recount follows the table: after a flush the client has room again.
class DpdkWorkerQuotaTest : public DpdkWorkerTest {
 protected:
  uint32_t Quota() const override { return 5; }
};
TEST_F(DpdkWorkerQuotaTest, APodsNewFlowsStopAtItsQuotaOfConnections) {
  unsigned forwarded = 0;
  for (uint16_t i = 0; i < 8; ++i) {
    Send(0, Frame(kServerMac, kClientMac, PacketBuilder().Ipv4(kClient, kServer).Tcp(80, 41000 + i).Build()));
    const std::vector<unsigned> out = Out();
    forwarded += out[1];
  }
  EXPECT_EQ(forwarded, 5u);
  EXPECT_EQ(harness_->dp().ReadDropReasons()[NF_DROP_CT_QUOTA], 3u);
  ASSERT_TRUE(harness_->dp().RecountPodConnections().ok());  // the recount agrees: still full
  Send(0, Frame(kServerMac, kClientMac, PacketBuilder().Ipv4(kClient, kServer).Tcp(80, 42000).Build()));
  EXPECT_EQ(Out()[1], 0u);
  EXPECT_EQ(harness_->dp().ReadDropReasons()[NF_DROP_CT_QUOTA], 4u);
  ASSERT_TRUE(harness_->dp().FlushConntrack().ok());
  harness_->dp().Housekeeping();  // the flushed keys go, and the counts follow
  Send(0, Frame(kServerMac, kClientMac, PacketBuilder().Ipv4(kClient, kServer).Tcp(80, 42001).Build()));
  EXPECT_EQ(Out()[1], 1u);
}

TEST_F(DpdkWorkerTest, PortsComeAndGoWhileTheWorkerRuns) {
  ASSERT_TRUE(harness_->dp().DetachEthdev(ports_[2].id).ok());
  Send(0, Frame(kBroadcast, kClientMac, xdptest::ArpFrame(kClient)));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 1, 0}));  // the admin's port is gone
  dpdk::PortPolicy policy;
  policy.role = dpdk::PortRole::kEndpoint;
  policy.n_addrs = 1;
  policy.addrs[0] = kAdmin.bytes;
  ASSERT_TRUE(harness_->dp().AttachEthdev(ports_[2].id, policy).ok());
  Send(0, Frame(kBroadcast, kClientMac, xdptest::ArpFrame(kClient)));
  EXPECT_EQ(Out(), (std::vector<unsigned>{0, 1, 1}));
}

}  // namespace
}  // namespace netfence::dpdktest
