// SPDX-License-Identifier: Apache-2.0
// The Cilium-design peer (bench/bpf/cilium_peer.bpf.c) through its libbpf skeleton: an
// ipcache LPM of identities, one policy map per local endpoint keyed by (peer identity,
// protocol, port) with Cilium's wildcard lookups, and a 5-tuple conntrack. Loaded with the
// same policy as netfence so the two designs meet on the same packets.
//
//   auto peer = CiliumPeer::Load({});
//   peer.value()->Program(policy);   // every (peer, port) the policy allows, per endpoint
//   bpf_xdp_attach(ifindex, peer.value()->prog_fd(), XDP_FLAGS_DRV_MODE, nullptr);
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"
#include "common/base/unique_fd.h"

struct cilium_peer_bpf;  // the generated skeleton

namespace netfence::bench {

// A policy as Cilium's agent hands it to the datapath: identities of peers, and per local
// endpoint the (identity, TCP port) pairs its ingress policy allows (default deny).
struct PeerPolicy {
  struct Peer {
    IpAddr addr;  // IPv4
    uint32_t identity = 0;
  };
  struct Allow {
    uint32_t identity = 0;  // 0: any peer
    uint16_t port = 0;      // 0: any port
    uint8_t proto = 6;
  };
  struct Endpoint {
    IpAddr addr;
    std::vector<Allow> ingress;
  };
  std::vector<Peer> peers;
  std::vector<Endpoint> endpoints;
};

class CiliumPeer {
 public:
  struct Options {
    uint32_t conntrack_entries = 262144;
  };
  static StatusOr<std::unique_ptr<CiliumPeer>> Load(const Options& options);
  ~CiliumPeer();
  CiliumPeer(const CiliumPeer&) = delete;
  CiliumPeer& operator=(const CiliumPeer&) = delete;

  // Writes the ipcache, the endpoints and one policy map per endpoint sized to its entries
  // (the peer's best case: Cilium preallocates bpf-policy-map-max, 16,384 by default).
  Status Program(const PeerPolicy& policy);
  int prog_fd() const;
  // Packets passed and dropped, summed over CPUs.
  uint64_t passed() const;
  uint64_t dropped() const;
  // Kernel memory of the policy state (ipcache, endpoints, every policy map), from the maps'
  // fdinfo "memlock"; conntrack is not counted (netfence's is not either).
  uint64_t policy_bytes() const;

 private:
  explicit CiliumPeer(cilium_peer_bpf* skel) : skel_(skel) {}
  uint64_t Counter(uint32_t index) const;
  cilium_peer_bpf* skel_;
  std::vector<UniqueFd> policy_maps_;
};

// A map's kernel memory as its fdinfo reports it ("memlock:"), 0 when unknown.
uint64_t MapMemlock(int map_fd);

}  // namespace netfence::bench
