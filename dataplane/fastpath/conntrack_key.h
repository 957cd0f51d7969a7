// SPDX-License-Identifier: Apache-2.0
// The canonical connection key of the datapath ABI (struct nf_ct_key): both directions of a
// connection have the same key, the lower (address, port) being side a. Every fast path
// reports its connections under this key (FastPath::ReadConntrack), and the flow log finds an
// event's connection with it.
#pragma once

#include <cstdint>

#include "common/base/ip.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::fastpath {

// The key of a packet src:sport -> dst:dport, normalised exactly as the XDP program does
// (xdp/include/conntrack.h). *sender_is_b, when given, says whether the sender is side b.
nf_ct_key ConntrackKey(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport, uint8_t proto,
                       bool* sender_is_b = nullptr);

}  // namespace netfence::fastpath
