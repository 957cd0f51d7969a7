// SPDX-License-Identifier: Apache-2.0
#include "tests/testing/test_certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

namespace netfence::testing {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using CertPtr = std::unique_ptr<X509, Free>;
using BioPtr = std::unique_ptr<BIO, Free>;

std::string SslError(const std::string& what) {
  std::string out = what;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += std::string(": ") + buf;
  }
  return out;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioText(bio.get());
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioText(bio.get());
}

KeyPtr ReadKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return KeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

CertPtr ReadCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return CertPtr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

struct Spec {
  std::string cn;
  std::string org;
  bool ca = false;
  std::string san;          // "DNS:localhost,IP:127.0.0.1" or empty
  std::string ext_key_use;  // "serverAuth" / "clientAuth"
  int days = 30;
};

// A new key and a certificate for it, signed by (issuer, issuer_key), or self-signed when
// issuer is null.
StatusOr<CertAndKey> Make(const Spec& spec, X509* issuer, EVP_PKEY* issuer_key) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Status::Error(SslError("EC key generation"));
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(spec.days) * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!spec.org.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(spec.org.c_str()), -1,
                               -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1,
                             0);
  X509* signer = issuer ? issuer : cert.get();
  EVP_PKEY* signer_key = issuer ? issuer_key : key.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok =
      AddExt(cert.get(), signer, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
      AddExt(cert.get(), signer, NID_key_usage,
             spec.ca ? "critical,keyCertSign,cRLSign,digitalSignature" : "critical,digitalSignature,keyEncipherment") &&
      AddExt(cert.get(), signer, NID_subject_key_identifier, "hash") &&
      AddExt(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (ok && !spec.ext_key_use.empty()) ok = AddExt(cert.get(), signer, NID_ext_key_usage, spec.ext_key_use);
  if (ok && !spec.san.empty()) ok = AddExt(cert.get(), signer, NID_subject_alt_name, spec.san);
  if (!ok) return Status::Error(SslError("certificate extensions for " + spec.cn));
  if (X509_sign(cert.get(), signer_key, EVP_sha256()) == 0) return Status::Error(SslError("signing " + spec.cn));
  return CertAndKey{CertPem(cert.get()), KeyPem(key.get())};
}

}  // namespace

bool WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

StatusOr<TestCerts> MakeTestCerts(const std::string& dir, const TestCertsOptions& options) {
  TestCerts c;
  c.dir = dir;
  auto ca = Make({options.ca_common_name, "", true, "", "", options.valid_days + 1}, nullptr, nullptr);
  if (!ca.ok()) return ca.status();
  CertPtr ca_cert = ReadCert(ca->cert_pem);
  KeyPtr ca_key = ReadKey(ca->key_pem);
  std::string san;
  for (const auto& d : options.server_dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : options.server_ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  auto server =
      Make({options.server_common_name, "", false, san, "serverAuth", options.valid_days}, ca_cert.get(), ca_key.get());
  if (!server.ok()) return server.status();
  auto client =
      Make({options.client_common_name, options.client_organization, false, "", "clientAuth", options.valid_days},
           ca_cert.get(), ca_key.get());
  if (!client.ok()) return client.status();
  c.ca_cert_pem = ca->cert_pem;
  c.ca_key_pem = ca->key_pem;
  c.server_cert_pem = server->cert_pem;
  c.server_key_pem = server->key_pem;
  c.client_cert_pem = client->cert_pem;
  c.client_key_pem = client->key_pem;
  struct File {
    std::string* path;
    const char* name;
    const std::string* text;
  };
  for (const File& f : {File{&c.ca_cert_file, "ca.crt", &c.ca_cert_pem}, File{&c.ca_key_file, "ca.key", &c.ca_key_pem},
                        File{&c.server_cert_file, "server.crt", &c.server_cert_pem},
                        File{&c.server_key_file, "server.key", &c.server_key_pem},
                        File{&c.client_cert_file, "client.crt", &c.client_cert_pem},
                        File{&c.client_key_file, "client.key", &c.client_key_pem}}) {
    *f.path = dir + "/" + f.name;
    if (!WriteTextFile(*f.path, *f.text)) return Status::Error("cannot write " + *f.path);
  }
  return c;
}

StatusOr<CertAndKey> IssueClientCert(const TestCerts& certs, const std::string& common_name,
                                     const std::string& organization) {
  CertPtr ca_cert = ReadCert(certs.ca_cert_pem);
  KeyPtr ca_key = ReadKey(certs.ca_key_pem);
  if (!ca_cert || !ca_key) return Status::Error(SslError("reading the test CA"));
  return Make({common_name, organization, false, "", "clientAuth", 30}, ca_cert.get(), ca_key.get());
}

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (char* p = mkdtemp(tmpl.data())) path_ = p;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace netfence::testing
