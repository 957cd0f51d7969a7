// The controller's /metrics (Prometheus text), /livez and /readyz.
#pragma once

#include <map>
#include <string>

#include "controlplane/controller/controller_core.h"
#include "dataplane/common/http_server.h"

namespace netfence::controller {

std::string MetricsText(const ControllerCore& core);
// /metrics, /livez (the event loop answers), /readyz (the cluster state is synced).
std::map<std::string, http::Server::Handler> OperationalRoutes(const ControllerCore& core);

}  // namespace netfence::controller
