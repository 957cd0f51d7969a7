// FastPath: what the control side of a node (the agent) needs from a packet path that
// enforces compiled rule tables. The XDP program (dataplane/xdp/) implements it; the DPDK
// pipeline implements the same interface, so the agent programs either without knowing which.
//
// Contract of Program(): the tables are checked first (malformed tables are refused and the
// live generation stays); then they become live at once: every packet is decided either
// entirely by the previous tables or entirely by the new ones. Connections admitted under
// earlier tables are re-checked against the new ones at their next packet: a connection the
// new tables deny is cut, an allowed one continues.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/common/status.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::dataplane {

class FastPath {
 public:
  virtual ~FastPath() = default;

  // "xdp", "dpdk", ...: for logs and metrics.
  virtual std::string_view name() const = 0;

  // Makes `tables` live atomically (see above). Not thread-safe: one programmer at a time.
  virtual Status Program(const v1::RuleTables& tables) = 0;

  // RuleTables.generation of the live tables; 0 before the first Program().
  virtual uint64_t live_generation() const = 0;
};

}  // namespace netfence::dataplane
