// SPDX-License-Identifier: Apache-2.0
// A fake Kubernetes API server for tests: a real HTTP/1.1 server (HTTPS with a test CA, or
// plain HTTP) on 127.0.0.1 with an ephemeral port, serving Namespaces, Pods, NetworkPolicies,
// Nodes, ClusterNetworkPolicies (v1alpha2), AdminNetworkPolicies and
// BaselineAdminNetworkPolicies (v1alpha1) with the real list/watch protocol (fake_apiserver_store.h has the rules):
// paged LISTs, chunked WATCH streams (one event JSON + "\n" per chunk) from an exact
// resourceVersion, bookmarks, timeoutSeconds, and authentication by bearer token or client
// certificate (401 / 403 as Status objects). Tests script it: change objects (each change
// bumps the resourceVersion and reaches every open watch), and inject the failures a real
// cluster produces: expired history (410 as HTTP status or in-stream ERROR event), expired
// continue tokens, connections dropped abruptly (also in the middle of a chunk), slow
// streams, 429 with Retry-After and 500, plus a log of every request for assertions.
//
//   testing::TempDir dir;
//   auto certs = testing::MakeTestCerts(dir.path());
//   testing::FakeApiServerOptions o;
//   o.certs = &*certs;
//   o.tokens = {{"secret", "alice"}};
//   auto server = testing::FakeApiServer::Start(o);        // StatusOr<unique_ptr<...>>
//   (*server)->Apply({{"kind","Namespace"},{"apiVersion","v1"},{"metadata",{{"name","shop"}}}});
//   (*server)->WriteKubeconfig(dir.file("kubeconfig"), {.token = "secret"});
//   ... point the client at dir.file("kubeconfig") or (*server)->url() ...
//
// The server runs on its own thread. Every public method is thread-safe and returns once
// the change is in effect (a change is queued on every open watch before Apply returns);
// none waits for the network, so a test may call them while its client's io_context is
// not running. Do not call them from inside the server's thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "tests/testing/test_certs.h"

namespace netfence::testing {

struct FakeApiServerOptions {
  // HTTPS with certs->server_cert_pem/server_key_pem; client certificates are verified
  // against certs->ca_cert_pem. Null certs = plain HTTP.
  const TestCerts* certs = nullptr;
  // Bearer tokens accepted, each naming the user it authenticates. A client certificate
  // signed by the CA authenticates as its CN.
  std::map<std::string, std::string> tokens;
  // Requests without any credentials are served (as "system:anonymous") instead of 401.
  bool allow_anonymous = false;
  // Authenticated users that get 403 Forbidden.
  std::set<std::string> forbidden_users;
  // Send a BOOKMARK this often on watches that asked for bookmarks (0 = only SendBookmark()).
  std::chrono::milliseconds bookmark_interval{0};
};

// How a watch that asks for a compacted resourceVersion is refused: HTTP 410 with a Status
// body (the default), or 200 and then one ERROR event with a 410 Status, which is what
// current API servers do (SetGoneMode(GoneMode::kInStreamError)).
enum class GoneMode { kHttpStatus, kInStreamError };

// Which requests FailRequests applies to.
enum class RequestKind { kAny, kList /* a first page or unpaged list */, kWatch, kContinue /* later pages */ };

// One request as the server saw it.
struct FakeRequest {
  std::string method;
  std::string path;                          // without the query
  std::string target;                        // as sent
  std::map<std::string, std::string> query;  // decoded
  bool watch = false;
  std::string user;                            // who it authenticated as ("" = nobody)
  int status = 0;                              // the HTTP status answered
  std::chrono::steady_clock::time_point time;  // when the request head arrived
  std::string param(const std::string& k) const {
    auto it = query.find(k);
    return it == query.end() ? "" : it->second;
  }
};

struct KubeconfigCredentials {
  std::string token;         // a `token:` user
  std::string token_file;    // a `tokenFile:` user (path written as is)
  bool client_cert = false;  // client-certificate-data / client-key-data of certs
  bool cert_files = false;   // with client_cert: certificate-authority/client-* file paths instead of -data
  bool insecure = false;     // insecure-skip-tls-verify instead of the CA
  std::string context = "fake";
};

class FakeApiServer {
 public:
  static StatusOr<std::unique_ptr<FakeApiServer>> Start(const FakeApiServerOptions& options);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  // "https://127.0.0.1:PORT" (or http://)
  std::string url() const;
  uint16_t port() const { return port_; }

  // ---- Objects. `object` carries kind (one of the resources' kinds), apiVersion and
  // metadata.name (and namespace, default "default"); it is stored as given (invalid
  // objects too: the client must reject them), with metadata.resourceVersion stamped.
  // Returns the new resourceVersion ("" when the object has no known kind or name).
  std::string Apply(nlohmann::json object);
  // Returns the RV of the deletion, "" when there is no such object.
  std::string Delete(const std::string& kind, const std::string& ns, const std::string& name);
  // Current objects of a kind, in key order, as the server holds them.
  std::vector<nlohmann::json> Objects(const std::string& kind) const;
  std::string ResourceVersion() const;

  // ---- Failures.
  // Compacts the history: watches from an older RV, exact lists at an older RV and older
  // continue tokens get 410 (watches as SetGoneMode says).
  // With `notify_open_watches`, every open watch also gets an ERROR event (410 Expired) and
  // is closed, as the client would see after a long partition.
  void ExpireHistory(bool notify_open_watches = true);
  void ExpireContinueTokens();
  void SetGoneMode(GoneMode mode);
  // Closes every open connection at once (no TLS close_notify, no final chunk), whatever it
  // is doing, possibly in the middle of a chunk.
  void DropConnections();
  // Every open watch writes only the first half of its next event's chunk, then the
  // connection is closed: the event must not count, and a re-watch must get it again.
  void CutWatchesMidEvent();
  // Waits this long before writing each chunk of a watch stream (0 = no delay).
  void SetChunkDelay(std::chrono::milliseconds delay);
  // Writes every watch event as two chunks split inside the JSON (lines cross chunks).
  void SetSplitEvents(bool split);
  // Requests for these resources ("clusternetworkpolicies", ...) get 404, as when their
  // CustomResourceDefinition is not installed; an empty set serves everything again.
  void SetUnserved(std::set<std::string> resources);
  // The next `count` requests of `kind` to `path` (e.g. "/api/v1/pods") are answered with
  // `status` (429, 500, 410 Expired, 504 "Too large resource version", others as
  // InternalError/BadRequest), with Retry-After: retry_after_seconds when >= 0.
  // FailRequests(path, 1, 410, -1, RequestKind::kContinue) expires the next continue token
  // deterministically.
  void FailRequests(const std::string& path, int count, int status, int retry_after_seconds = -1,
                    RequestKind kind = RequestKind::kAny);
  // A BOOKMARK at the current RV on every open watch that asked for bookmarks.
  void SendBookmark();
  // Replace the accepted tokens / forbidden users (token rotation, RBAC changes).
  void SetTokens(std::map<std::string, std::string> tokens);
  void SetForbiddenUsers(std::set<std::string> users);

  // ---- Observation.
  std::vector<FakeRequest> Requests() const;
  // Requests to `path`; watch: only watches (true) or only lists (false).
  std::vector<FakeRequest> Requests(const std::string& path, std::optional<bool> watch = std::nullopt) const;
  void ClearRequests();
  // Watch streams open now ("" = all paths).
  int OpenWatches(const std::string& path = "") const;
  // Connections open now.
  int OpenConnections() const;
  // Blocks until at least `n` watches are open on `path` ("" = any path) or `timeout`
  // passes; returns whether they are. Only for clients running on another thread: a client
  // on the calling thread cannot make progress meanwhile (run its io_context instead).
  bool WaitForWatches(int n, std::chrono::milliseconds timeout, const std::string& path = "") const;

  // Writes a kubeconfig for this server (cluster, user and context named "fake" by default):
  // the CA as certificate-authority-data (or a path with cert_files), and the credentials.
  Status WriteKubeconfig(const std::string& path, const KubeconfigCredentials& credentials) const;

  class Impl;

 private:
  FakeApiServer() = default;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  bool tls_ = false;
  const TestCerts* certs_ = nullptr;
};

// The usual set-up of a test against the API server: fresh certificates in `dir`, an HTTPS
// server accepting the bearer `token` as `user`, and a kubeconfig for it at `kubeconfig`.
struct TokenApiServer {
  std::unique_ptr<TestCerts> certs;  // the server points at them: they stay put
  std::unique_ptr<FakeApiServer> api;
};
StatusOr<TokenApiServer> StartTokenApiServer(const std::string& dir, const std::string& token, const std::string& user,
                                             const std::string& kubeconfig);

}  // namespace netfence::testing
