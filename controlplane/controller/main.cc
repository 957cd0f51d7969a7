// SPDX-License-Identifier: Apache-2.0
// netfence-controller: watches the cluster (Kubernetes API, or a manifest directory),
// compiles NetworkPolicy incrementally and streams every node's tables to its agent over gRPC
// (mTLS). Serves /metrics, /livez and /readyz for operators.
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <thread>

#include "common/base/signals.h"
#include "common/grpc/tls_credentials.h"
#include "common/http/http_server.h"
#include "controlplane/controller/controller_core.h"
#include "controlplane/controller/distribution_service.h"
#include "controlplane/controller/metrics.h"
#include "controlplane/controller/sources.h"

namespace {

using namespace netfence;

struct Flags {
  controller::SourceFlags source;
  std::string listen = "0.0.0.0:9443";
  std::string default_enforcement = "enforce";
  tls::TlsFiles tls;
  bool plaintext = false;
  std::string agent_identity = "cn";
  std::string metrics = ":9090";
  std::string log_level = "info";
};

int Run(const Flags& f) {
  boost::asio::io_context io;
  auto info = [](const std::string& m) { spdlog::info("{}", m); };
  auto warn = [](const std::string& m) { spdlog::warn("{}", m); };

  auto credentials = tls::ServerCredentials(f.tls, f.plaintext);
  if (!credentials.ok()) {
    spdlog::error("{}", credentials.status().message());
    return 1;
  }
  controller::CoreOptions core_options;
  core_options.require_node_identity = !f.plaintext && f.agent_identity == "cn";
  core_options.audit_by_default = f.default_enforcement == "audit";
  core_options.info = info;
  core_options.warn = warn;
  controller::ControllerCore core(io, core_options);

  auto source = controller::MakeSource(io, f.source, info);
  if (!source.ok()) {
    spdlog::error("{}", source.status().message());
    return 1;
  }
  core.set_source_description((*source)->Describe());

  controller::DistributionService service(io, core);
  controller::RuleHitsService hits_service(io, core);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(f.listen, *credentials, &bound_port);
  builder.RegisterService(&service);
  builder.RegisterService(&hits_service);
  builder.SetMaxReceiveMessageSize(16 << 20);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || (f.listen.rfind("unix:", 0) != 0 && bound_port == 0)) {
    spdlog::error("cannot listen for agents on {} (address in use, or a bad address?)", f.listen);
    return 1;
  }

  std::unique_ptr<http::Server> ops;
  if (!f.metrics.empty()) {
    ops = std::make_unique<http::Server>(io, controller::OperationalRoutes(core));
    if (Status s = ops->Start(f.metrics); !s.ok()) {
      spdlog::error("--metrics-address: {}", s.message());
      return 1;
    }
  }
  if (Status s = (*source)->Start(&core); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  std::string listening = f.listen;
  if (listening.size() > 2 && listening.compare(listening.size() - 2, 2, ":0") == 0) {
    listening = listening.substr(0, listening.size() - 1) + std::to_string(bound_port);
  }
  spdlog::info("serving agents on {} ({}), source: {}, metrics on {}", listening, f.plaintext ? "plaintext" : "mTLS",
               (*source)->Describe(), f.metrics.empty() ? "off" : (ops ? "port " + std::to_string(ops->port()) : ""));

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  std::thread stopper;
  signals.async_wait([&](boost::system::error_code, int signo) {
    spdlog::info("signal {}: closing agent streams; agents keep enforcing their last tables", signo);
    // Shutdown waits for in-flight calls, some of which need this loop: run it elsewhere.
    stopper = std::thread([&] {
      server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      io.stop();
    });
  });
  io.run();
  if (stopper.joinable()) stopper.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  netfence::UnblockStopSignals();  // before any thread: a parent's blocked SIGTERM must not stick
  Flags f;
  CLI::App app{"netfence-controller: compile Kubernetes NetworkPolicy and stream every node's tables to its agent"};
  app.set_version_flag("--version", NETFENCE_VERSION);
  f.source.Add(&app);
  app.add_option("--listen", f.listen, "Where agents connect: HOST:PORT or unix:PATH")->capture_default_str();
  app.add_option("--tls-cert", f.tls.cert, "The controller's certificate (PEM)");
  app.add_option("--tls-key", f.tls.key, "Its private key (PEM)");
  app.add_option("--tls-ca", f.tls.ca, "The CA agents' certificates must chain to (PEM): mTLS, others are refused");
  app.add_flag("--insecure-plaintext", f.plaintext, "Serve agents without TLS (tests, never production)");
  app.add_option("--agent-identity", f.agent_identity,
                 "cn: an agent's certificate common name must be the node it says it is; any: trust the CA alone")
      ->check(CLI::IsMember({"cn", "any"}))
      ->capture_default_str();
  app.add_option("--metrics-address", f.metrics, "HOST:PORT for /metrics, /livez, /readyz (\"\" to disable)")
      ->capture_default_str();
  app.add_option("--default-enforcement", f.default_enforcement,
                 "enforce: policies act; audit: policies without their own (or, for a NetworkPolicy, their "
                 "namespace's) annotation netfence.io/enforcement only say in the flow log what they would do")
      ->check(CLI::IsMember({"enforce", "audit"}))
      ->capture_default_str();
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")->capture_default_str();
  app.footer(
      "The cluster comes from --kubeconfig FILE, --manifests DIR, or (with neither) the in-cluster\n"
      "service account. Nothing reaches an agent before the first complete list of Namespaces, Pods\n"
      "and NetworkPolicies; invalid objects are rejected one by one and their last good version stays.\n\n"
      "Examples:\n"
      "  netfence-controller --kubeconfig ~/.kube/config --tls-cert ctl.crt --tls-key ctl.key --tls-ca ca.crt\n"
      "  netfence-controller --manifests ./cluster --listen 127.0.0.1:9443 --insecure-plaintext");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ netfence-controller: %v");
  return Run(f);
}
