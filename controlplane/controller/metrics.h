// SPDX-License-Identifier: Apache-2.0
// The controller's /metrics (Prometheus text), /livez and /readyz.
#pragma once

#include <map>
#include <string>

#include "common/http/http_server.h"
#include "common/http/prometheus.h"
#include "controlplane/controller/controller_core.h"

namespace netfence::controller {

std::string MetricsText(const ControllerCore& core);

// netfence_policy_connections_total{kind,namespace,policy,verdict}: the rule hit counters summed
// per policy, for the kMaxPolicySeries busiest policies (bounded cardinality; the rest summed
// under policy="_other").
inline constexpr size_t kMaxPolicySeries = 100;
void PolicyHitMetrics(const v1::RuleHitsReply& hits, prometheus::Text* t);
// /metrics, /livez (the event loop answers), /readyz (the cluster state is synced).
std::map<std::string, http::Server::Handler> OperationalRoutes(const ControllerCore& core);

}  // namespace netfence::controller
