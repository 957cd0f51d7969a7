// SPDX-License-Identifier: Apache-2.0
// Where the Kubernetes API server is and how to authenticate to it: what client-go calls a
// rest.Config, reduced to what netfence needs. It comes from a kubeconfig file (what kubectl
// uses), from the in-cluster service account (a controller running in a pod), or from the
// search order of ResolveKubeConfig (what every netfence command uses).
//
// Everything is read when the config is built, except the token file: bound service-account
// tokens rotate, so TokenSource (token_source.h) re-reads `token_file` every minute and after a
// 401, as client-go does.
#pragma once

#include <string>

#include "common/base/status.h"

namespace netfence::kube {

struct KubeConfig {
  std::string server;           // "https://10.0.0.1:6443", "http://127.0.0.1:8080", optionally with a path prefix
  std::string ca_pem;           // trusted CAs (PEM); empty = the system's roots
  std::string client_cert_pem;  // client certificate (chain) for mTLS; with client_key_pem
  std::string client_key_pem;
  std::string token;       // static bearer token; with token_file, only until the file is read
  std::string token_file;  // bearer token file, re-read (see above)
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;  // name to verify the server's certificate against (and SNI)
  std::string ns;               // the context's namespace (informational: netfence lists all namespaces)
  std::string origin;           // where this came from, for messages: "kubeconfig /x/config context kind"
};

// Reads one kubeconfig file, or a colon-separated list of them merged the way kubectl merges
// $KUBECONFIG: for clusters, users and contexts the first file that defines a name wins;
// current-context comes from the first file that sets it. `context` overrides current-context.
// Relative file paths (certificate-authority, client-certificate, client-key, tokenFile) are
// relative to the directory of the file that holds the entry. Only the entries the selected
// context uses are decoded. Errors name the file and field:
//   kubeconfig /x/config: users[0].user.client-key-data: invalid base64
StatusOr<KubeConfig> LoadKubeconfig(const std::string& paths, const std::string& context = "");

// The standard location of a pod's service account files (token, ca.crt, namespace).
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// The config of a process running in a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
// (an IPv6 host is bracketed; Cilium-style overrides of both variables just work), the
// service account's token file (re-read) and CA. `sa_dir` is overridable for tests.
StatusOr<KubeConfig> InClusterConfig(const std::string& sa_dir = kServiceAccountDir);

struct ResolveOptions {
  std::string sa_dir = kServiceAccountDir;  // for tests
  std::string home;                         // empty = $HOME
};

// The search order of every netfence command: `kubeconfig_flag` if set; else $KUBECONFIG;
// else the in-cluster config when KUBERNETES_SERVICE_HOST is set; else ~/.kube/config.
// When nothing is found the error names everything that was tried.
StatusOr<KubeConfig> ResolveKubeConfig(const std::string& kubeconfig_flag, const ResolveOptions& options = {});

}  // namespace netfence::kube
