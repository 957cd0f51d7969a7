// SPDX-License-Identifier: Apache-2.0
// The agent's tables from netfence-controller: a TableSource over the controller's gRPC
// stream (controller_client.h), reconnected with backoff.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "dataplane/agent/controller_client.h"
#include "dataplane/agent/table_source.h"

namespace netfence::agent {

// The controller at `options.target`; `log` hears of connections made and lost.
std::unique_ptr<TableSource> MakeRemoteTableSource(boost::asio::io_context& io, ControllerClientOptions options,
                                                   std::function<void(const std::string&)> log);

}  // namespace netfence::agent
