// SPDX-License-Identifier: Apache-2.0
// The controller's /metrics (Prometheus text), /livez and /readyz.
#pragma once

#include <map>
#include <string>

#include "common/http/http_server.h"
#include "controlplane/controller/controller_core.h"

namespace netfence::controller {

std::string MetricsText(const ControllerCore& core);
// /metrics, /livez (the event loop answers), /readyz (the cluster state is synced).
std::map<std::string, http::Server::Handler> OperationalRoutes(const ControllerCore& core);

}  // namespace netfence::controller
