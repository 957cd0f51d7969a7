// SPDX-License-Identifier: Apache-2.0
// The layout version of the maps an XDP program pinned (NF_ABI_VERSION, netfence_abi.h).
// Pinned maps outlive the agent so that a restart keeps enforcement, connections and counters.
// An upgrade that changes a pinned map's key or value layout must not re-adopt them: libbpf
// checks only the outer shape of map-in-map slots, and the verifier then rejects the new
// program (or, worse, it would read old values with the new layout). So a directory carries a
// stamp, a one-entry array map pinned as "abi_version"; maps pinned under another version (or
// with no stamp: before versions were stamped) are unpinned before the load, which then
// creates fresh ones. The old program keeps its own references until the new one replaces it
// on the interfaces.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace netfence::xdp {

inline constexpr const char* kAbiStampName = "abi_version";

// The version stamped in `dir`: 0 when there is no stamp (or it cannot be read).
uint32_t PinnedAbi(const std::string& dir);

// When `dir` holds any of `names` pinned under a version other than `abi`, unpins them and the
// stamp and says so ("" when nothing was replaced). Errors name the pin that could not go.
StatusOr<std::string> RetirePinsOfOtherAbi(const std::string& dir, const std::vector<std::string>& names, uint32_t abi);

// Stamps `dir` with `abi` (after a successful load), unless it already is.
Status StampPinnedAbi(const std::string& dir, uint32_t abi);

}  // namespace netfence::xdp
