// SPDX-License-Identifier: Apache-2.0
// The flags and channel of a netfencectl command that asks a netfence server over gRPC (the
// controller: status, stats; an agent: stats): its address, the mTLS client files, plaintext
// for tests.
#pragma once

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "common/base/status.h"

namespace netfence::ctl {

struct GrpcClientFlags {
  std::string tls_cert, tls_key, tls_ca, tls_server_name;
  bool plaintext = false;
  int timeout_s = 10;
  // --tls-cert, --tls-key, --tls-ca, --tls-server-name, --insecure-plaintext, --timeout.
  void Add(CLI::App* cmd);
};

// A channel to `target` (HOST:PORT or unix:PATH) with mTLS from the flags (or plaintext);
// `plain_unix`: a unix socket needs no TLS (an agent's Observe socket, guarded by its mode).
StatusOr<std::shared_ptr<grpc::Channel>> Dial(const std::string& target, const GrpcClientFlags& flags, bool plain_unix);

// A deadline of flags.timeout_s from now.
void SetDeadline(const GrpcClientFlags& flags, grpc::ClientContext* ctx);

}  // namespace netfence::ctl
