// SPDX-License-Identifier: Apache-2.0
// Replaying a recorded flow log against a change (`netfencectl diff --flows`): the connections
// the cluster actually carried (or refused) that the change would cut or newly admit.
//
// Records (netfence.flow/v1, dataplane/flowlog) are aggregated by (source pod, destination pod,
// protocol, destination port): each end is resolved to a pod of the cluster as it is, by the
// record's namespace and pod name when it carries them, else by its address. Each pair is then
// judged like a flip (JudgePair: the compiled tables and the production classifier, before and
// after), so "before" is today's verdict, whatever generation the log was written under.
//
//   FlowReplay replay(before);
//   ReadFlowLogs({.files = {"/var/log/netfence/flows.jsonl"}}, &replay);
//   ReplayResult r = replay.Judge(*before_classifier, after, *after_classifier, ports);
//   ObservedJson(r, replay.stats(), before_tables, after_tables);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "controlplane/reach/diff.h"
#include "dataplane/flowlog/flow_record.h"

namespace netfence::reach {

// What reading the log left to say: nothing is dropped silently.
struct ReplayStats {
  uint64_t records = 0;         // records read (every event but `lost`)
  uint64_t lost_events = 0;     // events the agent could not log (`lost` records): the log has gaps
  uint64_t judged_records = 0;  // both ends pods, a port: aggregated into pairs
  uint64_t unknown_records = 0;  // an end that is no pod of the cluster (or several: a node address)
  std::map<std::string, uint64_t> unknown;  // that end ("10.0.0.9", "ns/pod") -> records
  uint64_t no_port_records = 0;             // ICMP and other protocols, or no destination port
  uint64_t same_pod_records = 0;            // a pod to itself (loopback: always allowed)
  uint64_t malformed_lines = 0;
  std::vector<std::string> malformed;  // the first few: "FILE:LINE: why"
};

// One observed pod pair and port whose verdict the change flips.
struct ObservedFlip {
  std::string from, to;  // "ns/pod"
  ProtoPort port;
  uint64_t records = 0;
  uint64_t connections = 0;  // distinct Community IDs among the records
  int64_t last_seen_ns = 0;  // the latest time a record says a packet was seen
  uint64_t recorded_allowed = 0, recorded_denied = 0, recorded_audit = 0;  // the records' verdicts
  Judgement before, after;
};

struct ReplayResult {
  std::vector<ObservedFlip> flips;  // by source pod, destination pod, port (as Flips orders them)
  uint64_t pairs = 0;               // (pod pair, port)s judged
  uint64_t unchanged_pairs = 0;
  uint64_t other_port_records = 0;   // on a port the comparison was not asked about
  uint64_t pod_removed_records = 0;  // an end the change deletes (no verdict after it)
};

class FlowReplay {
 public:
  // `before` (the cluster as it is) must outlive the replay.
  explicit FlowReplay(const k8s::ClusterState& before);

  void Add(const flowlog::FlowRecord& r);
  // A line that is no record: `where` is "FILE:LINE".
  void AddMalformed(const std::string& where, const std::string& error);

  // Judges every observed pair before (the constructor's state) and after the change; `only`,
  // when not empty, limits the ports compared.
  ReplayResult Judge(const classifier::Classifier& before_classifier, const k8s::ClusterState& after,
                     const classifier::Classifier& after_classifier,
                     const std::vector<ProtoPort>& only) const;

  const ReplayStats& stats() const { return stats_; }

 private:
  struct Seen {
    uint64_t records = 0;
    int64_t last_ns = 0;
    uint64_t allowed = 0, denied = 0, audit = 0;
    std::unordered_set<std::string> community_ids;
  };
  using Key = std::tuple<uint32_t, uint32_t, ProtoPort>;  // indexes into MatrixPods(before)

  // The pod index of a record's end, or nullopt (then *unknown names it).
  std::optional<uint32_t> Resolve(const flowlog::Endpoint& e, std::string* unknown) const;

  std::vector<const k8s::Pod*> pods_;                 // MatrixPods(before)
  std::unordered_map<std::string, uint32_t> by_name_;  // "ns/pod" -> index
  std::map<IpAddr, int64_t> by_ip_;                    // address -> index, -1 when several pods hold it
  std::map<Key, Seen> seen_;
  ReplayStats stats_;
};

struct FlowLogFiles {
  std::vector<std::string> files = {};
  bool include_rotated = true;  // each file's rotated siblings (FILE-<time>.ext), oldest first
  // Called every `progress_every` lines read, with "FILE:LINE".
  std::function<void(const std::string& where, uint64_t lines)> progress = {};
  uint64_t progress_every = 1'000'000;
};

// Reads every record of the files into `replay`. A file that cannot be opened is an error
// naming it; malformed lines are counted (AddMalformed) and skipped.
Status ReadFlowLogs(const FlowLogFiles& files, FlowReplay* replay);

// {"observed":[{"from","to","protocol","port","records","connections","last_seen","recorded",
// "before","after","change":"cut|admitted","decided_by":{"before","after"}}],
// "observed_summary":{...}}: the keys `diff --flows` adds beside "flips".
nlohmann::json ObservedJson(const ReplayResult& r, const ReplayStats& stats, const v1::RuleTables& before_tables,
                            const v1::RuleTables& after_tables);

// The same for a person: a section after the flips' table.
std::string ObservedTable(const ReplayResult& r, const ReplayStats& stats, const v1::RuleTables& after_tables);

}  // namespace netfence::reach
