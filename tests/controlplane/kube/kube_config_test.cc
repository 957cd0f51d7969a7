// SPDX-License-Identifier: Apache-2.0
// Kubeconfig files (data and file fields, tokens, client certificates, merged lists, errors
// that name file and field), the in-cluster config and the search order.
#include "controlplane/kube/kube_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>

#include "controlplane/kube/base64.h"
#include "tests/controlplane/kube/kube_test_util.h"
#include "tests/testing/test_certs.h"

namespace netfence::kube {
namespace {

using testing::WriteTextFile;
using testing_util::ScopedEnv;

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto certs = testing::MakeTestCerts(dir_.path());
    ASSERT_TRUE(certs.ok()) << certs.status().message();
    certs_ = *certs;
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_.file(name);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    EXPECT_TRUE(WriteTextFile(path, text));
    return path;
  }

  // A kubeconfig with one cluster "c", user "u" and context "ctx" (current), with the
  // given cluster and user bodies (indented YAML lines).
  static std::string Config(const std::string& cluster_body, const std::string& user_body,
                            const std::string& current = "ctx") {
    return "apiVersion: v1\nkind: Config\ncurrent-context: " + current + "\nclusters:\n- name: c\n  cluster:\n" +
           cluster_body + "users:\n- name: u\n  user:\n" + user_body +
           "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n    namespace: shop\n";
  }

  std::string CaData() const { return EncodeBase64(certs_.ca_cert_pem); }

  testing::TempDir dir_;
  testing::TestCerts certs_;
};

TEST_F(KubeconfigTest, TokenAndCertificateAuthorityData) {
  std::string path =
      Write("config", Config("    server: https://10.0.0.1:6443\n    certificate-authority-data: " + CaData() + "\n",
                             "    token: abc.def\n"));
  auto c = LoadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_EQ(c->ca_pem, certs_.ca_cert_pem);
  EXPECT_EQ(c->token, "abc.def");
  EXPECT_EQ(c->token_file, "");
  EXPECT_EQ(c->ns, "shop");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->origin, "kubeconfig " + path + " context ctx");
}

TEST_F(KubeconfigTest, FilePathsAreRelativeToTheKubeconfigDirectory) {
  // The certificates live in the directory above the kubeconfig's.
  std::string path = Write("sub/config", Config("    server: https://api.example:443\n"
                                                "    certificate-authority: ../ca.crt\n",
                                                "    client-certificate: ../client.crt\n"
                                                "    client-key: ../client.key\n"));
  auto c = LoadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ca_pem, certs_.ca_cert_pem);
  EXPECT_EQ(c->client_cert_pem, certs_.client_cert_pem);
  EXPECT_EQ(c->client_key_pem, certs_.client_key_pem);
  EXPECT_EQ(c->token, "");
}

TEST_F(KubeconfigTest, DataFieldsTakePrecedenceOverFiles) {
  std::string path = Write("config", Config("    server: https://h\n    certificate-authority: /nonexistent/ca\n"
                                            "    certificate-authority-data: " +
                                                CaData() + "\n",
                                            "    client-certificate-data: " + EncodeBase64(certs_.client_cert_pem) +
                                                "\n    client-key-data: " + EncodeBase64(certs_.client_key_pem) +
                                                "\n    client-key: /nonexistent/key\n"));
  auto c = LoadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ca_pem, certs_.ca_cert_pem);
  EXPECT_EQ(c->client_key_pem, certs_.client_key_pem);
}

TEST_F(KubeconfigTest, TokenFileIsResolvedAndMustExist) {
  Write("tokens/t", "tok-1\n");
  std::string path = Write("config", Config("    server: https://h\n", "    tokenFile: tokens/t\n"));
  auto c = LoadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token_file, dir_.file("tokens/t"));

  std::string bad = Write("config2", Config("    server: https://h\n", "    tokenFile: missing\n"));
  auto e = LoadKubeconfig(bad);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message().rfind(
                "kubeconfig " + bad + ": users[0].user.tokenFile: cannot read " + dir_.file("missing"), 0),
            0u)
      << e.status().message();
}

TEST_F(KubeconfigTest, InsecureSkipTlsVerifyAndServerName) {
  std::string path = Write("config", Config("    server: https://[::1]:6443\n    insecure-skip-tls-verify: true\n"
                                            "    tls-server-name: api.internal\n",
                                            "    token: t\n"));
  auto c = LoadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->tls_server_name, "api.internal");
  EXPECT_EQ(c->server, "https://[::1]:6443");

  std::string both = Write("config2", Config("    server: https://h\n    insecure-skip-tls-verify: true\n"
                                             "    certificate-authority-data: " +
                                                 CaData() + "\n",
                                             "    token: t\n"));
  auto e = LoadKubeconfig(both);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("kubeconfig " + both + ": clusters[0].cluster.insecure-skip-tls-verify: "),
            std::string::npos)
      << e.status().message();
}

TEST_F(KubeconfigTest, BadBase64NamesFileAndField) {
  std::string path = Write("config", Config("    server: https://h\n",
                                            "    client-certificate-data: " + EncodeBase64(certs_.client_cert_pem) +
                                                "\n    client-key-data: not*base64\n"));
  auto c = LoadKubeconfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "kubeconfig " + path + ": users[0].user.client-key-data: invalid base64");
}

TEST_F(KubeconfigTest, NonPemDataNamesTheField) {
  std::string path =
      Write("config", Config("    server: https://h\n    certificate-authority-data: " + EncodeBase64("hello") + "\n",
                             "    token: t\n"));
  auto c = LoadKubeconfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "kubeconfig " + path + ": clusters[0].cluster.certificate-authority-data: no PEM certificate");
}

TEST_F(KubeconfigTest, CertificateWithoutKeyIsAnError) {
  std::string path = Write(
      "config",
      Config("    server: https://h\n", "    client-certificate-data: " + EncodeBase64(certs_.client_cert_pem) + "\n"));
  auto c = LoadKubeconfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("users[0].user.client-certificate-data: client-certificate and client-key must "
                                      "be set together"),
            std::string::npos)
      << c.status().message();
}

TEST_F(KubeconfigTest, MissingContextClusterOrUserIsNamed) {
  std::string path = Write("config", Config("    server: https://h\n", "    token: t\n", "nope"));
  auto c = LoadKubeconfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "kubeconfig " + path + ": current-context: no context named \"nope\" in contexts");

  auto explicit_ctx = LoadKubeconfig(path, "other");
  ASSERT_FALSE(explicit_ctx.ok());
  EXPECT_EQ(explicit_ctx.status().message(),
            "kubeconfig " + path + ": context: no context named \"other\" in contexts");

  std::string no_user = Write("config2",
                              "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://h\n"
                              "contexts:\n- name: x\n  context:\n    cluster: c\n    user: ghost\n");
  auto u = LoadKubeconfig(no_user);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message(),
            "kubeconfig " + no_user + ": contexts[0].context.user: no user named \"ghost\" in users");

  std::string no_server = Write("config3", Config("    insecure-skip-tls-verify: false\n", "    token: t\n"));
  auto s = LoadKubeconfig(no_server);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "kubeconfig " + no_server + ": clusters[0].cluster.server: required");
}

TEST_F(KubeconfigTest, ExecPluginsAreRefusedClearly) {
  std::string path = Write("config", Config("    server: https://h\n", "    exec:\n      command: aws\n"));
  auto c = LoadKubeconfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("users[0].user.exec: credential plugins are not supported"), std::string::npos)
      << c.status().message();
}

TEST_F(KubeconfigTest, SyntaxErrorsAndMissingFilesNameTheFile) {
  std::string path = Write("config", "clusters: [\n  - name: c\n");
  auto c = LoadKubeconfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("kubeconfig " + path + ": line ", 0), 0u) << c.status().message();

  auto m = LoadKubeconfig(dir_.file("absent"));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message().rfind("kubeconfig " + dir_.file("absent") + ": cannot read", 0), 0u)
      << m.status().message();
}

TEST_F(KubeconfigTest, MergedListFirstDefinitionWins) {
  // a: sets no current-context; defines cluster c (server one) and user u.
  // b: sets current-context ctx2; defines c again (server two, ignored), context ctx2.
  // c: sets current-context other (ignored: b set it first).
  std::string a = Write("a",
                        "clusters:\n- name: c\n  cluster:\n    server: https://one:1\n"
                        "users:\n- name: u\n  user:\n    token: from-a\n");
  std::string b = Write("b",
                        "current-context: ctx2\nclusters:\n- name: c\n  cluster:\n    server: https://two:2\n"
                        "users:\n- name: u\n  user:\n    token: from-b\n"
                        "contexts:\n- name: ctx2\n  context:\n    cluster: c\n    user: u\n");
  std::string c3 = Write("c", "current-context: other\n");
  auto c = LoadKubeconfig(a + ":" + dir_.file("does-not-exist") + ":" + b + ":" + c3);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://one:1");
  EXPECT_EQ(c->token, "from-a");
  EXPECT_EQ(c->origin, "kubeconfig " + a + ":" + dir_.file("does-not-exist") + ":" + b + ":" + c3 + " context ctx2");
}

TEST_F(KubeconfigTest, InClusterReadsEnvironmentAndServiceAccountDirectory) {
  Write("sa/token", "sa-token\n");
  Write("sa/ca.crt", certs_.ca_cert_pem);
  Write("sa/namespace", "kube-system\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto c = InClusterConfig(dir_.file("sa"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->token_file, dir_.file("sa/token"));
  EXPECT_EQ(c->ca_pem, certs_.ca_cert_pem);
  EXPECT_EQ(c->ns, "kube-system");
  EXPECT_EQ(c->token, "");  // the file is the token: re-read, never copied
}

TEST_F(KubeconfigTest, InClusterBracketsIpv6AndNeedsBothVariables) {
  Write("sa/token", "t");
  Write("sa/ca.crt", certs_.ca_cert_pem);
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00::1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
    auto c = InClusterConfig(dir_.file("sa"));
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->server, "https://[fd00::1]:6443");
  }
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.0.0.1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", std::nullopt);
    auto c = InClusterConfig(dir_.file("sa"));
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.status().message().find("not in a cluster"), std::string::npos);
  }
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.0.0.1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
    auto c = InClusterConfig(dir_.file("no-such-dir"));
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.status().message().find("cannot read " + dir_.file("no-such-dir") + "/token"), std::string::npos)
        << c.status().message();
  }
}

TEST_F(KubeconfigTest, ResolveSearchOrder) {
  std::string flag = Write("flag", Config("    server: https://flag\n", "    token: t\n"));
  std::string env = Write("env", Config("    server: https://env\n", "    token: t\n"));
  Write("home/.kube/config", Config("    server: https://home\n", "    token: t\n"));
  Write("sa/token", "t");
  Write("sa/ca.crt", certs_.ca_cert_pem);
  ResolveOptions opts;
  opts.sa_dir = dir_.file("sa");
  opts.home = dir_.file("home");
  ScopedEnv kc("KUBECONFIG", env);
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.1.2.3");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  EXPECT_EQ(ResolveKubeConfig(flag, opts)->server, "https://flag");
  EXPECT_EQ(ResolveKubeConfig("", opts)->server, "https://env");
  {
    ScopedEnv no_kc("KUBECONFIG", std::nullopt);
    EXPECT_EQ(ResolveKubeConfig("", opts)->server, "https://10.1.2.3:443");
    ScopedEnv no_host("KUBERNETES_SERVICE_HOST", std::nullopt);
    EXPECT_EQ(ResolveKubeConfig("", opts)->server, "https://home");
    opts.home = dir_.file("empty-home");
    auto none = ResolveKubeConfig("", opts);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.status().message(),
              "no --kubeconfig given, $KUBECONFIG not set, not in a cluster (KUBERNETES_SERVICE_HOST not set), and " +
                  dir_.file("empty-home") + "/.kube/config does not exist");
  }
}

}  // namespace
}  // namespace netfence::kube
