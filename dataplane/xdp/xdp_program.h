// The XDP classifier (xdp/netfence.bpf.c) loaded through its libbpf skeleton, and its
// maps programmed from compiled rule tables.
//
//   auto prog = XdpProgram::Load(MapLimits::For(tables));   // open, size maps, verify
//   prog.value()->Program(tables);                          // fill every map
//   ... attach prog_fd() (bpf_xdp_attach) or run it with BPF_PROG_TEST_RUN ...
//
// Not yet: connection tracking, flow events, and atomic table swaps (Program() rewrites
// the maps in place; a packet classified during Program() may see a mix of generations).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/common/status.h"
#include "netfence/v1/tables.pb.h"

struct netfence_bpf;  // the generated skeleton (netfence.skel.h)

namespace netfence::xdp {

// Capacities of the maps, fixed at load.
struct MapLimits {
  uint32_t ipcache = 1;
  uint32_t tables = 1;
  uint32_t id_rows = 1;
  uint32_t cidr_rows = 1;
  uint32_t port_rows = 1;
  uint32_t words = 1;

  // Exactly what `tables` needs (at least 1 each); scale up for later, larger tables.
  static MapLimits For(const v1::RuleTables& tables);
  MapLimits Scaled(uint32_t factor) const;
};

enum class Map { kIpcache, kTables, kIdRows, kCidrRows, kPortRows, kWords, kLastDecision, kDropReasons };

class XdpProgram {
 public:
  // Opens the skeleton, sizes the maps and loads (verifies) the program. Errors carry
  // libbpf's messages (the verifier log's tail when verification fails).
  static StatusOr<std::unique_ptr<XdpProgram>> Load(const MapLimits& limits);
  ~XdpProgram();
  XdpProgram(const XdpProgram&) = delete;
  XdpProgram& operator=(const XdpProgram&) = delete;

  // Replaces the maps' contents with `tables`: checks them (see map_entries.h), deletes
  // the previous tables' entries that are gone, then writes every entry. Fails without
  // touching the maps when the tables are malformed or exceed the limits; a failing map
  // syscall midway leaves them partly rewritten (call again, or reload).
  Status Program(const v1::RuleTables& tables);

  int prog_fd() const;
  int map_fd(Map map) const;
  const MapLimits& limits() const { return limits_; }

 private:
  XdpProgram(netfence_bpf* skel, const MapLimits& limits) : skel_(skel), limits_(limits) {}
  netfence_bpf* skel_;
  MapLimits limits_;
};

// Whether this process may load BPF programs at all: loads a two-instruction XDP program.
// Not OK (with the reason) e.g. without CAP_BPF or in a kernel without BPF syscall.
Status ProbeBpf();

}  // namespace netfence::xdp
