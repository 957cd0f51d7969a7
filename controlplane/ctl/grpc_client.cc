// SPDX-License-Identifier: Apache-2.0
#include "controlplane/ctl/grpc_client.h"

#include <chrono>

#include "common/grpc/tls_credentials.h"

namespace netfence::ctl {

void GrpcClientFlags::Add(CLI::App* cmd) {
  cmd->add_option("--tls-cert", tls_cert, "Client certificate (PEM)");
  cmd->add_option("--tls-key", tls_key, "Its key (PEM)");
  cmd->add_option("--tls-ca", tls_ca, "The CA of the server's certificate (PEM)");
  cmd->add_option("--tls-server-name", tls_server_name, "Name to check in the server's certificate");
  cmd->add_flag("--insecure-plaintext", plaintext, "No TLS (a server started with --insecure-plaintext)");
  cmd->add_option("--timeout", timeout_s, "Seconds to wait for an answer")->capture_default_str();
}

StatusOr<std::shared_ptr<grpc::Channel>> Dial(const std::string& target, const GrpcClientFlags& flags,
                                              bool plain_unix) {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!plain_unix || target.rfind("unix:", 0) != 0) {
    auto c = tls::ClientCredentials({flags.tls_cert, flags.tls_key, flags.tls_ca}, flags.plaintext);
    if (!c.ok()) return c.status();
    creds = *c;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  if (!flags.tls_server_name.empty()) args.SetSslTargetNameOverride(flags.tls_server_name);
  return grpc::CreateCustomChannel(target, creds, args);
}

void SetDeadline(const GrpcClientFlags& flags, grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(flags.timeout_s));
}

}  // namespace netfence::ctl
