// SPDX-License-Identifier: Apache-2.0
// The fake API server's scripting API: every call runs on the server thread (Impl::Sync).
#include "tests/testing/fake_apiserver.h"

#include <sstream>
#include <thread>

#include "controlplane/kube/base64.h"
#include "tests/testing/fake_apiserver_impl.h"

namespace netfence::testing {

using nlohmann::json;

StatusOr<std::unique_ptr<FakeApiServer>> FakeApiServer::Start(const FakeApiServerOptions& options) {
  std::unique_ptr<FakeApiServer> s(new FakeApiServer());
  s->impl_ = std::make_unique<Impl>(options);
  if (Status st = s->impl_->Listen(); !st.ok()) return st;
  s->port_ = s->impl_->port();
  s->tls_ = options.certs != nullptr;
  s->certs_ = options.certs;
  return s;
}

FakeApiServer::~FakeApiServer() = default;

std::string FakeApiServer::url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::string FakeApiServer::Apply(json object) {
  return impl_->Sync([&] {
    auto c = impl_->store.Upsert(std::move(object));
    if (!c) return std::string();
    impl_->Publish(*c);
    return std::to_string(c->rv);
  });
}

std::string FakeApiServer::Delete(const std::string& kind, const std::string& ns, const std::string& name) {
  return impl_->Sync([&] {
    auto c = impl_->store.Delete(kind, ns, name);
    if (!c) return std::string();
    impl_->Publish(*c);
    return std::to_string(c->rv);
  });
}

std::vector<json> FakeApiServer::Objects(const std::string& kind) const {
  return impl_->Sync([&] { return impl_->store.Objects(kind); });
}

std::string FakeApiServer::ResourceVersion() const {
  return impl_->Sync([&] { return std::to_string(impl_->store.resource_version()); });
}

void FakeApiServer::ExpireHistory(bool notify_open_watches) {
  impl_->Sync([&] {
    impl_->store.Compact();
    if (!notify_open_watches) return;
    const std::string message =
        "too old resource version (compacted at " + std::to_string(impl_->store.compacted()) + ")";
    const json event = {{"type", "ERROR"}, {"object", FakeStatus(410, "Expired", message)}};
    for (const auto& w : impl_->watches) {
      if (w->ended) continue;
      w->ended = true;
      w->Push(event.dump() + "\n");
    }
  });
}

void FakeApiServer::ExpireContinueTokens() {
  impl_->Sync([&] { impl_->store.ExpireContinueTokens(); });
}

void FakeApiServer::SetGoneMode(GoneMode mode) {
  impl_->Sync([&] { impl_->gone_mode = mode; });
}

void FakeApiServer::DropConnections() {
  impl_->Sync([&] { impl_->DropAll(); });
}

void FakeApiServer::CutWatchesMidEvent() {
  impl_->Sync([&] {
    for (const auto& w : impl_->watches) w->cut_next = true;
  });
}

void FakeApiServer::SetChunkDelay(std::chrono::milliseconds delay) {
  impl_->Sync([&] { impl_->chunk_delay = delay; });
}

void FakeApiServer::SetUnserved(std::set<std::string> resources) {
  impl_->Sync([&] { impl_->unserved = std::move(resources); });
}

void FakeApiServer::SetSplitEvents(bool split) {
  impl_->Sync([&] { impl_->split_events = split; });
}

void FakeApiServer::FailRequests(const std::string& path, int count, int status, int retry_after_seconds,
                                 RequestKind kind) {
  impl_->Sync([&] {
    for (int i = 0; i < count; ++i) impl_->failures[{path, kind}].push_back({status, retry_after_seconds});
  });
}

void FakeApiServer::SendBookmark() {
  impl_->Sync([&] {
    for (const auto& w : impl_->watches) {
      if (w->bookmarks && !w->ended) w->Push(impl_->store.Bookmark(*w->resource).dump() + "\n");
    }
  });
}

void FakeApiServer::SetTokens(std::map<std::string, std::string> tokens) {
  impl_->Sync([&] { impl_->options.tokens = std::move(tokens); });
}

void FakeApiServer::SetForbiddenUsers(std::set<std::string> users) {
  impl_->Sync([&] { impl_->options.forbidden_users = std::move(users); });
}

std::vector<FakeRequest> FakeApiServer::Requests() const {
  return impl_->Sync([&] { return impl_->log; });
}

std::vector<FakeRequest> FakeApiServer::Requests(const std::string& path, std::optional<bool> watch) const {
  return impl_->Sync([&] {
    std::vector<FakeRequest> out;
    for (const auto& r : impl_->log) {
      if (r.path == path && (!watch || r.watch == *watch)) out.push_back(r);
    }
    return out;
  });
}

void FakeApiServer::ClearRequests() {
  impl_->Sync([&] { impl_->log.clear(); });
}

int FakeApiServer::OpenWatches(const std::string& path) const {
  return impl_->Sync([&] {
    int n = 0;
    for (const auto& w : impl_->watches) {
      if (!w->ended && !w->client_gone && (path.empty() || w->resource->path == path)) ++n;
    }
    return n;
  });
}

bool FakeApiServer::WaitForWatches(int n, std::chrono::milliseconds timeout, const std::string& path) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (OpenWatches(path) >= n) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int FakeApiServer::OpenConnections() const {
  return impl_->Sync([&] { return static_cast<int>(impl_->conns.size()); });
}

Status FakeApiServer::WriteKubeconfig(const std::string& path, const KubeconfigCredentials& c) const {
  std::ostringstream y;
  const std::string name = c.context;
  y << "apiVersion: v1\nkind: Config\ncurrent-context: " << name << "\nclusters:\n- name: " << name
    << "\n  cluster:\n    server: " << url() << "\n";
  if (tls_ && c.insecure) {
    y << "    insecure-skip-tls-verify: true\n";
  } else if (tls_ && c.cert_files) {
    y << "    certificate-authority: " << certs_->ca_cert_file << "\n";
  } else if (tls_) {
    y << "    certificate-authority-data: " << kube::EncodeBase64(certs_->ca_cert_pem) << "\n";
  }
  y << "users:\n- name: " << name << "\n  user:\n";
  bool any = false;
  if (!c.token.empty()) {
    y << "    token: \"" << c.token << "\"\n";
    any = true;
  }
  if (!c.token_file.empty()) {
    y << "    tokenFile: " << c.token_file << "\n";
    any = true;
  }
  if (c.client_cert) {
    if (!certs_) return Status::Error("WriteKubeconfig: client certificates need a TLS server");
    if (c.cert_files) {
      y << "    client-certificate: " << certs_->client_cert_file << "\n    client-key: " << certs_->client_key_file
        << "\n";
    } else {
      y << "    client-certificate-data: " << kube::EncodeBase64(certs_->client_cert_pem)
        << "\n    client-key-data: " << kube::EncodeBase64(certs_->client_key_pem) << "\n";
    }
    any = true;
  }
  if (!any) y << "    {}\n";
  y << "contexts:\n- name: " << name << "\n  context:\n    cluster: " << name << "\n    user: " << name
    << "\n    namespace: default\n";
  if (!WriteTextFile(path, y.str())) return Status::Error("WriteKubeconfig: cannot write " + path);
  return Status::Ok();
}

StatusOr<TokenApiServer> StartTokenApiServer(const std::string& dir, const std::string& token, const std::string& user,
                                             const std::string& kubeconfig) {
  auto certs = MakeTestCerts(dir);
  if (!certs.ok()) return certs.status();
  TokenApiServer s;
  s.certs = std::make_unique<TestCerts>(std::move(certs).value());
  FakeApiServerOptions o;
  o.certs = s.certs.get();
  o.tokens = {{token, user}};
  auto api = FakeApiServer::Start(o);
  if (!api.ok()) return api.status();
  s.api = std::move(api).value();
  KubeconfigCredentials creds;
  creds.token = token;
  if (Status st = s.api->WriteKubeconfig(kubeconfig, creds); !st.ok()) return st;
  return s;
}

}  // namespace netfence::testing
