// SPDX-License-Identifier: Apache-2.0
// TLS for the API client: the client context built from a KubeConfig (trusted CAs, client
// certificate, verification mode) and, per connection, SNI and the name the server's
// certificate must carry (tls-server-name, else the URL's host; IP literals are matched
// against IP SANs). Also PEM checks, so that config loading can name a broken field.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/base/status.h"
#include "controlplane/kube/kube_config.h"
#include "controlplane/kube/server_url.h"

namespace netfence::kube {

// Ok iff `pem` holds at least one PEM certificate and nothing unparsable between them.
Status CheckPemCertificates(const std::string& pem);
// Ok iff `pem` holds a PEM private key (any type OpenSSL reads).
Status CheckPemPrivateKey(const std::string& pem);

// Verification on (peer certificate against ca_pem, or the system roots when empty) unless
// insecure_skip_tls_verify; client certificate and key when both are set.
StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(const KubeConfig& config);

// Per connection, before the handshake: SNI (not for IP literals) and hostname/IP
// verification against `verify_name`.
Status PrepareTlsHandle(SSL* ssl, const std::string& verify_name, bool verify);

// The name to verify: tls_server_name if set, else the URL's host.
inline std::string VerifyName(const KubeConfig& config, const ServerUrl& url) {
  return config.tls_server_name.empty() ? url.host : config.tls_server_name;
}

// The last OpenSSL error as text (empty when none), clearing the queue.
std::string OpenSslError();

}  // namespace netfence::kube
