// SPDX-License-Identifier: Apache-2.0
// Where the controller's cluster comes from: --kubeconfig FILE, --manifests DIR, or, with
// neither, the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT).
#pragma once

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "controlplane/source/source.h"

namespace netfence::controller {

struct SourceFlags {
  std::string manifests;
  std::string kubeconfig;
  void Add(CLI::App* app);
};

StatusOr<std::unique_ptr<source::Source>> MakeSource(boost::asio::io_context& io, const SourceFlags& flags,
                                                     std::function<void(const std::string&)> info);

}  // namespace netfence::controller
