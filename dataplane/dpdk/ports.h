// SPDX-License-Identifier: Apache-2.0
// Ports of the pipeline: an interface of the node taken over through a hot-plugged vdev
// (net_af_packet by default, net_af_xdp on request), or an ethdev made some other way
// (net_ring, net_null: tests and benchmarks). Taking an interface:
//   1. checks it is the interface the caller means (same index);
//   2. takes it off its bridge, remembering which (it rejoins it when released);
//   3. turns offloads off on the pod's end of the veth (inside the pod's network namespace)
//      and on this end, and silences the node's kernel on it (host_links.h);
//   4. probes the vdev (rte_dev_probe), configures one rx/tx queue pair per worker, starts it.
// From then on the interface is a port of the pipeline and of nothing else: the pod is
// switched by netfence-dpdk or not at all (fail closed when netfence-dpdk stops).
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"

struct rte_mempool;

namespace netfence::dpdk {

struct InterfaceSpec {
  std::string interface;             // the interface's name in this network namespace
  int ifindex = 0;                   // the index the caller saw (0: not checked)
  std::string pod_netns;             // a pod's veth: the pod's network namespace (path) ...
  std::string pod_interface;         // ... and its end's name there, whose offloads go off
  std::string driver = "af_packet";  // af_packet, af_xdp
  uint16_t queues = 1;
  int default_bridge = 0;  // the bridge it belongs to when it is on none now (taken before a restart)
};

struct TakenInterface {
  uint16_t port_id = 0;
  std::string vdev;  // the vdev's name (net_af_packet_<interface>)
  std::string interface;
  int ifindex = 0;
  int bridge = 0;  // the bridge it was a port of (rejoined when released), 0: none
  std::string driver;
  uint32_t discarded = 0;  // frames DiscardQueued() found on the new port
};

// Frees what waits on the port's receive queues. net_af_packet opens its socket for every
// protocol before binding it to the interface, so until the bind the ring takes frames of
// every interface of the namespace: a bridged frame of a pod on another port, read as sent on
// this one, would pin that pod's MAC here (mac_table.h) and carry it to this port. A port is
// drained before any worker polls it; what a pod sent in that instant is lost with them.
uint32_t DiscardQueued(uint16_t port_id, uint16_t queues);

StatusOr<TakenInterface> TakeInterface(const InterfaceSpec& spec, rte_mempool* pool);
// Stops the port and removes the vdev; with `rejoin`, puts the interface back on its bridge
// (if it still exists): an unplugged pod is bridged again, as it is with no fast path. Without
// (netfence-dpdk stopping), the interface stays off its bridge: nothing forwards it (fail
// closed). Errors are reported, the rest is done anyway.
Status ReleaseInterface(const TakenInterface& taken, bool rejoin);

// Configures `queues` rx/tx queue pairs on an ethdev and starts it (promiscuous).
Status StartEthdev(uint16_t port_id, uint16_t queues, rte_mempool* pool);

}  // namespace netfence::dpdk
