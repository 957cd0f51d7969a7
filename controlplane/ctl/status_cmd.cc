// SPDX-License-Identifier: Apache-2.0
// netfencectl status: what the controller has made live where. Per node: the generation its
// view is at, the one its agent acked, and how long the node has lagged; per policy: on how
// many of the nodes that enforce it the policy's latest version is live.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "controlplane/ctl/ctl.h"
#include "controlplane/ctl/grpc_client.h"
#include "netfence/v1/distribution.grpc.pb.h"

namespace netfence::ctl {
namespace {

struct StatusFlags {
  std::string controller = "127.0.0.1:9443";
  GrpcClientFlags client;
  std::string output = "table";
};

std::string Lag(int64_t nanos) {
  if (nanos <= 0) return "-";
  char buf[32];
  const double s = static_cast<double>(nanos) / 1e9;
  if (s < 1) {
    std::snprintf(buf, sizeof(buf), "%.0fms", s * 1000);
  } else if (s < 120) {
    std::snprintf(buf, sizeof(buf), "%.1fs", s);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0fm", s / 60);
  }
  return buf;
}

nlohmann::json ToJson(const v1::ControllerStatus& st) {
  nlohmann::json nodes = nlohmann::json::array(), policies = nlohmann::json::array();
  for (const auto& n : st.nodes()) {
    nodes.push_back({{"node", n.node()},
                     {"connected", n.connected()},
                     {"generation", n.generation()},
                     {"acked_generation", n.acked_generation()},
                     {"lag_seconds", static_cast<double>(n.lag_nanos()) / 1e9},
                     {"endpoints", n.endpoints()},
                     {"tables", n.tables()},
                     {"agent", n.agent()},
                     {"last_error", n.last_error()}});
  }
  for (const auto& p : st.policies()) {
    policies.push_back({{"namespace", p.namespace_()},
                        {"kind", p.kind().empty() ? "NetworkPolicy" : p.kind()},
                        {"name", p.name()},
                        {"generation", p.generation()},
                        {"nodes_needed", p.nodes_needed()},
                        {"nodes_realised", p.nodes_realised()}});
  }
  return {{"generation", st.generation()},
          {"source", st.source()},
          {"synced", st.synced()},
          {"rejected_objects", st.rejected_objects()},
          {"nodes", nodes},
          {"policies", policies}};
}

void PrintTable(const v1::ControllerStatus& st) {
  std::printf("controller: generation %llu, source %s, %s, %llu objects rejected\n\n",
              static_cast<unsigned long long>(st.generation()), st.source().c_str(),
              st.synced() ? "synced" : "NOT SYNCED (nothing sent to agents yet)",
              static_cast<unsigned long long>(st.rejected_objects()));
  std::printf("%-24s %-9s %-20s %-20s %-7s %9s %6s  %s\n", "NODE", "CONNECTED", "GENERATION", "ACKED", "LAG",
              "ENDPOINTS", "TABLES", "AGENT");
  for (const auto& n : st.nodes()) {
    std::printf("%-24s %-9s %-20llu %-20llu %-7s %9u %6u  %s%s\n", n.node().c_str(), n.connected() ? "yes" : "no",
                static_cast<unsigned long long>(n.generation()), static_cast<unsigned long long>(n.acked_generation()),
                Lag(n.lag_nanos()).c_str(), n.endpoints(), n.tables(), n.agent().c_str(),
                n.last_error().empty() ? "" : ("  error: " + n.last_error()).c_str());
  }
  std::printf("\n%-40s %-20s %s\n", "POLICY", "GENERATION", "REALISED");
  for (const auto& p : st.policies()) {
    const std::string name = (p.kind().empty() ? p.namespace_() : p.kind()) + "/" + p.name();
    std::printf("%-40s %-20llu %u/%u nodes\n", name.c_str(), static_cast<unsigned long long>(p.generation()),
                p.nodes_realised(), p.nodes_needed());
  }
}

int Run(const StatusFlags& f) {
  auto channel = Dial(f.controller, f.client, /*plain_unix=*/false);
  if (!channel.ok()) {
    std::cerr << "error: " << channel.status().message() << "\n";
    return 2;
  }
  auto stub = v1::PolicyDistribution::NewStub(*channel);
  grpc::ClientContext ctx;
  SetDeadline(f.client, &ctx);
  v1::ControllerStatus st;
  grpc::Status s = stub->GetStatus(&ctx, v1::StatusRequest(), &st);
  if (!s.ok()) {
    std::cerr << "error: controller " << f.controller << ": " << s.error_message() << "\n";
    return 1;
  }
  if (f.output == "json") {
    std::cout << ToJson(st).dump(2) << "\n";
  } else {
    PrintTable(st);
  }
  return 0;
}

}  // namespace

void AddStatusCommand(CLI::App* app) {
  auto f = std::make_shared<StatusFlags>();
  CLI::App* cmd =
      app->add_subcommand("status", "Per node, the generation realised and its lag; per policy, where it is live");
  cmd->add_option("--controller", f->controller, "netfence-controller's gRPC address (HOST:PORT or unix:PATH)")
      ->capture_default_str();
  f->client.Add(cmd);
  cmd->add_option("-o,--output", f->output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->footer(
      "A node lags when its agent has not acked the node's latest generation; LAG is the time since\n"
      "the first generation it has not realised was made. A policy is realised on a node once the\n"
      "node acked the generation in which the policy's tables last changed.\n\n"
      "Example:\n"
      "  netfencectl status --controller netfence-controller.kube-system:9443 \\\n"
      "      --tls-cert admin.crt --tls-key admin.key --tls-ca ca.crt");
  cmd->callback([f] {
    if (int rc = Run(*f); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace netfence::ctl
