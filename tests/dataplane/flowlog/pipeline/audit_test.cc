// SPDX-License-Identifier: Apache-2.0
// Audit mode in the flow log: events whose nf_verdict carries an audited decision other than
// the enforced one become records with "verdict":"audit", both verdicts and what would have
// decided (the tracker's start/update/end, the drop records); events whose audited decision is
// the enforced one stay exactly the records they were before audit mode.
//
// The tables are compiled from YAML and then put in audit by hand (PutInAudit: what the
// compiler does for the annotation); the verdicts come from the production classifier over
// those tables (its audited decision included), as the datapath reports them. One test goes
// through the compiler's own annotation instead, and gets the same record.
#include <gtest/gtest.h>

#include "dataplane/fastpath/conntrack_key.h"
#include "dataplane/flowlog/community_id.h"
#include "dataplane/flowlog/pipeline/attribution.h"
#include "dataplane/flowlog/pipeline/drop_records.h"
#include "dataplane/flowlog/pipeline/flow_tracker.h"
#include "tests/dataplane/flowlog/pipeline/generation_fixture.h"
#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;

constexpr uint64_t kS = 1'000'000'000;
constexpr uint64_t kMono0 = 1000 * kS;
constexpr int64_t kOffset = testing::kT0 - static_cast<int64_t>(kMono0);
const char* kClient = "10.0.0.2";
const char* kServer = "10.0.0.1";
const char* kDb = "10.0.0.3";
const char* kCache = "10.0.0.4";

// server: server-in (enforced) lets the client in on 80 and 443; server-extra (audit) would
// let it in on 8080 too; the cluster policy guard (audit) would deny 443 to everyone.
// db: only db-lockdown (audit) would isolate it, letting in nobody but admins. cache:
// cache-in (enforced, nothing in audit in its table) lets in the server only.
std::string Yaml() {
  return PodYaml("default", "client", "app: client", kClient) + PodYaml("default", "server", "app: server", kServer) +
         PodYaml("default", "db", "app: db", kDb) + PodYaml("default", "cache", "app: cache", kCache) +
         PolicyYaml("default", "cache-in",
                    "  podSelector: {matchLabels: {app: cache}}\n  policyTypes: [Ingress]\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: server}}}]\n") +
         PolicyYaml("default", "server-in",
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                    "    ports: [{protocol: TCP, port: 80}, {protocol: TCP, port: 443}]\n") +
         PolicyYaml("default", "server-extra",
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                    "    ports: [{protocol: TCP, port: 8080}]\n") +
         PolicyYaml("default", "db-lockdown",
                    "  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: admin}}}]\n") +
         "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: guard}\n"
         "spec:\n  tier: Admin\n  priority: 3\n  subject: {pods: {podSelector: {matchLabels: {app: server}}}}\n"
         "  ingress:\n  - {name: no-tls, action: Deny, from: [{namespaces: {}}], protocols: [{tcp: "
         "{destinationPort: {number: 443}}}]}\n---\n";
}

PolicyRef Np(const char* name, std::optional<uint32_t> rule, bool audit) {
  PolicyRef p{"default", name, Direction::kIngress, rule};
  p.audit = audit;
  return p;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto [ns, name] : {std::pair{"default", "server-extra"}, {"default", "db-lockdown"}, {"", "guard"}}) {
      testing::PutInAudit(&g_.tables, ns, name);
    }
    auto c = classifier::Classifier::Load(std::make_shared<const v1::RuleTables>(g_.tables));
    ASSERT_TRUE(c.ok()) << c.status().message();
    classifier_ = *c;
    testing::AddGeneration(&history_, g_, 1, 0);
    tracker_.set_clock(kOffset);
  }

  nf_verdict DecisionOf(const char* src, const char* dst, uint16_t dport) const {
    return testing::VerdictOf(classifier_->Classify({*IpAddr::Parse(src), *IpAddr::Parse(dst), 6, dport}));
  }
  nf_event NewFlow(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint64_t ts) const {
    nf_event e = testing::Event(NF_EV_NEW_FLOW, src, sport, dst, dport, 6, 1, ts);
    e.verdict = DecisionOf(src, dst, dport);
    bool sender_b = false;
    fastpath::ConntrackKey(*IpAddr::Parse(src), sport, *IpAddr::Parse(dst), dport, 6, &sender_b);
    e.ct_created_ns = ts;
    e.ct_epoch = 1;
    e.ct_flags = sender_b ? NF_CT_INITIATOR_B : 0;
    e.ct_packets[0] = 1;
    e.ct_bytes[0] = e.bytes;
    e.tcp_flags = e.ct_tcp_flags[0] = 0x02;
    return e;
  }
  nf_event Drop(const char* src, uint16_t sport, const char* dst, uint16_t dport) const {
    nf_event e = testing::Event(NF_EV_DROP, src, sport, dst, dport, 6, 1, 0);
    e.reason = NF_DROP_POLICY;
    e.verdict = DecisionOf(src, dst, dport);
    return e;
  }
  static CtEntry Entry(const nf_event& e) {
    CtEntry c;
    IpAddr s, d;
    std::memcpy(s.bytes.data(), e.src, 16);
    std::memcpy(d.bytes.data(), e.dst, 16);
    c.key = fastpath::ConntrackKey(s, e.sport, d, e.dport, e.proto);
    c.entry = testing::EntryOf(e, c.key);
    return c;
  }
  static int64_t Wall(uint64_t mono) { return static_cast<int64_t>(mono) + kOffset; }
  void Scan(const std::vector<CtEntry>& entries, uint64_t mono) {
    tracker_.OnScan(
        {.entries = &entries, .read_mono = mono, .now_mono = mono, .now_wall = Wall(mono), .update_tick = true});
  }
  std::vector<FlowRecord> Take() { return std::exchange(out_, {}); }
  std::vector<FlowRecord> Drops(const std::vector<nf_event>& events) {
    DropAggregator agg({.window_ns = 10}, [] { return int64_t{0}; });
    for (const nf_event& e : events) agg.Add(DropObservationOf(e, history_, testing::kT0));
    std::vector<FlowRecord> out;
    for (const DropAggregate& a : agg.FlushAll()) out.push_back(DropRecordOf(a, history_, "node-a", testing::kT0 + 5));
    return out;
  }
  // The JSON of a record from its "policies" up to field `until` (the fields this test is about).
  static std::string Tail(const FlowRecord& r, const std::string& until) {
    const std::string j = ToJson(r);
    const size_t from = j.find(",\"policies\"");
    return j.substr(from, j.find(",\"" + until + "\"", from) - from);
  }

  testing::Generation g_ = testing::MakeGeneration(Yaml(), 1);
  std::shared_ptr<const classifier::Classifier> classifier_;
  GenerationHistory history_;
  std::vector<FlowRecord> out_;
  FlowTracker tracker_{{.node = "node-a", .close_grace_ns = static_cast<int64_t>(kS), .settle_ns = 50'000'000},
                       &history_,
                       [this](FlowRecord&& r) { out_.push_back(std::move(r)); }};
};

TEST_F(AuditTest, TheClassifierGivesTheDecisionsTheCasesNeed) {
  // The premises of the tests below, so that a change of the fixture fails here, legibly.
  const nf_verdict a = DecisionOf(kClient, kDb, 5432), b = DecisionOf(kClient, kServer, 80),
                   c = DecisionOf(kClient, kServer, 8080), d = DecisionOf(kClient, kServer, 443),
                   e = DecisionOf(kClient, kCache, 6379);
  EXPECT_EQ(a.ingress_outcome, NF_NOT_ISOLATED);
  EXPECT_EQ(a.audit_ingress_outcome, NF_DENIED);
  EXPECT_EQ(b.ingress_outcome, NF_ALLOWED);
  EXPECT_EQ(b.audit_ingress_outcome, NF_ALLOWED);
  EXPECT_EQ(c.ingress_outcome, NF_DENIED);
  EXPECT_EQ(c.audit_ingress_outcome, NF_ALLOWED);
  EXPECT_EQ(d.ingress_outcome, NF_ALLOWED);
  EXPECT_EQ(d.audit_ingress_outcome, NF_DENIED_BY_RULE);
  EXPECT_EQ(e.ingress_outcome, NF_DENIED);
  EXPECT_EQ(e.audit_ingress_outcome, NF_DENIED);
  for (const nf_verdict& v : {a, b, c, d, e}) EXPECT_EQ(v.audit_egress_outcome, NF_NOT_ISOLATED);
}

// (a) Allowed, but db-lockdown (audit) would isolate the db: the whole connection is audit.
TEST_F(AuditTest, AnAllowedConnectionAnAuditedPolicyWouldIsolateIsAuditFromStartToEnd) {
  const nf_event ev = NewFlow(kClient, 40000, kDb, 5432, kMono0 + 1000);
  tracker_.OnNewFlow(ev);
  auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  const FlowRecord start = out[0];
  EXPECT_EQ(start.event, EventKind::kStart);
  EXPECT_EQ(start.verdict, Verdict::kAudit);
  EXPECT_EQ(start.reason, reason::kNoPolicy);  // what was enforced: nothing isolates the db
  EXPECT_EQ(start.direction, Direction::kEgress);
  EXPECT_TRUE(start.policies.empty());
  EXPECT_EQ(start.enforced, Verdict::kAllowed);
  EXPECT_EQ(start.audited, Verdict::kDenied);
  EXPECT_EQ(start.audit_reason, reason::kDefaultDeny);
  EXPECT_EQ(start.audit_policies, std::vector<PolicyRef>{Np("db-lockdown", std::nullopt, true)});
  EXPECT_EQ(Tail(start, "flow_id"),
            R"(,"policies":[],"enforced":"allowed","audited":"denied","audit_reason":"default-deny",)"
            R"("audit_policies":[{"namespace":"default","name":"db-lockdown","direction":"ingress","rule":null,)"
            R"("kind":"NetworkPolicy","tier":"NetworkPolicy","audit":true}])")
      << ToJson(start);

  // The update and the end say the same: a search for verdict audit finds the whole connection.
  CtEntry c = Entry(ev);
  c.entry.packets[0] = 5;
  c.entry.bytes[0] = 500;
  c.entry.last_seen_ns = kMono0 + 2 * kS;
  Scan({c}, kMono0 + 10 * kS);
  Scan({}, kMono0 + 20 * kS);  // its entry vanished: evicted
  out = Take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].event, EventKind::kUpdate);
  EXPECT_EQ(out[1].event, EventKind::kEnd);
  for (const FlowRecord& r : out) {
    EXPECT_EQ(r.verdict, Verdict::kAudit);
    EXPECT_EQ(r.enforced, start.enforced);
    EXPECT_EQ(r.audited, start.audited);
    EXPECT_EQ(r.audit_reason, start.audit_reason);
    EXPECT_EQ(r.audit_policies, start.audit_policies);
    EXPECT_EQ(r.flow_id, start.flow_id);
    auto back = ParseRecord(ToJson(r));
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, r);
  }
}

TEST_F(AuditTest, AConnectionReCheckedByANewGenerationStaysAudit) {
  // Generation 2 (a new programming, epoch 2) re-checks the connection: the entry keeps no
  // audited decision, so the records go on with what the start said.
  v1::RuleTables t2 = g_.tables;
  t2.set_generation(2);
  history_.Add({.generation = 2, .epoch = 2, .tables = &t2, .ipcache = &g_.ipcache, .identities = &g_.identities},
               testing::kT0 + 1);
  const nf_event ev = NewFlow(kClient, 40000, kDb, 5432, kMono0 + 1000);
  tracker_.OnNewFlow(ev);
  const FlowRecord start = Take().at(0);
  CtEntry c = Entry(ev);
  c.entry.epoch = 2;
  c.entry.packets[0] = 3;
  c.entry.last_seen_ns = kMono0 + 2 * kS;
  Scan({c}, kMono0 + 10 * kS);
  auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].generation, 2u);
  EXPECT_EQ(out[0].verdict, Verdict::kAudit);
  EXPECT_EQ(out[0].audit_policies, start.audit_policies);
  EXPECT_EQ(out[0].audit_reason, reason::kDefaultDeny);
}

// (b) Allowed both ways: the record is what it was before audit mode, byte for byte.
TEST_F(AuditTest, AConnectionTheAuditedPoliciesWouldAllowTooIsAPlainAllowedRecord) {
  const nf_event ev = NewFlow(kClient, 40001, kServer, 80, kMono0 + 1000);
  tracker_.OnNewFlow(ev);
  // The same event from a datapath from before audit mode (audit_* zero).
  nf_event before = ev;
  before.verdict.audit_egress_outcome = before.verdict.audit_egress_rule = 0;
  before.verdict.audit_ingress_outcome = before.verdict.audit_ingress_rule = 0;
  tracker_.OnNewFlow(before);  // the same tuple and creation: a second start of it
  auto out = Take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].verdict, Verdict::kAllowed);
  EXPECT_EQ(out[0].policies, std::vector<PolicyRef>{Np("server-in", 0, false)});
  EXPECT_FALSE(out[0].enforced.has_value());
  EXPECT_FALSE(out[0].audited.has_value());
  EXPECT_TRUE(out[0].audit_reason.empty());
  EXPECT_TRUE(out[0].audit_policies.empty());
  EXPECT_EQ(ToJson(out[0]), ToJson(out[1]));
  EXPECT_EQ(ToJson(out[0]).find("audit"), std::string::npos) << ToJson(out[0]);
  EXPECT_EQ(Tail(out[0], "flow_id"),
            R"(,"policies":[{"namespace":"default","name":"server-in","direction":"ingress","rule":0,)"
            R"("kind":"NetworkPolicy","tier":"NetworkPolicy","action":"Allow"}])");
}

TEST_F(AuditTest, ATableWithNothingInAuditIsNeverReadAsAudit) {
  // A datapath from before audit mode leaves the audited side zero ("not isolated"): in a
  // table without policies in audit the enforced decision stands, so no drop turns audit.
  nf_event e = Drop(kClient, 40009, kCache, 6379);
  e.verdict.audit_ingress_outcome = 0;
  e.verdict.audit_ingress_rule = 0;
  const auto out = Drops({e});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict, Verdict::kDenied) << ToJson(out[0]);
  EXPECT_EQ(out[0].policies, (std::vector<PolicyRef>{{"default", "cache-in", Direction::kIngress, std::nullopt}}));
  EXPECT_EQ(ToJson(out[0]).find("audit"), std::string::npos) << ToJson(out[0]);
}

// (c) Denied by default (server-in isolates the server, no rule for 8080); server-extra (audit)
// would allow it: an audit drop naming that rule, still counted as drops.
TEST_F(AuditTest, ADropAnAuditedRuleWouldAllowIsAnAuditDropNamingTheRule) {
  const auto out = Drops(
      {Drop(kClient, 40002, kServer, 8080), Drop(kClient, 40002, kServer, 8080), Drop(kClient, 40003, kServer, 9999)});
  ASSERT_EQ(out.size(), 2u);
  const FlowRecord& audit = out[0].dst.port == 8080 ? out[0] : out[1];
  const FlowRecord& denied = out[0].dst.port == 8080 ? out[1] : out[0];
  FlowRecord want = testing::ClientServerTcp(g_, kClient, 40002, kServer, 8080);
  want.event = EventKind::kDrop;
  want.time_ns = testing::kT0 + 5;
  want.verdict = Verdict::kAudit;
  want.direction = Direction::kIngress;
  want.reason = reason::kDefaultDeny;
  want.packets = want.count = 2;
  want.bytes = 148;
  want.generation = 1;
  want.policies = {Np("server-in", std::nullopt, false)};  // what enforced the drop
  want.enforced = Verdict::kDenied;
  want.audited = Verdict::kAllowed;
  want.audit_reason = reason::kPolicy;
  want.audit_policies = {Np("server-extra", 0, true)};
  want.first_time_ns = want.last_time_ns = testing::kT0;
  want.aggregation = Aggregation::kExact;
  EXPECT_EQ(audit, want);
  EXPECT_EQ(Tail(audit, "count"),
            R"(,"policies":[{"namespace":"default","name":"server-in","direction":"ingress","rule":null,)"
            R"("kind":"NetworkPolicy","tier":"NetworkPolicy"}],"enforced":"denied","audited":"allowed",)"
            R"("audit_reason":"policy","audit_policies":[{"namespace":"default","name":"server-extra",)"
            R"("direction":"ingress","rule":0,"kind":"NetworkPolicy","tier":"NetworkPolicy","action":"Allow",)"
            R"("audit":true}])")
      << ToJson(audit);
  // A port nothing would allow: a plain denied drop, aggregated apart, without audit fields.
  EXPECT_EQ(denied.verdict, Verdict::kDenied);
  EXPECT_EQ(denied.policies, std::vector<PolicyRef>{Np("server-in", std::nullopt, false)});
  EXPECT_EQ(ToJson(denied).find("audit"), std::string::npos) << ToJson(denied);
  auto back = ParseRecord(ToJson(audit));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, audit);
}

TEST_F(AuditTest, AuditDropsAreAggregatedApartFromDeniedOnesEvenWhenFolded) {
  // Same group (src ip, dst ip, proto, dst port): past the per-group bound they fold, but an
  // audit drop never shares an aggregate with a denied one.
  DropAggregator agg({.window_ns = 10, .max_tuples_per_group = 1}, [] { return int64_t{0}; });
  nf_event denied = Drop(kClient, 40020, kServer, 8080);
  denied.verdict.audit_ingress_outcome = NF_DENIED;  // as if server-extra were not there
  for (uint16_t port : {40021, 40022}) agg.Add(DropObservationOf(Drop(kClient, port, kServer, 8080), history_, 0));
  agg.Add(DropObservationOf(denied, history_, 0));
  std::map<std::pair<Verdict, Aggregation>, uint64_t> counts;
  for (const DropAggregate& a : agg.FlushAll()) {
    const FlowRecord r = DropRecordOf(a, history_, "node-a", testing::kT0);
    counts[{r.verdict, r.aggregation}] += r.count;
    if (r.verdict == Verdict::kAudit) {
      EXPECT_EQ(r.audit_policies, std::vector<PolicyRef>{Np("server-extra", 0, true)});
    }
  }
  EXPECT_EQ(counts,
            (std::map<std::pair<Verdict, Aggregation>, uint64_t>{{{Verdict::kAudit, Aggregation::kExact}, 1},
                                                                 {{Verdict::kAudit, Aggregation::kFolded}, 1},
                                                                 {{Verdict::kDenied, Aggregation::kExact}, 1}}));
}

// (d) Allowed by server-in; the cluster policy guard (audit) would deny 443 by its Deny rule.
TEST_F(AuditTest, AClusterPolicyDenyInAuditNamesItsRuleWithKindTierAndAction) {
  const nf_event ev = NewFlow(kClient, 40004, kServer, 443, kMono0 + 1000);
  tracker_.OnNewFlow(ev);
  const auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  const FlowRecord& r = out[0];
  EXPECT_EQ(r.verdict, Verdict::kAudit);
  EXPECT_EQ(r.reason, reason::kPolicy);
  EXPECT_EQ(r.policies, std::vector<PolicyRef>{Np("server-in", 0, false)});
  EXPECT_EQ(r.enforced, Verdict::kAllowed);
  EXPECT_EQ(r.audited, Verdict::kDenied);
  EXPECT_EQ(r.audit_reason, reason::kPolicy);
  PolicyRef guard{"", "guard", Direction::kIngress, 0};
  guard.kind = "ClusterNetworkPolicy";
  guard.tier = "Admin";
  guard.action = "Deny";
  guard.rule_name = "no-tls";
  guard.audit = true;
  EXPECT_EQ(r.audit_policies, std::vector<PolicyRef>{guard});
  EXPECT_NE(ToJson(r).find(R"("enforced":"allowed","audited":"denied","audit_reason":"policy",)"
                           R"("audit_policies":[{"namespace":"","name":"guard","direction":"ingress","rule":0,)"
                           R"("kind":"ClusterNetworkPolicy","tier":"Admin","action":"Deny","rule_name":"no-tls",)"
                           R"("audit":true}])"),
            std::string::npos)
      << ToJson(r);
  auto back = ParseRecord(ToJson(r));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, r);
}

TEST_F(AuditTest, AConnectionTakenOverByALaterAgentKeepsItsAuditFields) {
  tracker_.OnNewFlow(NewFlow(kClient, 40000, kDb, 5432, kMono0 + 1000));
  const FlowRecord start = Take().at(0);
  const auto handed = tracker_.Handover();
  ASSERT_EQ(handed.size(), 1u);
  // Through the handover file (JSON lines) and back.
  auto back = ParseRecord(ToJson(handed[0]));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->verdict, Verdict::kAudit);
  EXPECT_EQ(back->audit_policies, start.audit_policies);
  EXPECT_EQ(back->enforced, Verdict::kAllowed);
  EXPECT_EQ(back->audited, Verdict::kDenied);
}

TEST(AuditCompiledTest, TheCompilersAuditAnnotationGivesTheSameRecord) {
  // The annotation itself, through the compiler (rather than PutInAudit): the same start.
  testing::Generation g = testing::MakeGeneration(
      PodYaml("default", "client", "app: client", kClient) + PodYaml("default", "db", "app: db", kDb) +
          "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-lockdown, namespace: default, "
          "annotations: {netfence.io/enforcement: audit}}\nspec:\n  podSelector: {matchLabels: {app: db}}\n"
          "  policyTypes: [Ingress]\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: admin}}}]\n---\n",
      1);
  GenerationHistory history;
  testing::AddGeneration(&history, g, 1, 0);
  nf_event e = testing::Event(NF_EV_NEW_FLOW, kClient, 40000, kDb, 5432, 6, 1, kMono0);
  e.verdict = testing::VerdictOf(g.cluster->Decide(kClient, kDb, 6, 5432));
  ASSERT_EQ(e.verdict.audit_ingress_outcome, NF_DENIED);
  std::vector<FlowRecord> out;
  FlowTracker tracker({.node = "node-a"}, &history, [&](FlowRecord&& r) { out.push_back(std::move(r)); });
  tracker.OnNewFlow(e);  // untracked (no conntrack entry): a start of its one packet
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict, Verdict::kAudit);
  EXPECT_EQ(out[0].audit_reason, reason::kDefaultDeny);
  EXPECT_EQ(out[0].audit_policies, std::vector<PolicyRef>{Np("db-lockdown", std::nullopt, true)});
}

}  // namespace
}  // namespace netfence::flowlog
