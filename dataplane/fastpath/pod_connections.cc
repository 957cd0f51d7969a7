// SPDX-License-Identifier: Apache-2.0
#include "dataplane/fastpath/pod_connections.h"

namespace netfence::fastpath {

std::map<uint32_t, uint64_t> ConnectionsByInterface(const std::vector<CtEntry>& entries) {
  std::map<uint32_t, uint64_t> out;
  for (const CtEntry& e : entries) ++out[e.entry.ifindex];
  return out;
}

}  // namespace netfence::fastpath
