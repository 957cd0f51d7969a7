// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the kube client tests: an Observer that records everything, a loop that
// runs the client's io_context until a condition holds, object builders, and a fixture with
// a TLS fake API server and fast reflector settings.
#pragma once

#include <gtest/gtest.h>

#include <utility>  // before awaitable.hpp (Boost 1.74)

#include <stdlib.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/k8s/decode.h"
#include "controlplane/kube/api_client.h"
#include "controlplane/kube/kube_config.h"
#include "controlplane/kube/kube_source.h"
#include "controlplane/source/cluster_store.h"
#include "tests/testing/fake_apiserver.h"
#include "tests/testing/test_certs.h"

namespace netfence::kube::testing_util {

using nlohmann::json;

// Records what a source delivers. `noop_events` counts delivered events that changed nothing
// in the recorded store: duplicates, which a correct source never sends.
class RecordingObserver : public source::Observer {
 public:
  void OnEvents(std::vector<source::Event> events) override {
    ++batches;
    for (auto& e : events) {
      if (!store.Apply(e)) ++noop_events;
      log.push_back(std::move(e));
    }
  }
  void OnSynced() override {
    ++synced;
    events_at_sync = log.size();
  }
  void OnRejected(const k8s::ObjectError& error) override { rejects.push_back(error); }

  source::ClusterStore store;
  std::vector<source::Event> log;
  std::vector<k8s::ObjectError> rejects;
  int batches = 0;
  int synced = 0;
  size_t events_at_sync = 0;
  int noop_events = 0;
};

// Sets an environment variable for the scope (unset when `value` is nullopt).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Runs `io` in small slices until `done()` holds or `timeout` passes; returns done().
inline bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Runs `io` for `d` (to show that nothing more happens).
inline void RunFor(boost::asio::io_context& io, std::chrono::milliseconds d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(2));
  }
}

inline json Namespace(const std::string& name, const json& labels = json::object()) {
  return {{"kind", "Namespace"}, {"apiVersion", "v1"}, {"metadata", {{"name", name}, {"labels", labels}}}};
}

inline json Pod(const std::string& ns, const std::string& name, const std::string& ip,
                const json& labels = json::object()) {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"spec", {{"nodeName", "node-a"}, {"containers", json::array({{{"name", "c"}, {"image", "i"}}})}}},
          {"status", {{"phase", "Running"}, {"podIP", ip}}}};
}

// Allows ingress from pods labelled app=<from> on TCP `port` (endPort when > 0).
inline json Policy(const std::string& ns, const std::string& name, int port, int end_port = 0,
                   const std::string& from = "client") {
  json p = {{"port", port}, {"protocol", "TCP"}};
  if (end_port > 0) p["endPort"] = end_port;
  return {{"kind", "NetworkPolicy"},
          {"apiVersion", "networking.k8s.io/v1"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"podSelector", json::object()},
            {"policyTypes", json::array({"Ingress"})},
            {"ingress", json::array({{{"from", json::array({{{"podSelector", {{"matchLabels", {{"app", from}}}}}}})},
                                      {"ports", json::array({p})}}})}}}};
}

// The server's valid objects decoded like the client decodes them (invalid ones are skipped:
// the client rejects them).
inline source::ClusterStore ServerStore(const testing::FakeApiServer& server) {
  source::ClusterStore store;
  for (const char* kind : {"Namespace", "Pod", "NetworkPolicy", "Node", "ClusterNetworkPolicy", "AdminNetworkPolicy",
                           "BaselineAdminNetworkPolicy"}) {
    for (const json& o : server.Objects(kind)) {
      k8s::FieldErrors errors;
      if (auto obj = k8s::DecodeObject(o, &errors)) store.Apply({source::Op::kUpsert, *obj});
    }
  }
  return store;
}

inline std::vector<std::string> Keys(const source::ClusterStore& store) {
  std::vector<std::string> out;
  for (const auto& [k, v] : store.namespaces()) out.push_back("Namespace " + k + "@" + v.meta.resource_version);
  for (const auto& [k, v] : store.pods()) out.push_back("Pod " + k + "@" + v.meta.resource_version);
  for (const auto& [k, v] : store.policies()) out.push_back("NetworkPolicy " + k + "@" + v.meta.resource_version);
  for (const auto& [k, v] : store.nodes()) out.push_back("Node " + k + "@" + v.meta.resource_version);
  for (const auto& [k, v] : store.cluster_policies()) out.push_back(k + "@" + v.meta.resource_version);
  return out;
}

// "+Pod shop/web@105" / "-Namespace shop@103" for an event.
inline std::string Describe(const source::Event& e) {
  const k8s::ObjectMeta& m = k8s::MetaOf(e.object);
  return std::string(e.op == source::Op::kUpsert ? "+" : "-") + source::ObjectKey(e.object) + "@" + m.resource_version;
}

inline std::vector<std::string> Describe(const std::vector<source::Event>& events, size_t from = 0) {
  std::vector<std::string> out;
  for (size_t i = from; i < events.size(); ++i) out.push_back(Describe(events[i]));
  return out;
}

// One GET through the client (its own io_context): the response, or the transport error.
inline StatusOr<ApiResponse> SyncGet(const KubeConfig& config, const std::string& path, ClientOptions options = {}) {
  auto client = ApiClient::Create(config, options);
  if (!client.ok()) return client.status();
  boost::asio::io_context io;
  std::optional<StatusOr<ApiResponse>> out;
  ConnectionSlot slot;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await (*client)->GetAll(path, &slot)); },
      boost::asio::detached);
  io.run_for(std::chrono::seconds(8));
  if (!out) return Status::Error("SyncGet: no answer");
  return std::move(*out);
}

// Reflector settings that make tests fast and deterministic: exact (unjittered) backoff
// from 10 ms, small pages.
inline KubeSourceOptions FastOptions() {
  KubeSourceOptions o;
  o.reflector.page_size = 3;
  o.reflector.backoff.initial = std::chrono::milliseconds(10);
  o.reflector.backoff.cap = std::chrono::milliseconds(80);
  o.reflector.backoff.full_jitter = false;
  o.reflector.seed = 42;
  o.client.connect_timeout = std::chrono::milliseconds(2000);
  o.client.request_timeout = std::chrono::milliseconds(5000);
  return o;
}

// A TLS fake API server accepting the token "secret" (user "alice"), and a KubeConfig for it.
class KubeFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto certs = testing::MakeTestCerts(dir_.path());
    ASSERT_TRUE(certs.ok()) << certs.status().message();
    certs_ = std::make_unique<testing::TestCerts>(std::move(*certs));
    testing::FakeApiServerOptions o;
    o.certs = certs_.get();
    o.tokens = {{"secret", "alice"}};
    auto server = testing::FakeApiServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
    config_.server = server_->url();
    config_.ca_pem = certs_->ca_cert_pem;
    config_.token = "secret";
    config_.origin = "test";
  }

  // Starts a KubeSource on io_ feeding observer_ and waits for OnSynced.
  void StartSource(KubeSourceOptions options = FastOptions()) {
    source_ = std::make_unique<KubeSource>(io_, config_, std::move(options));
    ASSERT_TRUE(source_->Start(&observer_).ok());
    ASSERT_TRUE(RunUntil(io_, [&] { return observer_.synced == 1; })) << "never synced";
  }

  // Runs the client until it mirrors the server exactly (and every watch is open again, as
  // both the server and the client see it).
  ::testing::AssertionResult Converge(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto want = Keys(ServerStore(*server_));
    bool ok = RunUntil(
        io_,
        [&] {
          if (Keys(observer_.store) != want || server_->OpenWatches() != static_cast<int>(kResourceCount)) return false;
          for (const auto& r : source_->Metrics().resources) {
            if (!r.connected) return false;
          }
          return true;
        },
        timeout);
    if (ok) return ::testing::AssertionSuccess();
    auto got = Keys(observer_.store);
    std::string msg = "client store differs from the server's:\n  client:";
    for (auto& k : got) msg += " " + k;
    msg += "\n  server:";
    for (auto& k : want) msg += " " + k;
    return ::testing::AssertionFailure() << msg << "\n  open watches: " << server_->OpenWatches();
  }

  const ResourceMetrics& Pods(const KubeSourceMetrics& m) { return m.resources[1]; }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestCerts> certs_;
  std::unique_ptr<testing::FakeApiServer> server_;
  KubeConfig config_;
  boost::asio::io_context io_;
  RecordingObserver observer_;
  std::unique_ptr<KubeSource> source_;  // destroyed before io_ (declared after it)
};

}  // namespace netfence::kube::testing_util
