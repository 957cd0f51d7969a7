// SPDX-License-Identifier: Apache-2.0
// Seeded random clusters and packets for differential testing: small enough that selectors
// collide (labels come from a small vocabulary), varied enough to reach every corner of the
// NetworkPolicy semantics (all selector operators, peers of every kind, ipBlock holes over
// pod and host IPs, named ports that resolve differently per pod, IPv4/IPv6/dual-stack,
// host-network pods, pods without IPs or finished).
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "common/base/ip.h"
#include "controlplane/k8s/model.h"

namespace netfence::reference {

// The first packet of a connection.
struct Packet {
  IpAddr src;
  IpAddr dst;
  uint8_t proto = 6;   // 6, 17, 132, 1 or 58
  uint16_t dport = 0;  // 0 for ICMP/ICMPv6

  std::string str() const;  // "TCP 10.0.0.10 -> 10.0.1.11:80"
};

// A valid cluster state: 2-4 namespaces (some without a Namespace object), 2-6 pods each,
// 0-6 policies (one cluster in twelve: 12-30 policies with 4-16 rules a direction).
// IPs are unique. The same generator state gives the same cluster.
k8s::ClusterState RandomCluster(std::mt19937_64& rng);

// The same cluster, then Node objects (some holding host-network pods' addresses) and 0-6
// cluster policies (one cluster in eight: 8-20, with up to 25 rules a direction) of every
// kind (ClusterNetworkPolicy of both tiers, AdminNetworkPolicy, the BaselineAdminNetworkPolicy
// "default"), at priorities that often tie, with every peer kind (namespaces, pods, nodes,
// networks over pod and host addresses, domainNames, peers of an unknown kind that fail
// closed), every action and every port form (numbers, ranges, named ports, v1alpha1's empty
// ranges).
k8s::ClusterState RandomTieredCluster(std::mt19937_64& rng);

// A packet between two addresses of one family, each a pod IP (endpoint or not), a
// host-network IP or an address outside the cluster; the port is biased towards the ports
// the policies and pods name (and their neighbours).
Packet RandomPacket(std::mt19937_64& rng, const k8s::ClusterState& state);

}  // namespace netfence::reference
