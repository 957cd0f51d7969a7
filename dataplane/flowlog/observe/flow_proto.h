// SPDX-License-Identifier: Apache-2.0
// A flow-log record as netfence.v1.Flow (proto/netfence/v1/flow.proto): the record's JSON is
// that message's JSON mapping under proto field names, so converting is parsing.
//
//   auto flow = FlowFromLine(line);        // a whole or a masked (partial) record
//   auto text = JsonpbLine(line);          // `netfencectl flows -o jsonpb`
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"
#include "netfence/v1/flow.pb.h"

namespace netfence::flowlog {

// Fields the message does not have (a later writer's) are ignored; a field of the wrong type
// is an error naming it.
StatusOr<v1::Flow> FlowFromLine(std::string_view line);
// The record in protobuf's canonical JSON: proto field names, 64-bit integers as strings,
// times as RFC 3339, fields at their default value left out. One line.
StatusOr<std::string> JsonpbLine(std::string_view line);

}  // namespace netfence::flowlog
