// SPDX-License-Identifier: Apache-2.0
// The agents' flow logs and metrics as the e2e tests, probe-matrix and the demo read them:
// the records of a node's file (rotated ones first), several nodes' files merged in time
// order, and a metric of an agent's /metrics (fetched inside the node's namespace).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/base/status.h"
#include "dataplane/flowlog/flow_record.h"
#include "tests/testing/netns.h"

namespace netfence::e2e {

// Every line of the flow log at `path` and its rotated siblings, oldest first.
std::vector<std::string> FlowLogLines(const std::string& path);
// Those lines as records (a line that does not parse fails the whole read, naming it).
StatusOr<std::vector<flowlog::FlowRecord>> ReadFlowLog(const std::string& path);
// The lines of several flow logs in one file, ordered by their `time` (stable).
Status MergeFlowLogs(const std::vector<std::string>& paths, const std::string& out);

// The edges of a DOT graph (netfencectl flows -o dot) as Graphviz reads them (`dot -Tjson0`):
// (tail vertex, head vertex, the edge's `verdict` attribute). An error when dot refuses it.
using DotEdge = std::tuple<std::string, std::string, std::string>;
StatusOr<std::set<DotEdge>> DotEdges(const std::string& dot);

// Why a record is not complete, "" when it is: both ends named when they are `pods` (their
// addresses), the Community ID equal to the published algorithm's for its 5-tuple (flows and
// exact drops), a denial naming the policies that decided it.
std::string Incomplete(const flowlog::FlowRecord& r, const std::set<std::string>& pods);

// GET http://ADDRESS/PATH from inside `ns` ("127.0.0.1:9080", "/metrics"): the body.
StatusOr<std::string> HttpGetIn(const nettest::Netns& ns, const std::string& address, const std::string& path);
// The value of one series of a Prometheus text ("name" or "name{a=\"b\",...}" exactly as
// written), if present.
std::optional<double> MetricValue(const std::string& text, const std::string& series);

}  // namespace netfence::e2e
