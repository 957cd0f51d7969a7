// SPDX-License-Identifier: Apache-2.0
// What netfence-dpdk changes on the node's interfaces to take them over, through rtnetlink,
// the ETHTOOL ioctl and the interfaces' sysctls (no DPDK here):
//   - a pod's host-side veth (or an uplink) leaves its bridge (and rejoins it when unplugged);
//   - checksum and segmentation offloads go off where frames enter the pipeline: the pod's end
//     of its veth (entered through the pod's network namespace) and the bridge's end of the node
//     port, so that every frame a packet socket reads carries complete checksums and is no
//     larger than the MTU;
//   - the taken interfaces answer no ARP and have no IPv6, so the node's kernel never answers
//     for the switch on a pod's link;
//   - the node port: a veth pair, one end on the bridge, the other a port of the pipeline.
#pragma once

#include <string>

#include "common/base/status.h"

namespace netfence::dpdk {

struct LinkInfo {
  int ifindex = 0;
  int master = 0;  // the bridge it is a port of, 0 for none
  int mtu = 0;
  std::string kind;  // "veth", "bridge", ... ("" when the kernel does not say)
};

StatusOr<LinkInfo> GetLink(const std::string& name);
// Makes `name` a port of the bridge with index `master` (0: of none).
Status SetMaster(const std::string& name, int master);
Status CreateVethPair(const std::string& name, const std::string& peer);
Status DeleteLink(const std::string& name);
Status SetLinkUp(const std::string& name);
// Turns off tx checksumming, TSO, GSO and GRO on `name`; with `netns` (a path), inside that
// network namespace (a pod's, for its end of the veth).
Status DisableOffloads(const std::string& name, const std::string& netns = "");
// No ARP answers for the node's addresses (arp_ignore=8) and no IPv6 on `name`.
Status SilenceKernel(const std::string& name);

}  // namespace netfence::dpdk
