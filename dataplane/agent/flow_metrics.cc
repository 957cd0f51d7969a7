// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/flow_metrics.h"

#include <set>

#include "common/http/prometheus.h"
#include "dataplane/flowlog/pipeline/attribution.h"

namespace netfence::agent {

namespace {

void Traffic(prometheus::Text& t, const fastpath::Traffic& traffic) {
  struct Slot {
    int index;
    const char* verdict;
    const char* direction;
  };
  const Slot slots[] = {{NF_TRAFFIC_ALLOWED_INGRESS, "allowed", "ingress"},
                        {NF_TRAFFIC_ALLOWED_EGRESS, "allowed", "egress"},
                        {NF_TRAFFIC_DENIED_INGRESS, "denied", "ingress"},
                        {NF_TRAFFIC_DENIED_EGRESS, "denied", "egress"}};
  for (const Slot& s : slots) {
    t.Counter("netfence_packets_total", "IP packets by verdict and direction (each once per node)",
              static_cast<double>(traffic[s.index].packets), {{"verdict", s.verdict}, {"direction", s.direction}});
  }
  for (const Slot& s : slots) {
    t.Counter("netfence_bytes_total", "Bytes of those packets (frame length)",
              static_cast<double>(traffic[s.index].bytes), {{"verdict", s.verdict}, {"direction", s.direction}});
  }
}

void Datapath(prometheus::Text& t, const fastpath::Counters& c, const fastpath::DropCounts& drops) {
  for (uint32_t r = 0; r < NF_DROP_REASON_COUNT; ++r) {
    t.Counter("netfence_drops_total", "Packets dropped, by the datapath's reason", static_cast<double>(drops[r]),
              {{"reason", flowlog::DatapathDropReasonName(r)}});
  }
  const std::pair<int, const char*> paths[] = {{NF_CNT_PASS_CT, "conntrack"},        {NF_CNT_PASS_NEW, "new"},
                                               {NF_CNT_PASS_RECHECKED, "rechecked"}, {NF_CNT_PASS_FRAGMENT, "fragment"},
                                               {NF_CNT_PASS_RELATED, "related"},     {NF_CNT_PASS_NDP, "ndp"},
                                               {NF_CNT_PASS_NOT_IP, "not-ip"},       {NF_CNT_DROP, "drop"}};
  for (const auto& [index, path] : paths) {
    t.Counter("netfence_datapath_packets_total", "Packets by how the datapath decided them",
              static_cast<double>(c[index]), {{"path", path}});
  }
  t.Counter("netfence_conntrack_created_total", "Connection tracking entries created",
            static_cast<double>(c[NF_CNT_CT_CREATED]));
  t.Counter("netfence_rule_hits_lost_total",
            "New connections a rule decided that the rule hit counters could not count (their table was full)",
            static_cast<double>(c[NF_CNT_RULE_HITS_LOST]));
}

void Tables(prometheus::Text& t, const Agent& agent) {
  const tables::TableSet& v = agent.view();
  uint64_t rules = 0;
  std::set<std::pair<std::string, std::string>> policies;
  for (const auto& [id, table] : v.tables) {
    rules += table.rule_count();
    for (const auto& p : table.policies()) policies.emplace(p.namespace_(), p.name());
  }
  t.Gauge("netfence_agent_generation", "The table generation live in the fast path",
          static_cast<double>(agent.live_generation()));
  t.Gauge("netfence_table_identities", "Identities in the node's view", static_cast<double>(v.identities.size()));
  t.Gauge("netfence_table_ipcache_entries", "Pod addresses known (every node's)",
          static_cast<double>(v.ipcache.size()));
  t.Gauge("netfence_table_endpoints", "Endpoints in the node's view (local pods)",
          static_cast<double>(v.endpoints.size()));
  t.Gauge("netfence_table_tables", "Direction tables in the node's view", static_cast<double>(v.tables.size()));
  t.Gauge("netfence_table_rules", "Rule bits of those tables", static_cast<double>(rules));
  t.Gauge("netfence_table_policies", "Policies those tables were compiled from", static_cast<double>(policies.size()));
}

void Flows(prometheus::Text& t, const FlowLog& f, uint64_t ring_lost) {
  const flowlog::Pipeline::Stats s = f.pipeline_stats();
  const flowlog::FileSink::Stats file = f.file() != nullptr ? f.file()->stats() : flowlog::FileSink::Stats{};
  t.Gauge("netfence_flows_active", "Connections the flow log follows", static_cast<double>(s.flows_active));
  const std::pair<const char*, double> lost[] = {{"ring-buffer", static_cast<double>(ring_lost)},
                                                 {"sink-queue", static_cast<double>(file.queue_full)},
                                                 {"write-error", static_cast<double>(file.write_errors)},
                                                 {"observe-queue", static_cast<double>(f.hub().lost_total())}};
  for (const auto& [at, n] : lost) {
    t.Counter("netfence_flow_events_lost_total", "Events or records the flow log could not keep, by where", n,
              {{"at", at}});
  }
  for (int k = 0; k < 5; ++k) {
    t.Counter("netfence_flow_records_total", "Flow log records written, by kind", static_cast<double>(s.records[k]),
              {{"event", std::string(flowlog::EventName(static_cast<flowlog::EventKind>(k)))}});
  }
  t.Counter("netfence_flow_events_total", "Datapath events read from the ring buffer", static_cast<double>(s.events));
  // Audit mode: what enforcing the policies in audit would change (records with verdict audit).
  t.Counter("netfence_flow_audit_total",
            "Policies in audit would change the verdict: connections admitted they would deny (event=start), "
            "packets dropped they would allow (event=drop)",
            static_cast<double>(s.audit_flows), {{"event", "start"}});
  t.Counter("netfence_flow_audit_total",
            "Policies in audit would change the verdict: connections admitted they would deny (event=start), "
            "packets dropped they would allow (event=drop)",
            static_cast<double>(s.audit_drops), {{"event", "drop"}});
  t.Counter("netfence_flow_unattributed_records_total",
            "Records whose generation was not known (addresses named as of the live one, no rule)",
            static_cast<double>(s.unattributed));
  t.Counter("netfence_flow_drops_folded_total",
            "Drops in folded or overflow records (more distinct 5-tuples than the bounds)",
            static_cast<double>(s.drops_folded));
  t.Counter("netfence_flow_connections_handed_over_total",
            "Connections taken over from the previous agent with the names and rules it handed over",
            static_cast<double>(s.handed_over));
  t.Counter("netfence_flow_scan_errors_total", "Conntrack reads that failed", static_cast<double>(s.scan_errors));
  t.Gauge("netfence_flow_generations_held", "Generations whose names the flow log keeps",
          static_cast<double>(s.generations));
  t.Counter("netfence_flow_file_bytes_total", "Bytes written to the flow log file",
            static_cast<double>(file.bytes_written));
  t.Counter("netfence_flow_file_rotations_total", "Flow log file rotations", static_cast<double>(file.rotations));
  t.Counter("netfence_flow_file_rotation_failures_total",
            "Flow log rotations whose rename was refused (the file grows on; retried after 1 s, doubling to 60 s)",
            static_cast<double>(file.rotation_failures));
  t.Gauge("netfence_observe_streams", "Observe streams following the log", static_cast<double>(f.hub().subscribers()));
}

}  // namespace

std::string MetricsText(Agent& agent, const FlowLog* flows) {
  prometheus::Text t;
  fastpath::FastPath& p = agent.fast_path();
  const fastpath::Counters counters = p.ReadCounters();
  Traffic(t, p.ReadTraffic());
  Datapath(t, counters, p.ReadDropReasons());
  uint64_t entries = 0;
  if (flows != nullptr) {
    entries = flows->pipeline_stats().conntrack_entries;
  } else {
    std::vector<fastpath::CtEntry> all;
    if (p.ReadConntrack(&all).ok()) entries = all.size();
  }
  t.Gauge("netfence_conntrack_entries", "Connection tracking entries (at the flow log's last scan)",
          static_cast<double>(entries));
  t.Gauge("netfence_conntrack_capacity", "Connection tracking table size", static_cast<double>(p.conntrack_capacity()));
  if (flows != nullptr) {
    Flows(t, *flows, counters[NF_CNT_EVENTS_LOST]);
  } else {
    t.Counter("netfence_flow_events_lost_total", "Events or records the flow log could not keep, by where",
              static_cast<double>(counters[NF_CNT_EVENTS_LOST]), {{"at", "ring-buffer"}});
  }
  Tables(t, agent);
  t.Gauge("netfence_agent_ready", "1 once a generation is live", agent.ready() ? 1 : 0);
  const StartReconcile& r = agent.reconciled();
  t.Counter("netfence_agent_deletes_applied_at_start_total",
            "CNI DELs journaled while the agent was away and applied when it started",
            static_cast<double>(r.deletes_applied));
  t.Counter("netfence_agent_interfaces_forgotten_total", "Registered pods whose veth was gone when the agent started",
            static_cast<double>(r.interfaces_forgotten));
  t.Counter("netfence_agent_unregistered_interfaces_down_total",
            "Veths on the pods' bridge that no pod registered, set down at start (fail closed)",
            static_cast<double>(r.interfaces_down));
  return t.str();
}

std::map<std::string, http::Server::Handler> OperationalRoutes(Agent& agent, const FlowLog* flows) {
  std::map<std::string, http::Server::Handler> routes;
  routes["/metrics"] = [&agent, flows] {
    return http::Reply{200, prometheus::kContentType, MetricsText(agent, flows)};
  };
  routes["/livez"] = [] { return http::Reply{200, "text/plain; charset=utf-8", "ok\n"}; };
  routes["/readyz"] = [&agent] {
    if (agent.ready()) {
      return http::Reply{200, "text/plain; charset=utf-8",
                         "ok: generation " + std::to_string(agent.live_generation()) + " live\n"};
    }
    return http::Reply{503, "text/plain; charset=utf-8", "not ready: no table generation live yet\n"};
  };
  return routes;
}

}  // namespace netfence::agent
