// SPDX-License-Identifier: Apache-2.0
// FieldMask: which fields of each flow-log record to show or ship, as paths over the record's
// JSON keys (the names of dataplane/flowlog/flow_record.h and of netfence.v1.Flow):
//
//   auto m = FieldMask::Parse({"src.pod", "dst.pod", "verdict", "policies"});
//   std::string partial = m->Apply(line);   // {"verdict":"denied","src":{"pod":"a"},...}
//
// A path names a field ("verdict"), a field of an endpoint ("src.pod", "dst.labels",
// "src.labels.app"), of each policy ("policies.name") or of the TCP flags ("tcp_flags.src").
// Fields keep the record's order whatever the mask's order; a field a record does not have is
// left out. An unknown path is an error naming it and listing the known ones: a typo never
// silently prints nothing.
//
// `netfencectl flows --fields` and ObserveRequest.field_mask (the agent applies it per
// stream) use it; `lost` records are never masked (a gap is always seen whole).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace netfence::flowlog {

class FieldMask {
 public:
  FieldMask() = default;  // empty: every field
  static StatusOr<FieldMask> Parse(const std::vector<std::string>& paths);
  // "src.pod,dst.pod,verdict" (and repeated flags, joined by the caller).
  static StatusOr<FieldMask> ParseList(std::string_view comma_separated);

  bool empty() const { return paths_.empty(); }
  // The paths as given (columns of csv/table output keep this order).
  const std::vector<std::string>& paths() const { return paths_; }
  // The record line with only the masked fields; a line that is no JSON object, or a `lost`
  // record, comes back as it is.
  std::string Apply(std::string_view line) const;

  // Every path Parse() accepts, for --help and errors ("src.labels.KEY" stands for any key).
  static std::vector<std::string> KnownPaths();

 private:
  struct Node {
    bool whole = false;  // keep everything below
    std::map<std::string, Node, std::less<>> children;
  };
  std::vector<std::string> paths_;
  Node root_;
};

}  // namespace netfence::flowlog
