// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/ports.h"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/dpdk/host_links.h"

namespace netfence::dpdk {
namespace {
constexpr uint16_t kRxDescriptors = 1024, kTxDescriptors = 1024;

std::string Errno(int rc) { return rte_strerror(rc < 0 ? -rc : rc); }
}  // namespace

Status StartEthdev(uint16_t port_id, uint16_t queues, rte_mempool* pool) {
  rte_eth_conf conf{};
  const std::string port = "port " + std::to_string(port_id);
  if (int rc = rte_eth_dev_configure(port_id, queues, queues, &conf); rc != 0) {
    return Status::Error(port + ": configure " + std::to_string(queues) + " queues: " + Errno(rc));
  }
  uint16_t rxd = kRxDescriptors, txd = kTxDescriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rxd, &txd); rc != 0) {
    return Status::Error(port + ": descriptors: " + Errno(rc));
  }
  const int socket = rte_eth_dev_socket_id(port_id) < 0 ? 0 : rte_eth_dev_socket_id(port_id);
  for (uint16_t q = 0; q < queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port_id, q, rxd, static_cast<unsigned>(socket), nullptr, pool); rc != 0) {
      return Status::Error(port + ": rx queue " + std::to_string(q) + ": " + Errno(rc) +
                           " (af_xdp needs ~2048 mbufs per port: raise --mbufs)");
    }
    if (int rc = rte_eth_tx_queue_setup(port_id, q, txd, static_cast<unsigned>(socket), nullptr); rc != 0) {
      return Status::Error(port + ": tx queue " + std::to_string(q) + ": " + Errno(rc));
    }
  }
  if (int rc = rte_eth_dev_start(port_id); rc != 0) return Status::Error(port + ": start: " + Errno(rc));
  (void)rte_eth_promiscuous_enable(port_id);  // -ENOTSUP on some vdevs: harmless
  return Status::Ok();
}

StatusOr<TakenInterface> TakeInterface(const InterfaceSpec& spec, rte_mempool* pool) {
  const std::string& name = spec.interface;
  if (spec.driver != "af_packet" && spec.driver != "af_xdp") {
    return Status::Error("interface " + name + ": driver '" + spec.driver + "' (af_packet or af_xdp)");
  }
  auto link = GetLink(name);
  if (!link.ok()) return link.status();
  if (spec.ifindex != 0 && link->ifindex != spec.ifindex) {
    return Status::Error("interface " + name + " has index " + std::to_string(link->ifindex) + ", not " +
                         std::to_string(spec.ifindex) + " (another interface of the same name?)");
  }
  TakenInterface t;
  t.interface = name;
  t.ifindex = link->ifindex;
  t.bridge = link->master != 0 ? link->master : spec.default_bridge;
  t.driver = spec.driver;
  t.vdev = "net_" + spec.driver + "_" + name;
  auto undo_bridge = [&] {
    if (link->master != 0) (void)SetMaster(name, link->master);
  };
  if (link->master != 0) {
    if (Status s = SetMaster(name, 0); !s.ok()) return s;
  }
  Status host = Status::Ok();
  if (!spec.pod_netns.empty() && !spec.pod_interface.empty())
    host = DisableOffloads(spec.pod_interface, spec.pod_netns);
  if (host.ok()) host = DisableOffloads(name);
  if (host.ok()) host = SilenceKernel(name);
  if (host.ok()) host = SetLinkUp(name);
  if (!host.ok()) {
    undo_bridge();
    return host;
  }
  std::string args = t.vdev + ",iface=" + name;
  if (spec.driver == "af_packet") {
    args += ",qpairs=" + std::to_string(spec.queues) + ",qdisc_bypass=1";
  } else {
    args += ",start_queue=0,queue_count=" + std::to_string(spec.queues);
  }
  if (int rc = rte_dev_probe(args.c_str()); rc != 0) {
    undo_bridge();
    return Status::Error("interface " + name + ": probing " + args + ": " + Errno(rc));
  }
  if (int rc = rte_eth_dev_get_port_by_name(t.vdev.c_str(), &t.port_id); rc != 0) {
    (void)rte_eal_hotplug_remove("vdev", t.vdev.c_str());
    undo_bridge();
    return Status::Error("interface " + name + ": no port for " + t.vdev);
  }
  if (Status s = StartEthdev(t.port_id, spec.queues, pool); !s.ok()) {
    (void)rte_eth_dev_close(t.port_id);
    (void)rte_eal_hotplug_remove("vdev", t.vdev.c_str());
    undo_bridge();
    return Status::Error("interface " + name + ": " + s.message());
  }
  t.discarded = DiscardQueued(t.port_id, spec.queues);
  return t;
}

uint32_t DiscardQueued(uint16_t port_id, uint16_t queues) {
  uint32_t n = 0;
  rte_mbuf* burst[32];
  for (uint16_t q = 0; q < queues; ++q) {
    for (uint16_t got; (got = rte_eth_rx_burst(port_id, q, burst, 32)) != 0;) {
      rte_pktmbuf_free_bulk(burst, got);
      n += got;
    }
  }
  return n;
}

Status ReleaseInterface(const TakenInterface& t, bool rejoin) {
  std::string errors;
  if (int rc = rte_eth_dev_stop(t.port_id); rc != 0) errors += " stop: " + Errno(rc) + ";";
  if (int rc = rte_eth_dev_close(t.port_id); rc != 0) errors += " close: " + Errno(rc) + ";";
  if (int rc = rte_eal_hotplug_remove("vdev", t.vdev.c_str()); rc != 0 && rc != -ENOENT) {
    errors += " removing " + t.vdev + ": " + Errno(rc) + ";";
  }
  if (rejoin && t.bridge != 0) {
    auto link = GetLink(t.interface);
    if (link.ok() && link->ifindex == t.ifindex) {
      if (Status s = SetMaster(t.interface, t.bridge); !s.ok()) errors += " " + s.message() + ";";
    }
  }
  if (!errors.empty()) return Status::Error("interface " + t.interface + ":" + errors);
  return Status::Ok();
}

}  // namespace netfence::dpdk
