// SPDX-License-Identifier: Apache-2.0
// LoadKubeconfig: kubeconfig files (clientcmd/api/v1 types) read with yaml-cpp and merged.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <tuple>

#include "common/base/files.h"
#include "controlplane/kube/base64.h"
#include "controlplane/kube/kube_config.h"
#include "controlplane/kube/server_url.h"
#include "controlplane/kube/tls.h"

namespace netfence::kube {
namespace {

namespace fs = std::filesystem;

// One named entry of clusters/users/contexts, remembered with where it was defined.
struct Entry {
  std::string file;
  std::string path;  // "users[0].user"
  YAML::Node body;   // the cluster/user/context map (may be null)
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
  std::string current_context_file;
};

Status Fail(const std::string& file, const std::string& field, const std::string& why) {
  return Status::Error("kubeconfig " + file + ": " + (field.empty() ? "" : field + ": ") + why);
}

StatusOr<std::string> ReadFile(const std::string& path) { return ReadWholeFile(path, "cannot read"); }

std::string Resolve(const std::string& file, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(file).parent_path() / path).lexically_normal().string();
}

// Reads scalar `key` of `map` into `out`; a non-scalar value is an error naming `field`.
Status Scalar(const Entry& e, const char* key, std::string* out) {
  if (!e.body || !e.body.IsMap()) return Status::Ok();
  YAML::Node n = e.body[key];
  if (!n || n.IsNull()) return Status::Ok();
  if (!n.IsScalar()) return Fail(e.file, e.path + "." + key, "expected a string");
  *out = n.Scalar();
  return Status::Ok();
}

Status Bool(const Entry& e, const char* key, bool* out) {
  std::string s;
  if (Status st = Scalar(e, key, &s); !st.ok() || s.empty()) return st;
  if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "on") {
    *out = true;
  } else if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "off") {
    *out = false;
  } else {
    return Fail(e.file, e.path + "." + key, "expected true or false, got \"" + s + "\"");
  }
  return Status::Ok();
}

// A "-data" field (base64) takes precedence over its file field, as in client-go.
Status DataOrFile(const Entry& e, const std::string& data_key, const std::string& file_key, std::string* out,
                  std::string* field) {
  std::string data, file;
  if (Status st = Scalar(e, data_key.c_str(), &data); !st.ok()) return st;
  if (Status st = Scalar(e, file_key.c_str(), &file); !st.ok()) return st;
  if (!data.empty()) {
    *field = e.path + "." + data_key;
    auto decoded = DecodeBase64(data);
    if (!decoded) return Fail(e.file, *field, "invalid base64");
    *out = std::move(*decoded);
  } else if (!file.empty()) {
    *field = e.path + "." + file_key;
    auto text = ReadFile(Resolve(e.file, file));
    if (!text.ok()) return Fail(e.file, *field, text.status().message());
    *out = std::move(*text);
  }
  return Status::Ok();
}

Status ReadNamed(const YAML::Node& root, const std::string& file, const char* list, const char* body,
                 std::map<std::string, Entry>* into) {
  YAML::Node seq = root[list];
  if (!seq || seq.IsNull()) return Status::Ok();
  if (!seq.IsSequence()) return Fail(file, list, "expected a list");
  for (size_t i = 0; i < seq.size(); ++i) {
    std::string at = std::string(list) + "[" + std::to_string(i) + "]";
    YAML::Node item = seq[i];
    if (!item.IsMap()) return Fail(file, at, "expected a map");
    YAML::Node name = item["name"];
    if (!name || !name.IsScalar() || name.Scalar().empty()) return Fail(file, at + ".name", "required");
    into->try_emplace(name.Scalar(), Entry{file, at + "." + body, item[body]});
  }
  return Status::Ok();
}

Status MergeFile(const std::string& file, Merged* m) {
  auto text = ReadFile(file);
  if (!text.ok()) return Fail(file, "", text.status().message());
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return Fail(file, "", "line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root || root.IsNull()) return Status::Ok();  // an empty file contributes nothing
  if (!root.IsMap()) return Fail(file, "", "expected a map at the top level");
  try {
    for (auto [list, body, into] :
         {std::tuple{"clusters", "cluster", &m->clusters}, std::tuple{"users", "user", &m->users},
          std::tuple{"contexts", "context", &m->contexts}}) {
      if (Status st = ReadNamed(root, file, list, body, into); !st.ok()) return st;
    }
    YAML::Node cc = root["current-context"];
    if (cc && cc.IsScalar() && !cc.Scalar().empty() && m->current_context.empty()) {
      m->current_context = cc.Scalar();
      m->current_context_file = file;
    }
  } catch (const YAML::Exception& e) {
    return Fail(file, "", e.msg);
  }
  return Status::Ok();
}

Status FillCluster(const Entry& e, KubeConfig* c) {
  if (Status st = Scalar(e, "server", &c->server); !st.ok()) return st;
  if (c->server.empty()) return Fail(e.file, e.path + ".server", "required");
  if (auto url = ParseServerUrl(c->server); !url.ok()) return Fail(e.file, e.path + ".server", url.status().message());
  std::string field;
  if (Status st = DataOrFile(e, "certificate-authority-data", "certificate-authority", &c->ca_pem, &field); !st.ok()) {
    return st;
  }
  if (!c->ca_pem.empty()) {
    if (Status st = CheckPemCertificates(c->ca_pem); !st.ok()) return Fail(e.file, field, st.message());
  }
  if (Status st = Bool(e, "insecure-skip-tls-verify", &c->insecure_skip_tls_verify); !st.ok()) return st;
  if (c->insecure_skip_tls_verify && !c->ca_pem.empty()) {
    return Fail(e.file, e.path + ".insecure-skip-tls-verify",
                "cannot be combined with a certificate authority (as in client-go)");
  }
  if (Status st = Scalar(e, "tls-server-name", &c->tls_server_name); !st.ok()) return st;
  std::string proxy;
  if (Status st = Scalar(e, "proxy-url", &proxy); !st.ok()) return st;
  if (!proxy.empty()) return Fail(e.file, e.path + ".proxy-url", "proxies are not supported");
  return Status::Ok();
}

Status FillUser(const Entry& e, KubeConfig* c) {
  std::string field;
  if (Status st = DataOrFile(e, "client-certificate-data", "client-certificate", &c->client_cert_pem, &field);
      !st.ok()) {
    return st;
  }
  if (!c->client_cert_pem.empty()) {
    if (Status st = CheckPemCertificates(c->client_cert_pem); !st.ok()) return Fail(e.file, field, st.message());
  }
  std::string cert_field = field;
  if (Status st = DataOrFile(e, "client-key-data", "client-key", &c->client_key_pem, &field); !st.ok()) return st;
  if (!c->client_key_pem.empty()) {
    if (Status st = CheckPemPrivateKey(c->client_key_pem); !st.ok()) return Fail(e.file, field, st.message());
  }
  if (c->client_cert_pem.empty() != c->client_key_pem.empty()) {
    return Fail(e.file, c->client_cert_pem.empty() ? field : cert_field,
                "client-certificate and client-key must be set together");
  }
  if (Status st = Scalar(e, "token", &c->token); !st.ok()) return st;
  std::string token_file;
  if (Status st = Scalar(e, "tokenFile", &token_file); !st.ok()) return st;
  if (!token_file.empty()) {
    c->token_file = Resolve(e.file, token_file);
    // Read once now so that a missing file is reported at load time, naming the field.
    if (auto t = ReadFile(c->token_file); !t.ok()) return Fail(e.file, e.path + ".tokenFile", t.status().message());
  }
  if (c->token.empty() && c->token_file.empty() && c->client_cert_pem.empty() && e.body && e.body.IsMap()) {
    for (const char* plugin : {"exec", "auth-provider"}) {
      if (e.body[plugin]) {
        return Fail(e.file, e.path + "." + plugin,
                    "credential plugins are not supported; use a token, tokenFile or client certificate");
      }
    }
  }
  return Status::Ok();
}

std::vector<std::string> SplitPaths(const std::string& paths) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(paths);
  while (std::getline(in, cur, ':')) {
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

}  // namespace

StatusOr<KubeConfig> LoadKubeconfig(const std::string& paths, const std::string& context) {
  std::vector<std::string> files = SplitPaths(paths);
  if (files.empty()) return Status::Error("kubeconfig: no file given");
  Merged m;
  int read = 0;
  for (const std::string& f : files) {
    // In a list, missing files are skipped (as kubectl does); a single path must exist.
    std::error_code ec;
    if (files.size() > 1 && !fs::exists(f, ec)) continue;
    if (Status st = MergeFile(f, &m); !st.ok()) return st;
    ++read;
  }
  if (read == 0) return Status::Error("kubeconfig " + paths + ": none of these files exists");
  const std::string where = files.size() == 1 ? files[0] : paths;

  std::string ctx_name = context.empty() ? m.current_context : context;
  if (ctx_name.empty()) return Fail(where, "current-context", "not set (and no context given)");
  auto ctx = m.contexts.find(ctx_name);
  if (ctx == m.contexts.end()) {
    std::string field = context.empty() ? "current-context" : "context";
    const std::string& file = context.empty() ? m.current_context_file : where;
    return Fail(file, field, "no context named \"" + ctx_name + "\" in contexts");
  }
  const Entry& ce = ctx->second;
  std::string cluster_name, user_name;
  KubeConfig c;
  if (Status st = Scalar(ce, "cluster", &cluster_name); !st.ok()) return st;
  if (Status st = Scalar(ce, "user", &user_name); !st.ok()) return st;
  if (Status st = Scalar(ce, "namespace", &c.ns); !st.ok()) return st;
  if (cluster_name.empty()) return Fail(ce.file, ce.path + ".cluster", "required");
  auto cl = m.clusters.find(cluster_name);
  if (cl == m.clusters.end()) {
    return Fail(ce.file, ce.path + ".cluster", "no cluster named \"" + cluster_name + "\" in clusters");
  }
  if (Status st = FillCluster(cl->second, &c); !st.ok()) return st;
  if (!user_name.empty()) {
    auto us = m.users.find(user_name);
    if (us == m.users.end()) return Fail(ce.file, ce.path + ".user", "no user named \"" + user_name + "\" in users");
    if (Status st = FillUser(us->second, &c); !st.ok()) return st;
  }
  c.origin = "kubeconfig " + where + " context " + ctx_name;
  return c;
}

}  // namespace netfence::kube
