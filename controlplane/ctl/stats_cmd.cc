// SPDX-License-Identifier: Apache-2.0
// netfencectl stats: rule hit counters, the new connections each rule of each policy decided.
// From the controller (every node's counts, summed) or from one agent (its node's), both over
// netfence.v1.RuleHits. --unused lists the rules of the current policies that decided no
// connection since the counters began: clean-up candidates.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/hits/hit_sums.h"
#include "controlplane/ctl/ctl.h"
#include "controlplane/ctl/grpc_client.h"
#include "dataplane/flowlog/time_format.h"
#include "netfence/v1/hits.grpc.pb.h"

namespace netfence::ctl {
namespace {

struct StatsFlags {
  std::string controller, agent;
  GrpcClientFlags client;
  bool unused = false;
  std::string policy;
  std::string output = "table";
};

std::string Time(int64_t ns) { return ns > 0 ? flowlog::FormatTime(ns) : std::string(); }

std::string PolicyOf(const v1::RuleHitCount& r) {
  return r.namespace_().empty() ? r.kind() + "/" + r.name() : r.namespace_() + "/" + r.name();
}

nlohmann::json ToJson(const v1::RuleHitsReply& reply, const std::string& from) {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : reply.rules()) {
    nlohmann::json j = {{"kind", r.kind()},     {"namespace", r.namespace_()},
                        {"name", r.name()},     {"direction", r.direction() == v1::INGRESS ? "ingress" : "egress"},
                        {"rule", r.rule()},     {"allowed", r.allowed()},
                        {"denied", r.denied()}, {"nodes", r.nodes()}};
    if (!r.rule_name().empty()) j["rule_name"] = r.rule_name();
    j["last_hit"] = r.last_unix_nanos() > 0 ? nlohmann::json(Time(r.last_unix_nanos())) : nlohmann::json(nullptr);
    rules.push_back(std::move(j));
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : reply.nodes()) nodes.push_back(n);
  return {{"from", from},
          {"since", reply.since_unix_nanos() > 0 ? nlohmann::json(Time(reply.since_unix_nanos())) : nullptr},
          {"time", Time(reply.unix_nanos())},
          {"nodes", nodes},
          {"unnamed_rules", reply.unnamed()},
          {"rules", rules}};
}

void PrintTable(const v1::RuleHitsReply& reply, const std::string& from, bool unused) {
  std::printf("rule hits from %s (%d node%s), counting since %s\n", from.c_str(), reply.nodes_size(),
              reply.nodes_size() == 1 ? "" : "s",
              reply.since_unix_nanos() > 0 ? Time(reply.since_unix_nanos()).c_str() : "unknown");
  if (unused) {
    std::printf("%d rule%s decided no connection since then (clean-up candidates):\n\n", reply.rules_size(),
                reply.rules_size() == 1 ? "" : "s");
  } else {
    std::printf("\n");
  }
  std::printf("%-44s %-8s %-5s %-16s %12s %12s %6s  %s\n", "POLICY", "DIR", "RULE", "NAME", "ALLOWED", "DENIED",
              "NODES", "LAST HIT");
  for (const auto& r : reply.rules()) {
    std::printf("%-44s %-8s %-5u %-16s %12llu %12llu %6u  %s\n", PolicyOf(r).c_str(),
                r.direction() == v1::INGRESS ? "ingress" : "egress", r.rule(),
                r.rule_name().empty() ? "-" : r.rule_name().c_str(), static_cast<unsigned long long>(r.allowed()),
                static_cast<unsigned long long>(r.denied()), r.nodes(),
                r.last_unix_nanos() > 0 ? Time(r.last_unix_nanos()).c_str() : "never");
  }
  if (reply.unnamed() > 0) {
    std::printf("\n%llu counted rules could not be named (rules of tables the agents no longer hold)\n",
                static_cast<unsigned long long>(reply.unnamed()));
  }
}

int Run(const StatsFlags& f) {
  const bool agent = !f.agent.empty();
  const std::string target = agent ? f.agent : f.controller;
  const std::string from = (agent ? "agent " : "controller ") + target;
  v1::RuleHitsRequest request;
  request.set_unused(f.unused);
  if (!f.policy.empty() && !hits::ParsePolicyFilter(f.policy, &request)) {
    std::cerr << "error: --policy \"" << f.policy << "\": expected NAMESPACE/NAME (or NAME for a cluster policy)\n";
    return 2;
  }
  // An agent's unix socket is plain (its file permissions guard it); the controller speaks
  // mTLS on every address, as it does to agents.
  auto channel = Dial(target, f.client, /*plain_unix=*/agent);
  if (!channel.ok()) {
    std::cerr << "error: " << channel.status().message() << "\n";
    return 2;
  }
  auto stub = v1::RuleHits::NewStub(*channel);
  grpc::ClientContext ctx;
  SetDeadline(f.client, &ctx);
  v1::RuleHitsReply reply;
  grpc::Status s = stub->GetRuleHits(&ctx, request, &reply);
  if (!s.ok()) {
    std::cerr << "error: " << from << ": " << s.error_message() << "\n";
    return 1;
  }
  if (f.output == "json") {
    std::cout << ToJson(reply, from).dump(2) << "\n";
  } else {
    PrintTable(reply, from, f.unused);
  }
  return 0;
}

}  // namespace

void AddStatsCommand(CLI::App* app) {
  auto f = std::make_shared<StatsFlags>();
  CLI::App* cmd = app->add_subcommand(
      "stats", "Rule hit counters: the connections each policy rule allowed or denied, and the rules never used");
  auto* controller = cmd->add_option("--controller", f->controller,
                                     "Every node's counts, summed by netfence-controller (HOST:PORT or unix:PATH)");
  auto* agent = cmd->add_option("--agent", f->agent,
                                "One node's counts, from its agent: unix:PATH (its --observe-socket, e.g. "
                                "unix:/run/netfence/observe.sock) or HOST:PORT (its --observe-address)");
  controller->excludes(agent);
  cmd->add_flag("--unused", f->unused,
                "Only the rules of the current policies that decided no connection since the counters began");
  cmd->add_option("--policy", f->policy, "Only this policy: NAMESPACE/NAME, or NAME for a cluster policy");
  f->client.Add(cmd);
  cmd->add_option("-o,--output", f->output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->footer(
      "Each fast path (XDP, DPDK) counts, per rule, the new connections the rule decided: ALLOWED when\n"
      "it allowed its direction (egress of the sender, ingress of the receiver), DENIED when a\n"
      "ClusterNetworkPolicy Deny rule denied it. Packets of established connections are not counted.\n"
      "The counters survive agent restarts; an agent reports them to the controller every\n"
      "--rule-hits-interval (10s), so the controller's sums trail by up to that much.\n\n"
      "Examples:\n"
      "  netfencectl stats --controller netfence-controller.kube-system:9443 --tls-cert admin.crt \\\n"
      "      --tls-key admin.key --tls-ca ca.crt --unused\n"
      "  netfencectl stats --agent unix:/run/netfence/observe.sock --policy shop/allow-frontend -o json");
  cmd->callback([f] {
    if (f->controller.empty() && f->agent.empty()) {
      std::cerr << "error: stats needs --controller ADDRESS or --agent ADDRESS\n";
      throw CLI::RuntimeError(2);
    }
    if (int rc = Run(*f); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace netfence::ctl
