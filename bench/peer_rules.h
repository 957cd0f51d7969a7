// SPDX-License-Identifier: Apache-2.0
// The netfilter peers of peers_bench: one policy (bench/cilium_peer.h's PeerPolicy: peers
// with identities, local endpoints with the (identity, port) pairs their ingress allows)
// written as the rule files each tool loads, and loaded inside a network namespace.
//
//   kNftLinear      nftables, one rule per policy rule in the endpoint's chain (a naive
//                   translation): `tcp dport P ip saddr PEER accept`, then drop
//   kNftSets        nftables as a skilled admin or kube-network-policies writes it: a verdict
//                   map from the destination to the endpoint's chain, and one concatenated
//                   set `ip saddr . tcp dport` per endpoint: two hash lookups per packet
//   kIptables       iptables-legacy, one rule per (peer address, port) pair
//   kIptablesIpset  iptables-legacy + ipset in Calico's iptables shape: a hash:ip set per
//                   identity, one rule per policy rule (`--dport P -m set --match-set`)
// Every shape starts with `ct state established,related accept` (a policy must let replies
// of admitted connections back in) and jumps to the endpoint's chain by destination.
#pragma once

#include <string>

#include "bench/cilium_peer.h"
#include "common/base/status.h"
#include "tests/testing/netns.h"

namespace netfence::bench {

enum class NetfilterShape { kNftLinear, kNftSets, kIptables, kIptablesIpset };

const char* ShapeName(NetfilterShape shape);  // the system's name in peers.json

// The files a shape loads: nft -f (nft), iptables-legacy-restore (rules), ipset restore (sets).
struct NetfilterFiles {
  std::string nft, iptables, ipset;
};
NetfilterFiles WriteNetfilterRules(NetfilterShape shape, const PeerPolicy& policy);

// Loads the files inside `ns` (through temporary files and `ip netns exec`), replacing what
// an earlier Load put there; Clear removes it all.
Status LoadNetfilter(const nettest::Netns& ns, const NetfilterFiles& files);
Status ClearNetfilter(const nettest::Netns& ns);

}  // namespace netfence::bench
