// SPDX-License-Identifier: Apache-2.0
// The Observe request as a FlowFilter and back: the same criteria as `netfencectl flows`
// (flow_filter.h), carried in netfence.v1.ObserveRequest.
#pragma once

#include <string>

#include "common/base/status.h"
#include "dataplane/flowlog/flow_filter.h"
#include "netfence/v1/flow.pb.h"

namespace netfence::flowlog {

// An error names the field and the value ("verdicts: \"maybe\" is not allowed, denied or audit").
StatusOr<FlowFilter> FilterFromRequest(const v1::ObserveRequest& request);
// The filter's criteria into a request (follow and no_history are the caller's).
v1::ObserveRequest RequestFromFilter(const FlowFilter& filter);

}  // namespace netfence::flowlog
