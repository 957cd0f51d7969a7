// SPDX-License-Identifier: Apache-2.0
// The agent's tables without a controller: an embedded controller core (the same incremental
// compiler and node views as netfence-controller) over a watched manifest directory, serving
// one node in-process. It implements the agent's TableSource; netfence-agent --manifests DIR
// wires it in (dataplane/agent/main.cc, the composition root).
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "dataplane/agent/table_source.h"

namespace netfence::embedded {

// Compiles `dir` (Namespace, Pod, NetworkPolicy manifests; re-read on change) for node `node`.
// `audit_by_default`: policies without an annotation netfence.io/enforcement are in audit (the
// controller's --default-enforcement audit).
std::unique_ptr<agent::TableSource> MakeEmbeddedTableSource(boost::asio::io_context& io, const std::string& dir,
                                                            const std::string& node,
                                                            std::function<void(const std::string&)> info,
                                                            std::function<void(const std::string&)> warn,
                                                            bool audit_by_default = false);

}  // namespace netfence::embedded
