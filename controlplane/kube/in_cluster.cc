// SPDX-License-Identifier: Apache-2.0
// InClusterConfig and ResolveKubeConfig: the service account of a pod, and the search order.
#include <cstdlib>
#include <filesystem>

#include "common/base/files.h"
#include "controlplane/kube/kube_config.h"
#include "controlplane/kube/server_url.h"
#include "controlplane/kube/tls.h"

namespace netfence::kube {
namespace {

namespace fs = std::filesystem;

StatusOr<std::string> ReadFile(const std::string& path) { return ReadWholeFile(path, "cannot read"); }

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

StatusOr<KubeConfig> InClusterConfig(const std::string& sa_dir) {
  std::string host = Env("KUBERNETES_SERVICE_HOST");
  std::string port = Env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return Status::Error(
        "in-cluster config: not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
        "must both be set)");
  }
  KubeConfig c;
  c.server = "https://" + BracketHost(host) + ":" + port;
  if (auto url = ParseServerUrl(c.server); !url.ok()) {
    return Status::Error("in-cluster config: KUBERNETES_SERVICE_HOST/PORT: " + url.status().message());
  }
  c.token_file = (fs::path(sa_dir) / "token").string();
  if (auto t = ReadFile(c.token_file); !t.ok()) return Status::Error("in-cluster config: " + t.status().message());
  std::string ca_file = (fs::path(sa_dir) / "ca.crt").string();
  auto ca = ReadFile(ca_file);
  if (!ca.ok()) return Status::Error("in-cluster config: " + ca.status().message());
  if (Status st = CheckPemCertificates(*ca); !st.ok())
    return Status::Error("in-cluster config: " + ca_file + ": " + st.message());
  c.ca_pem = std::move(*ca);
  if (auto ns = ReadFile((fs::path(sa_dir) / "namespace").string()); ns.ok()) c.ns = Trim(*ns);
  c.origin = "in-cluster " + c.server;
  return c;
}

StatusOr<KubeConfig> ResolveKubeConfig(const std::string& kubeconfig_flag, const ResolveOptions& options) {
  if (!kubeconfig_flag.empty()) return LoadKubeconfig(kubeconfig_flag);
  if (std::string env = Env("KUBECONFIG"); !env.empty()) return LoadKubeconfig(env);
  if (!Env("KUBERNETES_SERVICE_HOST").empty()) return InClusterConfig(options.sa_dir);
  std::string home = options.home.empty() ? Env("HOME") : options.home;
  std::string tried = "no --kubeconfig given, $KUBECONFIG not set, not in a cluster (KUBERNETES_SERVICE_HOST not set)";
  if (home.empty()) return Status::Error(tried + ", and $HOME not set");
  std::string def = (fs::path(home) / ".kube" / "config").string();
  std::error_code ec;
  if (!fs::exists(def, ec)) return Status::Error(tried + ", and " + def + " does not exist");
  return LoadKubeconfig(def);
}

}  // namespace netfence::kube
