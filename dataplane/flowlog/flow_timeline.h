// SPDX-License-Identifier: Apache-2.0
// FlowTimeline: every record of one flow (one Community ID: one 5-tuple), from any number of
// nodes' logs, in the order things happened: the question an investigator asks first.
//
//   FlowTimeline t("1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
//   for (const FlowRecord& r : records) t.Add(r);   // others are ignored
//   std::cout << t.ToText();                        // or t.Sorted() for any other shape
//
// A record is placed at the time of what it tells: a start at its first packet, a drop at its
// first dropped packet (first_time), an update or an end at the scan that saw it. Ties keep
// the natural order start, drop, update, end. A connection is seen by both nodes when its ends
// are on two: the sender's node (egress) and the receiver's (ingress, or the drop).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/flowlog/flow_record.h"

namespace netfence::flowlog {

class FlowTimeline {
 public:
  explicit FlowTimeline(std::string community_id) : id_(std::move(community_id)) {}

  // Keeps the record if it is of this flow.
  bool Add(const FlowRecord& r);
  // The kept records in timeline order.
  std::vector<FlowRecord> Sorted() const;
  // A header naming the flow, then one line per record with its offset from the first.
  std::string ToText() const;
  size_t size() const { return records_.size(); }

  // When what a record tells happened (see above).
  static int64_t EventTime(const FlowRecord& r);

 private:
  std::string id_;
  std::vector<FlowRecord> records_;
};

}  // namespace netfence::flowlog
