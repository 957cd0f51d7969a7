// SPDX-License-Identifier: Apache-2.0
// FlowSummary: the quick look of `netfencectl flows --summary`: who talks most, who is
// denied most, and which policies decide, over the records fed to it (after filtering).
//
//   FlowSummary s;
//   for (each record) s.Add(r);
//   std::cout << s.ToText(10);        // or s.ToJson(10).dump()
//
// - Top talkers: bytes per (source, destination) pair, over flows. A flow (start/update/end
//   records with the same node and flow_id, or else the same node and community_id) counts
//   with the largest totals any of its records carries: the records hold running totals.
// - Top denied pairs: drops (the `count` of drop records) per (source, destination, port,
//   protocol).
// - Policy hits: per policy (namespace/name), the flows it decided (distinct flows whose
//   records name it) and the drops naming it (default-deny drops name isolating policies).
// - Audit (only when some record has verdict audit; the output is otherwise as before): per
//   (source, destination, port, protocol) and way, what enforcing the policies in audit
//   would change: "deny" for admitted connections they would deny (distinct flows), "allow"
//   for drops they would allow (drops), with the policies that would decide.
// Endpoints are shown as NS/POD when they are pods, else as the IP ("*" when folded away).
// Ties are broken by name, so the output is deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "dataplane/flowlog/flow_record.h"

namespace netfence::flowlog {

std::string EndpointLabel(const Endpoint& e);

class FlowSummary {
 public:
  void Add(const FlowRecord& r);

  struct Talker {
    std::string pair;  // "SRC -> DST"
    uint64_t bytes = 0, packets = 0, flows = 0;
  };
  struct Denied {
    std::string pair;  // "SRC -> DST PORT/PROTO"
    uint64_t drops = 0, bytes = 0;
  };
  struct PolicyHits {
    std::string policy;  // "NS/NAME"
    uint64_t flows = 0, drops = 0;
  };
  std::vector<Talker> TopTalkers(size_t n) const;
  std::vector<Denied> TopDenied(size_t n) const;
  std::vector<PolicyHits> TopPolicies(size_t n) const;
  struct AuditHits {
    std::string pair;   // "SRC -> DST PORT/PROTO"
    std::string would;  // "deny" (connections that got through) or "allow" (drops)
    uint64_t flows = 0, drops = 0;
    std::set<std::string> policies;  // what would decide: "NS/NAME" (cluster policies: "KIND/NAME")
  };
  std::vector<AuditHits> TopAudit(size_t n) const;

  uint64_t records() const { return records_; }
  uint64_t flows() const { return flows_.size(); }
  uint64_t drops() const { return drops_; }
  uint64_t lost_events() const { return lost_events_; }

  nlohmann::json ToJson(size_t top) const;
  std::string ToText(size_t top) const;

 private:
  struct Flow {
    std::string pair;
    uint64_t bytes = 0, packets = 0;
  };
  uint64_t records_ = 0, drops_ = 0, lost_events_ = 0;
  std::map<std::string, Flow> flows_;
  std::map<std::string, Denied> denied_;
  std::map<std::string, PolicyHits> policies_;
  std::map<std::string, AuditHits> audit_;
};

}  // namespace netfence::flowlog
