// SPDX-License-Identifier: Apache-2.0
// GenerationHistory: what the flow log needs to know about each table generation the fast
// path ran, kept until no record can refer to it any more. A record names the rules "as of
// the generation in the record": a policy changed or deleted afterwards never rewrites what
// an earlier record says.
//
// Per generation (small, copied): the policies' names (and cluster policies' kind, tier and
// rule names), for every table its direction, its isolating policies and what each rule bit
// stands for (policy, rule index, action), the node's local
// endpoints (address -> tables), and the conntrack epoch of its programming.
// Enrichment (large: every pod address of the cluster): namespace, pod, node, identity and
// labels of every address, kept as *versions* per address ("from the n-th generation on, this
// address is pod x"), so a generation that changes three pods costs three versions, not a copy
// of the whole ipcache.
//
// Programmings and generations. The agent realises a generation whose tables equal the live
// ones (an address elsewhere in the cluster changed, nothing this node's policies name)
// without programming the fast path: the datapath goes on stamping events with the generation
// it was programmed with, under the same epoch. Such generations share their programming's
// epoch here; `stamp` is the programmed generation's number, what events, connection entries
// and records carry (as `netfence-agent status` reports it). Resolve(stamp, time) names an
// event with the latest generation of that programming live at its time: the same rules, and
// the freshest names of the addresses.
//
//   GenerationHistory h;
//   h.Add({.generation = 7, .epoch = 3, .tables = &tables, .ipcache = &view.ipcache,
//          .identities = &view.identities}, now);         // when generation 7 goes live
//   const GenerationMeta* g = h.Resolve(event.generation, event_wall_ns);  // or FindEpoch(e.epoch)
//   Endpoint src; h.Enrich(*g, addr, &src);               // namespace/pod/node/labels as of g
//   h.Retire(cutoff, [&](uint64_t stamp) { return still_held(stamp); });
//
// Retirement: a programming is dropped, with its generations, once another one became live
// before `cutoff` (the caller passes a time by which every event and conntrack entry of it has
// been read) and nothing the caller still holds refers to its stamp; within a programming, a
// generation superseded before `cutoff` by a later one of the same programming is dropped too
// (events resolve to the later one). The live generation is never dropped.
//
// Thread-safety: Add() may run on another thread (the agent's) than the readers (the
// pipeline); every method locks. Pointers returned by Find/Resolve stay valid until Retire()
// (called by the reading thread only).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/base/ip.h"
#include "dataplane/flowlog/flow_record.h"
#include "netfence/v1/distribution.pb.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::flowlog {

struct TableMeta {
  Direction direction = Direction::kIngress;
  bool isolated = false;
  std::vector<uint32_t> isolating_policies;  // indexes into GenerationMeta::policies
  std::vector<uint32_t> rule_policy;         // per rule bit
  std::vector<uint32_t> rule_index;
  std::vector<uint32_t> rule_flags;  // per rule bit when the table has cluster policy tiers or audited policies
  // Audit mode: the audited policies isolating it too (DirectionTable.audit_isolating_policies),
  // and whether any policy of the table is in audit (a rule bit with kRuleAudit, or isolation by
  // one). Only then can the datapath's audited decision differ from the enforced one.
  std::vector<uint32_t> audit_isolating_policies;
  bool audit = false;
};

// What a record says of a cluster policy (kind, tier, rule names); kind "" for a NetworkPolicy.
// audit: the policy (of either kind) is in audit at that generation.
struct PolicyInfo {
  bool audit = false;
  std::string kind;
  std::string tier;
  std::vector<std::string> rule_names[2];  // by Direction (ingress, egress)
};

struct LocalTables {
  uint32_t ingress_table = 0;
  uint32_t egress_table = 0;
};

struct IpAddrHash {
  size_t operator()(const IpAddr& a) const { return std::hash<uint64_t>{}(a.hi() * 0x9e3779b97f4a7c15ull ^ a.lo()); }
};

struct GenerationMeta {
  uint64_t generation = 0;
  uint32_t epoch = 0;     // FastPath::live_epoch() of its programming
  uint64_t stamp = 0;     // the generation the datapath stamps (its programming's first generation)
  uint64_t sequence = 0;  // order of Add() calls (generation numbers need not grow)
  std::vector<std::pair<std::string, std::string>> policies;  // (namespace, name)
  std::vector<PolicyInfo> policy_info;                        // parallel to policies
  std::vector<TableMeta> tables;
  std::unordered_map<IpAddr, LocalTables, IpAddrHash> local;  // this node's endpoints
  int64_t live_ns = 0;                                        // when it became live
  int64_t superseded_ns = 0;                                  // when the next one became live; 0 while live
  // Table sizes, for metrics.
  uint64_t identities = 0, endpoints = 0, rules = 0, ipcache = 0;

  const TableMeta* table(uint32_t index) const { return index < tables.size() ? &tables[index] : nullptr; }
};

struct GenerationInput {
  uint64_t generation = 0;
  uint32_t epoch = 0;
  const v1::RuleTables* tables = nullptr;
  const std::map<IpAddr, v1::IpcacheEntry>* ipcache = nullptr;  // every pod address (node view)
  const std::map<uint32_t, v1::Identity>* identities = nullptr;
};

class GenerationHistory {
 public:
  // Generation `in.generation` is live from now on (the previous live one is superseded).
  void Add(const GenerationInput& in, int64_t now_ns);

  // The latest Add() of that generation number.
  const GenerationMeta* Find(uint64_t generation) const;
  // The latest generation of a programming (what connection entries of that epoch are named by).
  const GenerationMeta* FindEpoch(uint32_t epoch) const;
  // What the datapath's `generation` (a stamp) decided with at `at_ns`: the latest generation
  // of its programming live then (the first one if none was yet). Null when unknown.
  const GenerationMeta* Resolve(uint64_t generation, int64_t at_ns) const;
  // Whether Resolve() knows the generation.
  bool Knows(uint64_t generation) const;
  const GenerationMeta* Live() const;

  // Fills ns/pod/node/identity/labels of `addr` as of `generation` (the ip and port are left
  // alone). Addresses that are no pod at that generation (world) get "" and no identity.
  // False when the generation is unknown (nothing filled).
  bool Enrich(uint64_t generation, const IpAddr& addr, Endpoint* out) const;
  void Enrich(const GenerationMeta& g, const IpAddr& addr, Endpoint* out) const;

  // Drops what nothing can refer to any more, as described above; returns how many
  // generations. `referenced(stamp)`: the caller still holds events or aggregates of it.
  size_t Retire(int64_t cutoff_ns, const std::function<bool(uint64_t stamp)>& referenced);

  size_t size() const;
  size_t address_versions() const;  // memory use, for tests and metrics

 private:
  struct PodInfo {
    std::string ns, pod, node;
    uint32_t identity = 0;
    bool operator==(const PodInfo&) const = default;
  };
  using Labels = std::vector<std::pair<std::string, std::string>>;
  template <typename T>
  struct Version {
    uint64_t from;                   // sequence of the first generation it holds for
    std::shared_ptr<const T> value;  // null: absent from then on
  };
  template <typename T>
  using Versions = std::vector<Version<T>>;

  template <typename T>
  static const T* At(const Versions<T>& v, uint64_t sequence);
  void DiffIpcache(const std::map<IpAddr, v1::IpcacheEntry>& ipcache, uint64_t seq);
  void DiffIdentities(const std::map<uint32_t, v1::Identity>& identities, uint64_t seq);
  void Prune(uint64_t oldest_sequence);
  void EnrichLocked(uint64_t sequence, const IpAddr& addr, Endpoint* out) const;
  void Drop(GenerationMeta* g);  // forgets one generation (the lock held)

  // One programming: its generations in the order they went live.
  struct Programming {
    uint64_t stamp = 0;
    std::vector<GenerationMeta*> generations;
    int64_t superseded_ns = 0;  // when another programming became live; 0 while live
  };

  mutable std::mutex mu_;
  uint64_t next_sequence_ = 1;
  std::map<uint64_t, std::unique_ptr<GenerationMeta>> by_sequence_;
  std::map<uint64_t, GenerationMeta*> by_generation_;  // the latest Add() of each number
  std::map<uint32_t, Programming> by_epoch_;
  std::map<uint64_t, uint32_t> stamps_;  // stamp -> epoch, while its programming is kept
  GenerationMeta* live_ = nullptr;
  std::map<IpAddr, Versions<PodInfo>> addresses_;
  std::map<uint32_t, Versions<Labels>> labels_;
};

}  // namespace netfence::flowlog
