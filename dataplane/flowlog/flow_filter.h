// SPDX-License-Identifier: Apache-2.0
// FlowFilter: which records `netfencectl flows` shows. Every set criterion must hold; a list
// holds when any of its entries does.
//
//   FlowFilter f;
//   f.namespaces = {"shop"};          // src or dst in namespace shop
//   f.pods = {"shop/db"};             // src or dst is pod shop/db ("db": a pod db in any namespace)
//   f.src_pods / f.dst_pods, f.src_namespaces / f.dst_namespaces: one end only
//   f.verdicts = {Verdict::kDenied};
//   f.policies = {{"shop", "allow-db"}};  // records whose `policies` name it
//   f.community_ids = {"1:..."};      // records of these flows (every node's, every kind)
//   f.since_ns / f.until_ns: by `time`, inclusive
//   if (f.Matches(record)) ...
//
// `lost` records are not about pods or policies: they pass every criterion but the time
// window and `events`, so a reader always learns that its view has a gap.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/flowlog/flow_record.h"

namespace netfence::flowlog {

struct FlowFilter {
  std::vector<std::string> namespaces, src_namespaces, dst_namespaces;
  std::vector<std::string> pods, src_pods, dst_pods;  // "NS/POD" or "POD"
  std::vector<Verdict> verdicts;
  std::vector<EventKind> events;
  std::vector<std::pair<std::string, std::string>> policies;  // (namespace, name); cluster policies (kind, name)
  std::vector<std::string> community_ids;
  std::optional<int64_t> since_ns, until_ns;

  bool Matches(const FlowRecord& r) const;
};

// --since/--until values: an RFC 3339 time, or a duration ("10m", "2h", "1h30m") before now.
std::optional<int64_t> ParseTimeOrAgo(std::string_view text, int64_t now_ns);

}  // namespace netfence::flowlog
