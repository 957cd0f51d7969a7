// SPDX-License-Identifier: Apache-2.0
#include "controlplane/controller/metrics.h"

#include <algorithm>
#include <tuple>
#include <vector>

namespace netfence::controller {

std::string MetricsText(const ControllerCore& core) {
  const CoreMetrics& m = core.metrics();
  prometheus::Text t;
  t.Gauge("netfence_controller_generation", "The generation last compiled", static_cast<double>(core.generation()));
  t.Counter("netfence_controller_generations_total", "Generations compiled", static_cast<double>(m.generations));
  t.Counter("netfence_controller_events_total", "Cluster-state events received from the source",
            static_cast<double>(m.events_applied));
  t.Counter("netfence_controller_objects_rejected_total", "Invalid objects rejected (their last good version stays)",
            static_cast<double>(m.objects_rejected));
  t.Counter("netfence_controller_tables_built_total", "Tables compiled by the incremental compiler",
            static_cast<double>(m.tables_built));
  t.Gauge("netfence_controller_last_compile_seconds", "Duration of the last compile", m.last_compile_seconds);
  t.Counter("netfence_controller_compile_seconds_total", "Time spent compiling", m.compile_seconds_total);
  t.Counter("netfence_controller_updates_sent_total", "Node updates sent to agents",
            static_cast<double>(m.updates_sent));
  t.Counter("netfence_controller_snapshots_sent_total", "Of those, snapshots", static_cast<double>(m.snapshots_sent));
  t.Counter("netfence_controller_update_bytes_total", "Bytes of node updates sent",
            static_cast<double>(m.update_bytes_sent));
  t.Counter("netfence_controller_acks_total", "Generations agents reported live", static_cast<double>(m.acks),
            {{"result", "ok"}});
  t.Counter("netfence_controller_acks_total", "Generations agents reported live", static_cast<double>(m.nacks),
            {{"result", "error"}});
  const auto& refused = core.registration_refusals();
  t.Counter("netfence_controller_registrations_refused_total",
            "Pod registrations refused: a pod bound to another node, an address the API does not report or outside the "
            "node's pod CIDRs",
            static_cast<double>(refused.wrong_node), {{"reason", "wrong-node"}});
  t.Counter("netfence_controller_registrations_refused_total",
            "Pod registrations refused: a pod bound to another node, an address the API does not report or outside the "
            "node's pod CIDRs",
            static_cast<double>(refused.foreign_address), {{"reason", "foreign-address"}});
  t.Counter("netfence_controller_registrations_refused_total",
            "Pod registrations refused: a pod bound to another node, an address the API does not report or outside the "
            "node's pod CIDRs",
            static_cast<double>(refused.outside_pod_cidr), {{"reason", "outside-pod-cidr"}});
  t.Gauge("netfence_controller_agents_connected", "Agent streams open", static_cast<double>(core.sessions()));
  t.Gauge("netfence_controller_source_synced", "1 once the first complete cluster state arrived",
          core.synced() ? 1 : 0);
  const v1::ControllerStatus st = core.Status();
  t.Gauge("netfence_controller_nodes", "Nodes with a view", static_cast<double>(st.nodes_size()));
  for (const auto& n : st.nodes()) {
    t.Gauge("netfence_controller_node_lag_seconds", "Time since the oldest generation a node has not realised",
            static_cast<double>(n.lag_nanos()) / 1e9, {{"node", n.node()}});
  }
  PolicyHitMetrics(core.RuleHits({}), &t);
  return t.str();
}

void PolicyHitMetrics(const v1::RuleHitsReply& hits, prometheus::Text* t) {
  // Per policy (its rules summed), the busiest kMaxPolicySeries; the rest as policy="_other".
  struct Totals {
    std::string kind, ns, name;
    uint64_t allowed = 0, denied = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Totals> by_policy;
  for (const auto& r : hits.rules()) {
    Totals& p = by_policy[{r.kind(), r.namespace_(), r.name()}];
    p.kind = r.kind();
    p.ns = r.namespace_();
    p.name = r.name();
    p.allowed += r.allowed();
    p.denied += r.denied();
  }
  std::vector<Totals> all;
  for (auto& [key, p] : by_policy) all.push_back(std::move(p));
  std::stable_sort(all.begin(), all.end(),
                   [](const Totals& a, const Totals& b) { return a.allowed + a.denied > b.allowed + b.denied; });
  Totals other{"", "", "_other"};
  const char* help =
      "New connections the policy's rules decided, summed over nodes (busiest policies; the rest in "
      "policy=\"_other\")";
  for (size_t i = 0; i < all.size(); ++i) {
    if (i >= kMaxPolicySeries) {
      other.allowed += all[i].allowed;
      other.denied += all[i].denied;
      continue;
    }
    for (const char* verdict : {"allowed", "denied"}) {
      t->Counter("netfence_policy_connections_total", help,
                 static_cast<double>(verdict[0] == 'a' ? all[i].allowed : all[i].denied),
                 {{"kind", all[i].kind}, {"namespace", all[i].ns}, {"policy", all[i].name}, {"verdict", verdict}});
    }
  }
  if (all.size() > kMaxPolicySeries) {
    for (const char* verdict : {"allowed", "denied"}) {
      t->Counter("netfence_policy_connections_total", help,
                 static_cast<double>(verdict[0] == 'a' ? other.allowed : other.denied),
                 {{"kind", ""}, {"namespace", ""}, {"policy", "_other"}, {"verdict", verdict}});
    }
  }
  t->Gauge("netfence_rule_hits_nodes_reporting", "Nodes whose rule hit counters the controller holds",
           static_cast<double>(hits.nodes_size()));
}

std::map<std::string, http::Server::Handler> OperationalRoutes(const ControllerCore& core) {
  std::map<std::string, http::Server::Handler> routes;
  routes["/metrics"] = [&core] { return http::Reply{200, prometheus::kContentType, MetricsText(core)}; };
  routes["/livez"] = [] { return http::Reply{200, "text/plain; charset=utf-8", "ok\n"}; };
  routes["/readyz"] = [&core] {
    if (core.synced())
      return http::Reply{200, "text/plain; charset=utf-8",
                         "ok: generation " + std::to_string(core.generation()) + "\n"};
    return http::Reply{503, "text/plain; charset=utf-8",
                       "not ready: the first complete cluster state has not arrived\n"};
  };
  return routes;
}

}  // namespace netfence::controller
