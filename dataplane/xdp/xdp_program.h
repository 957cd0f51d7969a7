// SPDX-License-Identifier: Apache-2.0
// The XDP program (xdp/netfence.bpf.c) loaded through its libbpf skeleton: the FastPath of
// the kernel.
//
//   auto prog = XdpProgram::Load({});                 // open, configure, verify
//   prog.value()->Program(tables);                     // a new generation, live at once
//   prog.value()->PlugEndpoint({ifindex, "veth1"}, {pod_ip});  // XDP + TC egress on a pod's veth
//
// Ports: a pod's veth gets the XDP program on RX (what the pod sends) and the TC program on
// egress (what the node sends to the pod); an uplink gets the XDP program. The interfaces map
// says what is behind each (see BindEndpoint). The lower-level calls (Attach, AttachTcEgress,
// Bind*) stay public for tests and benchmarks.
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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"
#include "dataplane/fastpath/fast_path.h"
#include "netfence/v1/tables.pb.h"
#include "xdp/include/netfence_abi.h"

struct netfence_bpf;  // the generated skeleton (netfence.skel.h)

namespace netfence::xdp {

class SlotWriter;      // slot_writer.h
class PodQuotaKeeper;  // pod_quota.h

enum class AttachMode {
  kNative,           // driver mode, or fail
  kNativeOrGeneric,  // driver mode; generic (skb) mode as a logged fallback
  kGeneric,          // skb mode (explicit)
};

struct LoadOptions {
  bool conntrack = true;          // false: classify every packet (tests, benchmarks)
  bool events = true;             // false: no ring-buffer events
  bool record_decisions = false;  // true: each CPU's last decision in last_decision (tests)
  bool verdict_cache = true;      // false: every classification walks the tables (benchmarks)
  uint32_t verdict_cache_entries = 16384;
  uint32_t conntrack_entries = 262144;  // per family (IPv4 and IPv6 have a map each)
  uint32_t fragment_entries = 8192;
  uint32_t ring_bytes = 1u << 22;                         // a power of two, at least the page size
  std::string pin_dir;                                    // "" none; e.g. /sys/fs/bpf/netfence
  bool keep_attached = false;                             // leave attachments in place at destruction
  AttachMode attach_mode = AttachMode::kNativeOrGeneric;  // how Plug* attach the XDP program
  // Connections a pod's interface may hold (pod_quota.h); 0: no quota. A pod's new flow past
  // it is dropped (NF_DROP_CT_QUOTA). Recounted from the tables every ct_recount_ms.
  uint32_t ct_pod_quota = 0;
  uint32_t ct_recount_ms = 1000;
  // Where warnings go (generic-mode fallback, ...); stderr when empty.
  std::function<void(std::string_view)> log;
};

enum class Map {
  kActive,
  kSlotInfo,
  kIpcacheSlots,
  kTablesSlots,
  kIdRowsSlots,
  kCidrRowsSlots,
  kPortRowsSlots,
  kWordsSlots,
  kConntrack,
  kFragments,
  kEvents,
  kCounters,
  kDropReasons,
  kLastDecision,
  kInterfaces,
  kTraffic,
  kPodCidrs,
  kVerdictCache,
  kConntrack4,
  kInterfacesLow,
  kCtPodCounts,
  kRuleHits,
  kCount,
};

using fastpath::Counters;
using fastpath::DropCounts;
using fastpath::Traffic;

class XdpProgram : public fastpath::FastPath {
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
  uint32_t live_epoch() const override;

  // FastPath ports: XDP (and TC egress for endpoints) attached in options().attach_mode,
  // the interfaces map entry written first, so the first packet the program sees on the port
  // is judged as coming from what is behind it.
  Status PlugEndpoint(const fastpath::Port& port, const std::vector<IpAddr>& addresses) override;
  Status PlugUplink(const fastpath::Port& port) override;
  // Detaches the XDP program if a netfence_xdp program (this instance's or an earlier one's)
  // is attached to the port and the port's name still names that ifindex, detaches our TC
  // filter, and forgets the interfaces map entry.
  Status Unplug(const fastpath::Port& port) override;
  bool Enforces(const fastpath::Port& port) const override { return IsAttached(port.ifindex); }

  // Attaches to the interface (replacing whatever XDP program it has) / detaches if ours.
  // The mode used is returned; a generic fallback is logged. ifindex is that of the calling
  // thread's network namespace; the destructor detaches only what it can reach from its own.
  StatusOr<AttachMode> Attach(int ifindex, AttachMode mode);
  StatusOr<AttachMode> Attach(int ifindex) { return Attach(ifindex, options_.attach_mode); }
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
  Status SetPodCidrs(const std::vector<IpPrefix>& guarded, const std::vector<IpAddr>& exempt) override;

  Counters ReadCounters() const override;
  DropCounts ReadDropReasons() const override;
  Traffic ReadTraffic() const override;
  StatusOr<std::unique_ptr<fastpath::EventStream>> OpenEvents(fastpath::EventStream::Handler handler) const override;
  Status ReadConntrack(std::vector<fastpath::CtEntry>* out) const override;
  uint32_t conntrack_capacity() const override { return options_.conntrack_entries; }
  Status ReadRuleHits(std::vector<fastpath::RuleHit>* out) const override;
  // When the rule_hits map was pinned (a restart keeps it), else this program's load.
  int64_t rule_hits_since_unix_ns() const override;
  Status FlushConntrack() override;
  // Recounts the connections of each interface into ct_pod_counts (the quota's counts; done
  // every ct_recount_ms when a quota is set).
  Status RecountPodConnections();
  // One connection by its canonical key, in whichever map holds its family (conntrack for
  // IPv6, conntrack4 for IPv4): tests and benchmarks.
  bool LookupConntrack(const nf_ct_key& key, nf_ct_entry* entry) const;
  Status WriteConntrack(const nf_ct_key& key, const nf_ct_entry& entry);

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
  // The interface's entry in interfaces_low (ifindex < NF_IFACE_LOW) or interfaces.
  Status WriteInterface(int ifindex, const nf_iface& entry);
  netfence_bpf* skel_;
  LoadOptions options_;
  int64_t loaded_unix_ns_ = 0;
  struct Attachment {
    int ifindex;
    uint32_t flags;
    uint64_t netns;  // inode of the network namespace it was attached in
  };
  std::vector<Attachment> attached_;
  std::vector<Attachment> tc_attached_;
  std::unique_ptr<SlotWriter> writer_;
  std::unique_ptr<PodQuotaKeeper> quota_keeper_;  // with ct_pod_quota: recounts every ct_recount_ms
};

// Whether this process may load BPF programs at all: loads a two-instruction XDP program.
// Not OK (with the reason) e.g. without CAP_BPF or in a kernel without BPF syscall.
Status ProbeBpf();

}  // namespace netfence::xdp
