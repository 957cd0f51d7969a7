// SPDX-License-Identifier: Apache-2.0
#include "common/grpc/tls_credentials.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "common/base/files.h"

namespace netfence::tls {
namespace {

struct Pem {
  std::string cert, key, ca;
};

StatusOr<Pem> ReadPem(const TlsFiles& tls, const std::string& purpose) {
  if (tls.cert.empty() || tls.key.empty() || tls.ca.empty()) {
    return Status::Error("--tls-cert, --tls-key and --tls-ca are required " + purpose + " (or --insecure-plaintext)");
  }
  Pem pem;
  for (auto [path, flag, out] :
       {std::tuple{&tls.cert, "--tls-cert", &pem.cert}, std::tuple{&tls.key, "--tls-key", &pem.key},
        std::tuple{&tls.ca, "--tls-ca", &pem.ca}}) {
    auto bytes = ReadWholeFile(*path, flag);
    if (!bytes.ok()) return bytes.status();
    *out = std::move(bytes).value();
  }
  return pem;
}

}  // namespace

StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(const TlsFiles& tls, bool plaintext) {
  if (plaintext) return grpc::InsecureServerCredentials();
  auto pem = ReadPem(tls, "to serve");
  if (!pem.ok()) return pem.status();
  grpc::SslServerCredentialsOptions opts(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  opts.pem_root_certs = pem->ca;
  opts.pem_key_cert_pairs.push_back({pem->key, pem->cert});
  return grpc::SslServerCredentials(opts);
}

StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(const TlsFiles& tls, bool plaintext) {
  if (plaintext) return grpc::InsecureChannelCredentials();
  auto pem = ReadPem(tls, "to connect");
  if (!pem.ok()) return pem.status();
  grpc::SslCredentialsOptions opts;
  opts.pem_cert_chain = pem->cert;
  opts.pem_private_key = pem->key;
  opts.pem_root_certs = pem->ca;
  return grpc::SslCredentials(opts);
}

}  // namespace netfence::tls
