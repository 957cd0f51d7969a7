// SPDX-License-Identifier: Apache-2.0
// The agent's /metrics (Prometheus text), /livez and /readyz. No pod, node-local address or
// policy name is a label: only verdict, direction, drop reason, datapath path, record kind and
// where events were lost.
//
//   netfence_packets_total{verdict,direction}, netfence_bytes_total{verdict,direction}
//                                 every IP packet once per node (docs/fast-path.md "Traffic")
//   netfence_drops_total{reason}  dropped packets by the datapath's reason
//   netfence_datapath_packets_total{path}  how packets were decided (conntrack hit, new, ...)
//   netfence_conntrack_entries, netfence_conntrack_capacity, netfence_conntrack_created_total
//   netfence_flows_active         connections the flow log follows
//   netfence_flow_events_lost_total{at}  ring-buffer (the datapath's counter), sink-queue,
//                                 write-error (the file), observe-queue (slow streams)
//   netfence_flow_records_total{event}, netfence_flow_events_total, ...
//   netfence_table_*              the live tables' sizes; netfence_agent_generation
//
// /readyz: 200 once a generation is live (and the fast path holds it), else 503.
#pragma once

#include <map>
#include <string>

#include "common/http/http_server.h"
#include "dataplane/agent/agent.h"
#include "dataplane/agent/flow_log.h"

namespace netfence::agent {

// `flows` may be null (the flow log is off).
std::string MetricsText(Agent& agent, const FlowLog* flows);
std::map<std::string, http::Server::Handler> OperationalRoutes(Agent& agent, const FlowLog* flows);

}  // namespace netfence::agent
