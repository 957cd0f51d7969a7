// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/rule_hits.h"

#include <time.h>

#include <algorithm>
#include <set>

#include "common/hits/hit_sums.h"

namespace netfence::agent {

namespace {

int64_t ClockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void Name(const tables::RuleName& n, v1::RuleHitCount* c) {
  c->set_kind(n.kind);
  c->set_namespace_(n.ns);
  c->set_name(n.name);
  c->set_direction(n.direction);
  c->set_rule(n.rule);
  c->set_rule_name(n.rule_name);
}

}  // namespace

RuleHitBook::RuleHitBook(const fastpath::FastPath& fast_path, std::string node)
    : fast_path_(fast_path), node_(std::move(node)) {}

void RuleHitBook::OnLive(const v1::RuleTables& tables) {
  std::set<uint64_t> keys;
  for (int t = 0; t < tables.tables_size(); ++t) {
    for (uint64_t k : tables::TableRuleKeys(tables, t)) {
      if (k != 0) keys.insert(k);
    }
  }
  std::lock_guard lock(mu_);
  catalog_.Add(tables);
  live_keys_.assign(keys.begin(), keys.end());
}

StatusOr<v1::RuleHitReport> RuleHitBook::Report() const {
  std::vector<fastpath::RuleHit> hits;
  if (Status s = fast_path_.ReadRuleHits(&hits); !s.ok()) return s;
  v1::RuleHitReport out;
  out.set_node(node_);
  out.set_since_unix_nanos(fast_path_.rule_hits_since_unix_ns());
  const int64_t wall = ClockNs(CLOCK_REALTIME);
  const int64_t mono_to_wall = wall - ClockNs(CLOCK_MONOTONIC);
  out.set_unix_nanos(wall);
  std::lock_guard lock(mu_);
  for (const fastpath::RuleHit& h : hits) {
    const tables::RuleName* n = catalog_.Find(h.key);
    if (n == nullptr) {
      out.set_unnamed(out.unnamed() + 1);
      continue;
    }
    v1::RuleHitCount* c = out.add_rules();
    Name(*n, c);
    c->set_allowed(h.allowed);
    c->set_denied(h.denied);
    if (h.last_ns != 0) c->set_last_unix_nanos(static_cast<int64_t>(h.last_ns) + mono_to_wall);
  }
  return out;
}

StatusOr<v1::RuleHitsReply> RuleHitBook::Query(const v1::RuleHitsRequest& request) const {
  auto report = Report();
  if (!report.ok()) return report.status();
  hits::HitSums sums;
  for (const v1::RuleHitCount& c : report->rules()) sums.Add(c);
  {
    std::lock_guard lock(mu_);
    for (uint64_t k : live_keys_) {
      if (const tables::RuleName* n = catalog_.Find(k))
        sums.Declare(n->kind, n->ns, n->name, n->direction, n->rule, n->rule_name);
    }
  }
  v1::RuleHitsReply out = sums.Reply(request);
  out.set_since_unix_nanos(report->since_unix_nanos());
  out.set_unix_nanos(report->unix_nanos());
  out.add_nodes(node_);
  out.set_unnamed(report->unnamed());
  return out;
}

grpc::ServerUnaryReactor* RuleHitBook::GetRuleHits(grpc::CallbackServerContext* context,
                                                   const v1::RuleHitsRequest* request, v1::RuleHitsReply* reply) {
  auto* reactor = context->DefaultReactor();
  auto answer = Query(*request);
  if (!answer.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, answer.status().message()));
    return reactor;
  }
  *reply = std::move(answer).value();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace netfence::agent
