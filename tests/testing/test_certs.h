// SPDX-License-Identifier: Apache-2.0
// Test PKI made at test time with the OpenSSL API: a CA, a server certificate for the
// loopback addresses (127.0.0.1, ::1, localhost) and a client certificate, all signed by
// that CA, with their keys (EC P-256, unencrypted PKCS#8 PEM). Each piece is returned as PEM
// text and written into a directory, for servers and clients that want files (kubeconfig
// certificate-authority paths, gRPC mTLS credentials).
//
//   testing::TempDir dir;
//   auto certs = testing::MakeTestCerts(dir.path());
//   ASSERT_TRUE(certs.ok()) << certs.status().message();
//   server: certs->server_cert_pem / server_key_pem; trust certs->ca_cert_pem
//   client: certs->client_cert_pem / client_key_pem (CN "netfence-test-client")
//
// Two calls make two unrelated CAs: a client trusting one refuses a server of the other.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"

namespace netfence::testing {

struct TestCertsOptions {
  std::string ca_common_name = "netfence-test-ca";
  std::string server_common_name = "localhost";
  std::vector<std::string> server_dns_names = {"localhost"};
  std::vector<std::string> server_ips = {"127.0.0.1", "::1"};
  std::string client_common_name = "netfence-test-client";
  std::string client_organization;  // Kubernetes reads O as the user's group; empty = none
  int valid_days = 30;
};

struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

struct TestCerts {
  std::string dir;
  std::string ca_cert_pem, ca_key_pem;
  std::string server_cert_pem, server_key_pem;
  std::string client_cert_pem, client_key_pem;
  // The same, as files in `dir`: ca.crt ca.key server.crt server.key client.crt client.key
  std::string ca_cert_file, ca_key_file;
  std::string server_cert_file, server_key_file;
  std::string client_cert_file, client_key_file;
};

// Makes the CA and both certificates and writes them into `dir` (which must exist).
StatusOr<TestCerts> MakeTestCerts(const std::string& dir, const TestCertsOptions& options = {});

// Another client certificate signed by the CA of `certs` (not written to disk).
StatusOr<CertAndKey> IssueClientCert(const TestCerts& certs, const std::string& common_name,
                                     const std::string& organization = "");

// A fresh directory under $TMPDIR (else /tmp), removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "netfence-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `text` to `path` (replacing it); false on failure.
bool WriteTextFile(const std::string& path, const std::string& text);

}  // namespace netfence::testing
