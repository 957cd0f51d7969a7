// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace netfence::kube {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemBio(const std::string& s) { return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))); }

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// The first certificate of `cert_pem` must carry the public half of `key_pem`.
Status CheckKeyMatchesCertificate(const std::string& cert_pem, const std::string& key_pem) {
  ERR_clear_error();
  BioPtr cert_bio = MemBio(cert_pem);
  BioPtr key_bio = MemBio(key_pem);
  X509* cert = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  bool match = cert && key && X509_check_private_key(cert, key) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  ERR_clear_error();
  if (!match) return Status::Error("client key does not match the client certificate");
  return Status::Ok();
}

}  // namespace

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Status CheckPemCertificates(const std::string& pem) {
  ERR_clear_error();
  BioPtr bio = MemBio(pem);
  int n = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_free(cert);
    ++n;
  }
  unsigned long err = ERR_peek_last_error();
  bool clean_end = n > 0 && ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (n == 0) return Status::Error("no PEM certificate");
  if (!clean_end && err != 0) return Status::Error("malformed PEM certificate after certificate " + std::to_string(n));
  return Status::Ok();
}

Status CheckPemPrivateKey(const std::string& pem) {
  ERR_clear_error();
  BioPtr bio = MemBio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  ERR_clear_error();
  if (!key) return Status::Error("no PEM private key");
  EVP_PKEY_free(key);
  return Status::Ok();
}

StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(const KubeConfig& config) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (config.insecure_skip_tls_verify) {
    ctx->set_verify_mode(ssl::verify_none, ec);
  } else {
    ctx->set_verify_mode(ssl::verify_peer, ec);
    if (!config.ca_pem.empty()) {
      ctx->add_certificate_authority(boost::asio::buffer(config.ca_pem), ec);
      if (ec) return Status::Error("certificate authority: " + ec.message());
    } else {
      ctx->set_default_verify_paths(ec);
      if (ec) return Status::Error("system certificate authorities: " + ec.message());
    }
  }
  if (!config.client_cert_pem.empty() || !config.client_key_pem.empty()) {
    if (config.client_cert_pem.empty() || config.client_key_pem.empty()) {
      return Status::Error("a client certificate needs both the certificate and its key");
    }
    if (Status st = CheckKeyMatchesCertificate(config.client_cert_pem, config.client_key_pem); !st.ok()) return st;
    ctx->use_certificate_chain(boost::asio::buffer(config.client_cert_pem), ec);
    if (ec) return Status::Error("client certificate: " + ec.message());
    ctx->use_private_key(boost::asio::buffer(config.client_key_pem), ssl::context::pem, ec);
    if (ec) return Status::Error("client key: " + ec.message());
  }
  return ctx;
}

Status PrepareTlsHandle(SSL* ssl, const std::string& verify_name, bool verify) {
  if (!IsIpLiteral(verify_name) && SSL_set_tlsext_host_name(ssl, verify_name.c_str()) != 1) {
    return Status::Error("cannot set SNI \"" + verify_name + "\": " + OpenSslError());
  }
  if (!verify) return Status::Ok();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  int ok = IsIpLiteral(verify_name) ? X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str())
                                    : X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), verify_name.size());
  if (ok != 1) return Status::Error("cannot verify the name \"" + verify_name + "\": " + OpenSslError());
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return Status::Ok();
}

}  // namespace netfence::kube
