// SPDX-License-Identifier: Apache-2.0
// Test helpers for the flow-log pipeline: a generation compiled from YAML (tables and the
// node view's ipcache and identities, as the agent's on_live hands them over), and datapath
// events and conntrack entries built by hand.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "common/tables/table_set.h"
#include "common/tables/wire.h"
#include "dataplane/flowlog/community_id.h"
#include "dataplane/flowlog/flow_record.h"
#include "dataplane/flowlog/pipeline/generation_history.h"
#include "dataplane/xdp/map_entries.h"
#include "tests/dataplane/flowlog/records.h"
#include "tests/testing/policy_fixture.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::flowlog::testing {

using netfence::testing::PodYaml;
using netfence::testing::PolicyYaml;

struct Generation {
  std::unique_ptr<netfence::testing::Cluster> cluster;
  v1::RuleTables tables;
  std::map<IpAddr, v1::IpcacheEntry> ipcache;
  std::map<uint32_t, v1::Identity> identities;

  // The identity the tables give an address (0: world).
  uint32_t IdentityOf(const std::string& ip) const {
    const auto it = ipcache.find(*IpAddr::Parse(ip));
    return it == ipcache.end() ? 0 : it->second.identity();
  }
  // (table, rule bit) of the rule `index` of policy ns/name in its table of `direction` for
  // endpoint `ip`.
  uint32_t TableOf(const std::string& ip, bool egress) const {
    const std::string addr = tables::AddrBytes(*IpAddr::Parse(ip));
    for (const auto& e : tables.endpoints()) {
      for (const auto& a : e.ips()) {
        if (a == addr) return egress ? e.egress_table() : e.ingress_table();
      }
    }
    ADD_FAILURE() << ip << " is no endpoint";
    return 0;
  }
};

// What every record of a TCP flow client:sport -> server:dport says at node-a's XDP hook
// (interface 7) about where and between whom, as of generation g: node, observation point,
// protocol, both ends (pods `client` and `server` of namespace default, labelled app=client and
// app=server, with g's identities) and the Community ID. Verdict and the rest are the test's.
inline FlowRecord ClientServerTcp(const Generation& g, const char* client, uint16_t sport, const char* server,
                                  uint16_t dport) {
  FlowRecord r;
  r.node = "node-a";
  r.observation_point = "xdp";
  r.ifindex = 7;
  r.proto = 6;
  r.src = Pod(client, sport, "default", "client", "");
  r.src.labels = {{"app", "client"}};
  r.src.identity = g.IdentityOf(client);
  r.dst = Pod(server, dport, "default", "server", "");
  r.dst.labels = {{"app", "server"}};
  r.dst.identity = g.IdentityOf(server);
  r.community_id = CommunityId(*IpAddr::Parse(client), *IpAddr::Parse(server), 6, sport, dport);
  return r;
}

// Compiles `yaml` as generation `generation`; every pod runs on `node`.
inline Generation MakeGeneration(const std::string& yaml, uint64_t generation) {
  Generation g;
  g.cluster = std::make_unique<netfence::testing::Cluster>(yaml);
  g.tables = g.cluster->tables();
  g.tables.set_generation(generation);
  const std::string& addrs = g.tables.ipcache_addrs();
  std::map<IpAddr, uint32_t> identity;
  for (int i = 0; i < g.tables.ipcache_identities_size(); ++i) {
    IpAddr a;
    std::memcpy(a.bytes.data(), addrs.data() + 16 * i, 16);
    identity[a] = g.tables.ipcache_identities(i);
  }
  for (const k8s::Pod& p : g.cluster->state().pods) {
    for (const std::string& ip : p.pod_ips) {
      const IpAddr a = *IpAddr::Parse(ip);
      v1::IpcacheEntry& e = g.ipcache[a];
      e.set_addr(tables::AddrBytes(a));
      e.set_identity(identity[a]);
      e.set_namespace_(p.meta.ns);
      e.set_pod(p.meta.name);
      e.set_node(p.node_name);
    }
  }
  for (const auto& id : g.tables.identities()) g.identities[id.id()] = id;
  return g;
}

inline void AddGeneration(GenerationHistory* h, const Generation& g, uint32_t epoch, int64_t now_ns) {
  h->Add({.generation = g.tables.generation(),
          .epoch = epoch,
          .tables = &g.tables,
          .ipcache = &g.ipcache,
          .identities = &g.identities},
         now_ns);
}

inline void CopyAddr(const std::string& ip, uint8_t* out) { std::memcpy(out, IpAddr::Parse(ip)->bytes.data(), 16); }

// A datapath event of `kind` for src:sport -> dst:dport.
inline nf_event Event(uint8_t kind, const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                      uint8_t proto, uint64_t generation, uint64_t ts_ns) {
  nf_event e{};
  e.kind = kind;
  CopyAddr(src, e.src);
  CopyAddr(dst, e.dst);
  e.sport = sport;
  e.dport = dport;
  e.proto = proto;
  e.parsed = 1;
  e.generation = generation;
  e.ts_ns = ts_ns;
  e.ifindex = 7;
  e.bytes = 74;
  e.hook = NF_HOOK_XDP;
  e.verdict.egress_rule = NF_NO_RULE;
  e.verdict.ingress_rule = NF_NO_RULE;
  return e;
}

// The datapath's verdict for a decision of the classifier (the same numbering).
static_assert(static_cast<uint32_t>(classifier::Outcome::kNotIsolated) == NF_NOT_ISOLATED &&
              static_cast<uint32_t>(classifier::Outcome::kAllowed) == NF_ALLOWED &&
              static_cast<uint32_t>(classifier::Outcome::kDenied) == NF_DENIED &&
              static_cast<uint32_t>(classifier::Outcome::kDeniedByRule) == NF_DENIED_BY_RULE);

inline nf_verdict VerdictOf(const classifier::Decision& d) {
  nf_verdict v{};
  v.egress_outcome = static_cast<uint32_t>(d.egress.outcome);
  v.egress_table = d.egress.table;
  v.egress_rule = d.egress.rule_bit;
  v.ingress_outcome = static_cast<uint32_t>(d.ingress.outcome);
  v.ingress_table = d.ingress.table;
  v.ingress_rule = d.ingress.rule_bit;
  // The audited decision (the same as the enforced one where no policy in audit is involved).
  v.audit_egress_outcome = static_cast<uint32_t>(d.audit_egress.outcome);
  v.audit_egress_rule = d.audit_egress.rule_bit;
  v.audit_ingress_outcome = static_cast<uint32_t>(d.audit_ingress.outcome);
  v.audit_ingress_rule = d.audit_ingress.rule_bit;
  return v;
}

// Puts policy `name` (of namespace `ns`; "" for a cluster policy) in audit in compiled tables,
// as the compiler does for the annotation netfence.io/enforcement: audit: PolicyRef.audit, the
// audit flag on each of its rule bits (rule_flags written out for a table without tiers), and
// its isolation moved to audit_isolating_policies.
inline void PutInAudit(v1::RuleTables* t, const std::string& ns, const std::string& name) {
  int p = -1;
  for (int i = 0; i < t->policies_size(); ++i) {
    if (t->policies(i).namespace_() == ns && t->policies(i).name() == name) p = i;
  }
  ASSERT_GE(p, 0) << ns << "/" << name << " is no policy of the tables";
  t->mutable_policies(p)->set_audit(true);
  for (auto& dt : *t->mutable_tables()) {
    bool has = false;
    for (uint32_t rp : dt.rule_policy()) has = has || rp == static_cast<uint32_t>(p);
    if (has && dt.rule_flags_size() == 0) {
      // Every bit a NetworkPolicy allow rule: the NetworkPolicy tier is the whole table.
      for (uint32_t b = 0; b < dt.rule_count(); ++b) dt.add_rule_flags(0);
      dt.set_np_first_bit(0);
      dt.set_baseline_first_bit(dt.rule_count());
    }
    for (int b = 0; b < dt.rule_policy_size(); ++b) {
      if (dt.rule_policy(b) == static_cast<uint32_t>(p)) dt.set_rule_flags(b, dt.rule_flags(b) | tables::kRuleAudit);
    }
    auto* iso = dt.mutable_isolating_policies();
    for (int i = 0; i < iso->size(); ++i) {
      if (iso->Get(i) != static_cast<uint32_t>(p)) continue;
      iso->erase(iso->begin() + i);
      dt.add_audit_isolating_policies(static_cast<uint32_t>(p));
      break;
    }
    dt.set_isolated(dt.isolating_policies_size() > 0);
    dt.set_audit_isolated(dt.isolated() || dt.audit_isolating_policies_size() > 0);
  }
}

// The conntrack entry a NEW_FLOW event describes (as created), with the initiator's side.
inline nf_ct_entry EntryOf(const nf_event& e, const nf_ct_key& key) {
  nf_ct_entry c{};
  c.created_ns = e.ct_created_ns;
  c.last_seen_ns = e.ct_created_ns;
  c.packets[0] = e.ct_packets[0];
  c.bytes[0] = e.ct_bytes[0];
  c.epoch = e.ct_epoch;
  c.flags = e.ct_flags;
  c.tcp_flags[0] = e.ct_tcp_flags[0];
  c.egress_table = e.verdict.egress_table;
  c.ingress_table = e.verdict.ingress_table;
  c.egress_rule = e.verdict.egress_outcome == NF_ALLOWED ? e.verdict.egress_rule : NF_NO_RULE;
  c.ingress_rule = e.verdict.ingress_outcome == NF_ALLOWED ? e.verdict.ingress_rule : NF_NO_RULE;
  c.ifindex = e.ifindex;
  (void)key;
  return c;
}

}  // namespace netfence::flowlog::testing
