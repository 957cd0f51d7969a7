// SPDX-License-Identifier: Apache-2.0
// gRPC credentials from PEM files, for both ends of netfence's gRPC links: the controller's
// distribution port and the agent's Observe port (servers), the agent and netfencectl
// (clients). Mutual TLS: a server requires and verifies a client certificate from `ca`; a
// client presents its own and verifies the server's against `ca`. Plaintext only when asked
// for explicitly (tests).
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "common/base/status.h"

namespace netfence::tls {

// The three PEM files of one end: its certificate, its key, and the CA the peer must chain to.
struct TlsFiles {
  std::string cert, key, ca;
};

// Errors name the flag (--tls-cert, --tls-key, --tls-ca) whose file is missing or unreadable.
StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(const TlsFiles& tls, bool plaintext);
StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(const TlsFiles& tls, bool plaintext);

}  // namespace netfence::tls
