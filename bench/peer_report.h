// SPDX-License-Identifier: Apache-2.0
// peers_bench's results: one entry per measurement, written as build/bench-results/peers.json
// (a list of {"system", "case", "rules", "mpps", "ns_per_packet", "map_bytes"}, null where a
// field does not apply) and as tables for people with the ratios to the floors and to
// netfence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace netfence::bench {

struct PeerResult {
  std::string system;  // "netfence", "cilium-design", "nftables-linear", ..., "xdp_drop", "xdp_pass"
  std::string kase;    // "established", "new_allowed", "new_denied", "denied_flood", ...
  std::optional<int> rules;
  std::optional<double> mpps;           // live frames: packets the receiver handled per µs
  std::optional<double> ns_per_packet;  // live: 1000 / mpps; prog_run_*: the kernel's ns per run
  std::optional<uint64_t> map_bytes;    // kernel memory of the policy state (maps' memlock)
};

std::string PeersJson(const std::vector<PeerResult>& results);
Status WriteFile(const std::string& path, const std::string& text);

// The results as tables (one per rule count), then the ratios: each live case against its
// floor (xdp_drop for drops, xdp_pass for passes) and netfence against every peer, and the
// goals with MET / NOT MET.
void PrintPeerTables(const std::vector<PeerResult>& results);

}  // namespace netfence::bench
