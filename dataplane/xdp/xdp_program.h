// The XDP program (xdp/netfence.bpf.c) loaded through its libbpf skeleton: the FastPath of
// the kernel.
//
//   auto prog = XdpProgram::Load({});                 // open, configure, verify
//   prog.value()->Program(tables);                     // a new generation, live at once
//   prog.value()->Attach(ifindex);                     // native XDP on an interface
//
// Generations: every Program() writes the tables into the idle slot's inner maps (in place,
// only the differences, when they fit; see slot_writer.h), then flips the `active` slot with
// one write (see xdp/include/maps.h). Conntrack
// entries remember the programming that admitted them; the next packet of a connection
// admitted earlier re-classifies it, and a connection the new tables deny is cut.
//
// Restarts: with LoadOptions::pin_dir the maps are pinned there (bpffs); a later Load()
// with the same pin_dir re-adopts them (tables, conntrack, counters, events) and Attach()
// replaces the attached program in one step, so enforcement has no gap. With keep_attached
// the destructor leaves the program attached (the agent's exit); else it detaches.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/common/ip.h"
#include "dataplane/common/status.h"
#include "dataplane/fastpath/fast_path.h"
#include "netfence/v1/tables.pb.h"
#include "xdp/include/netfence_abi.h"

struct netfence_bpf;  // the generated skeleton (netfence.skel.h)

namespace netfence::xdp {

class SlotWriter;  // slot_writer.h

struct LoadOptions {
  bool conntrack = true;          // false: classify every packet (tests, benchmarks)
  bool events = true;             // false: no ring-buffer events
  bool record_decisions = false;  // true: each CPU's last decision in last_decision (tests)
  uint32_t conntrack_entries = 262144;
  uint32_t fragment_entries = 8192;
  uint32_t ring_bytes = 1u << 22;  // a power of two, at least the page size
  std::string pin_dir;             // "" none; e.g. /sys/fs/bpf/netfence
  bool keep_attached = false;      // leave attachments in place at destruction
  // Where warnings go (generic-mode fallback, ...); stderr when empty.
  std::function<void(std::string_view)> log;
};

enum class Map {
  kActive, kSlotInfo, kIpcacheSlots, kTablesSlots, kIdRowsSlots, kCidrRowsSlots, kPortRowsSlots, kWordsSlots,
  kConntrack, kFragments, kEvents, kCounters, kDropReasons, kLastDecision, kInterfaces, kTraffic, kPodCidrs,
};

enum class AttachMode {
  kNative,           // driver mode, or fail
  kNativeOrGeneric,  // driver mode; generic (skb) mode as a logged fallback
  kGeneric,          // skb mode (explicit)
};

using Counters = std::array<uint64_t, NF_COUNTERS>;       // enum nf_counter, summed over CPUs
using DropCounts = std::array<uint64_t, NF_DROP_REASONS>;  // enum nf_drop_reason
using Traffic = std::array<nf_traffic, NF_TRAFFIC_SLOTS>;  // enum nf_traffic_index

class XdpProgram : public dataplane::FastPath {
 public:
  // Opens the skeleton, applies `options`, loads (verifies) the program, re-adopting pinned
  // maps when options.pin_dir holds them. Errors carry libbpf's messages (the verifier
  // log's tail when verification fails).
  static StatusOr<std::unique_ptr<XdpProgram>> Load(const LoadOptions& options);
  ~XdpProgram() override;
  XdpProgram(const XdpProgram&) = delete;
  XdpProgram& operator=(const XdpProgram&) = delete;

  std::string_view name() const override { return "xdp"; }
  // Checks the tables (see map_entries.h), writes them into the idle slot and makes it live.
  // On error nothing live changes.
  Status Program(const v1::RuleTables& tables) override;
  uint64_t live_generation() const override;
  // The live programming's epoch (what conntrack entries compare with); 0 before any.
  uint32_t live_epoch() const;

  // Attaches to the interface (replacing whatever XDP program it has) / detaches if ours.
  // The mode used is returned; a generic fallback is logged. ifindex is that of the calling
  // thread's network namespace; the destructor detaches only what it can reach from its own.
  StatusOr<AttachMode> Attach(int ifindex, AttachMode mode = AttachMode::kNativeOrGeneric);
  Status Detach(int ifindex);
  // Whether this program (not an earlier instance, not another program) is the XDP program
  // attached to the interface, in any mode.
  bool IsAttached(int ifindex) const;
  // The same decision at TC egress of a pod's host-side veth, for what the node itself sends
  // to the pod (no XDP hook sees it). A clsact qdisc is added when missing; our filter
  // (handle kTcHandle, priority 1) replaces an earlier one of ours in one step.
  Status AttachTcEgress(int ifindex);
  Status DetachTcEgress(int ifindex);
  static constexpr uint32_t kTcHandle = 0x4e46;  // "NF"

  // What is behind an interface (ifindex of the program's namespace): a pod's host-side veth
  // (its packets must come from `addresses`, else NF_DROP_SPOOFED), or an uplink (senders
  // are never local pods: only ingress policy applies). Unbound interfaces are judged by
  // addresses alone.
  Status BindEndpoint(int ifindex, const std::vector<IpAddr>& addresses);
  Status BindUplink(int ifindex);
  Status Unbind(int ifindex);
  // The node's pod CIDRs: packets to or from an address inside `guarded` that no local
  // endpoint holds (a pod whose interface plugin ran but whose netfence-cni ADD has not, or a
  // deleted one) are dropped as NF_DROP_UNREGISTERED, except for the `exempt` addresses (the
  // node's own inside them, such as the bridge's gateway address). Replaces the previous set.
  Status SetPodCidrs(const std::vector<IpPrefix>& guarded, const std::vector<IpAddr>& exempt);

  Counters ReadCounters() const;
  DropCounts ReadDropReasons() const;
  // IP packets and bytes by verdict and direction, summed over CPUs.
  Traffic ReadTraffic() const;
  // Deletes every conntrack entry (tests; `netfence-agent` flush).
  Status FlushConntrack();

  int prog_fd() const;     // the XDP program
  int tc_prog_fd() const;  // the TC egress program
  int map_fd(Map map) const;
  const LoadOptions& options() const { return options_; }
  // How Program() filled the idle slot so far: maps rewritten in place / fresh maps installed.
  uint64_t slot_rewrites() const;
  uint64_t slot_installs() const;

 private:
  XdpProgram(netfence_bpf* skel, LoadOptions options);
  void Warn(const std::string& message) const;
  nf_slot_info LiveSlotInfo() const;  // of the live slot; zero before any Program()
  netfence_bpf* skel_;
  LoadOptions options_;
  struct Attachment {
    int ifindex;
    uint32_t flags;
    uint64_t netns;  // inode of the network namespace it was attached in
  };
  std::vector<Attachment> attached_;
  std::vector<Attachment> tc_attached_;
  std::unique_ptr<SlotWriter> writer_;
};

// Whether this process may load BPF programs at all: loads a two-instruction XDP program.
// Not OK (with the reason) e.g. without CAP_BPF or in a kernel without BPF syscall.
Status ProbeBpf();

}  // namespace netfence::xdp
