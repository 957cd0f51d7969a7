// SPDX-License-Identifier: Apache-2.0
// Audit mode, case by case: the annotation netfence.io/enforcement on a Namespace, a
// NetworkPolicy or a ClusterNetworkPolicy, and the compiler's default. Each case asserts both
// decisions of one lookup: the enforced one (what traffic follows: the policies in audit left
// out) and the audited one (every policy enforced), with the rule or isolation that decides.
#include <gtest/gtest.h>

#include "common/tables/wire.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::testing {
namespace {

constexpr uint8_t kTCP = 6;

// Namespace `shop` (annotated `shop_mode`: "" for none) with web 10.9.0.1 (app=web) and
// client 10.9.0.2 (app=client); namespace `other` with probe 10.9.1.1.
std::string Base(const std::string& shop_mode) {
  std::string ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n";
  if (!shop_mode.empty()) ns += "  annotations: {netfence.io/enforcement: " + shop_mode + "}\n";
  return ns + "---\n" + NamespaceYaml("other", "") + PodYaml("shop", "web", "app: web", "10.9.0.1") +
         PodYaml("shop", "client", "app: client", "10.9.0.2") + PodYaml("other", "probe", "app: probe", "10.9.1.1");
}

// A NetworkPolicy with an optional annotation.
std::string Policy(const std::string& name, const std::string& mode, const std::string& spec) {
  std::string meta = "metadata:\n  name: " + name + "\n  namespace: shop\n";
  if (!mode.empty()) meta += "  annotations: {netfence.io/enforcement: " + mode + "}\n";
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" + meta + "spec:\n" + spec + "\n---\n";
}

// web accepts only app=client on TCP/80.
const char* kWebFromClientOn80 =
    "  podSelector: {matchLabels: {app: web}}\n"
    "  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]";

// "allowed"/"denied" and how: "allowed none", "allowed by shop/p#0", "denied default-deny
// [shop/p]", "denied by ClusterNetworkPolicy/x#0". The isolation of an audited decision also
// names the policies in audit that isolate ("shop/p(audit)").
std::string Describe(const Cluster& c, const classifier::DirectionDecision& d, bool audited) {
  using classifier::Outcome;
  const v1::RuleTables& t = c.tables();
  auto name = [&](uint32_t p) {
    const auto& ref = t.policies(static_cast<int>(p));
    return (ref.kind().empty() ? ref.namespace_() : ref.kind()) + "/" + ref.name();
  };
  switch (d.outcome) {
    case Outcome::kNotIsolated:
      return "allowed none";
    case Outcome::kDenied: {
      const auto& dt = t.tables(static_cast<int>(d.table));
      std::string out = "denied default-deny [";
      for (uint32_t p : dt.isolating_policies()) out += name(p) + " ";
      if (audited) {
        for (uint32_t p : dt.audit_isolating_policies()) out += name(p) + "(audit) ";
      }
      if (out.back() == ' ') out.pop_back();
      return out + "]";
    }
    default: {
      const auto& dt = t.tables(static_cast<int>(d.table));
      const int b = static_cast<int>(d.rule_bit);
      return std::string(d.outcome == Outcome::kAllowed ? "allowed by " : "denied by ") + name(dt.rule_policy(b)) +
             "#" + std::to_string(dt.rule_index(b));
    }
  }
}

// "enforced: <ingress> | audited: <ingress>" for src -> web:port (egress is never isolated here
// unless a case says so).
std::string Ingress(const Cluster& c, const std::string& src, uint16_t port) {
  const auto d = c.Decide(src, "10.9.0.1", kTCP, port);
  EXPECT_EQ(d.audit_differs(), d.allowed() != d.audit_allowed());
  return "enforced: " + Describe(c, d.ingress, false) + " | audited: " + Describe(c, d.audit_ingress, true);
}

TEST(AuditTest, ANamespaceInAuditPutsItsPoliciesInAudit) {
  Cluster c(Base("audit") + Policy("web-in", "", kWebFromClientOn80));
  EXPECT_EQ(Ingress(c, "10.9.1.1", 80), "enforced: allowed none | audited: denied default-deny [shop/web-in(audit)]");
  EXPECT_EQ(Ingress(c, "10.9.0.2", 80), "enforced: allowed none | audited: allowed by shop/web-in#0");
  EXPECT_TRUE(c.Decide("10.9.1.1", "10.9.0.1", kTCP, 80).audit_differs());
  EXPECT_FALSE(c.Decide("10.9.0.2", "10.9.0.1", kTCP, 80).audit_differs());
  // The tables say so: the policy is in audit, its bits carry the flag, it isolates in audit only.
  ASSERT_EQ(c.tables().policies_size(), 1);
  EXPECT_TRUE(c.tables().policies(0).audit());
  const auto ep = c.tables().endpoints(1);  // shop/web (sorted: other/probe, shop/client, shop/web)
  ASSERT_EQ(ep.name(), "client");
  const auto& web = c.tables().endpoints(2);
  const auto& dt = c.tables().tables(static_cast<int>(web.ingress_table()));
  EXPECT_FALSE(dt.isolated());
  EXPECT_TRUE(dt.audit_isolated());
  ASSERT_EQ(dt.rule_flags_size(), 1);
  EXPECT_EQ(dt.rule_flags(0), tables::kRuleAudit);
}

TEST(AuditTest, APolicyInAuditInAnEnforcedNamespace) {
  Cluster c(Base("enforce") + Policy("web-in", "audit", kWebFromClientOn80));
  EXPECT_EQ(Ingress(c, "10.9.1.1", 80), "enforced: allowed none | audited: denied default-deny [shop/web-in(audit)]");
  EXPECT_EQ(Ingress(c, "10.9.0.2", 443), "enforced: allowed none | audited: denied default-deny [shop/web-in(audit)]");
}

TEST(AuditTest, APolicysOwnEnforceWinsOverItsNamespacesAudit) {
  Cluster c(Base("audit") + Policy("web-in", "enforce", kWebFromClientOn80));
  EXPECT_EQ(Ingress(c, "10.9.1.1", 80),
            "enforced: denied default-deny [shop/web-in] | audited: denied default-deny "
            "[shop/web-in]");
  EXPECT_FALSE(c.tables().policies(0).audit());
  const auto& dt = c.tables().tables(static_cast<int>(c.tables().endpoints(2).ingress_table()));
  EXPECT_EQ(dt.rule_flags_size(), 0) << "a table without a policy in audit is a plain NetworkPolicy table";
}

TEST(AuditTest, MixedAnEnforcedPolicyAndOneInAudit) {
  // Enforced: web accepts the client on 80. In audit: a second policy would also accept other/probe on 443.
  Cluster c(Base("") + Policy("web-in", "", kWebFromClientOn80) +
            Policy("web-tls", "audit",
                   "  podSelector: {matchLabels: {app: web}}\n"
                   "  ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 443}]}]"));
  // The policy in audit would admit what enforcement denies...
  EXPECT_EQ(Ingress(c, "10.9.1.1", 443),
            "enforced: denied default-deny [shop/web-in] | audited: allowed by "
            "shop/web-tls#0");
  EXPECT_TRUE(c.Decide("10.9.1.1", "10.9.0.1", kTCP, 443).audit_differs());
  // ...and changes nothing where both agree.
  EXPECT_EQ(Ingress(c, "10.9.0.2", 80), "enforced: allowed by shop/web-in#0 | audited: allowed by shop/web-in#0");
  EXPECT_EQ(Ingress(c, "10.9.1.1", 80),
            "enforced: denied default-deny [shop/web-in] | audited: denied default-deny "
            "[shop/web-in shop/web-tls(audit)]");
}

TEST(AuditTest, AClusterNetworkPolicyDenyInAudit) {
  const std::string cnp =
      "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
      "metadata: {name: no-probes, annotations: {netfence.io/enforcement: audit}}\n"
      "spec:\n  tier: Admin\n  priority: 5\n"
      "  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: shop}}}\n"
      "  ingress: [{name: from-other, action: Deny, from: [{namespaces: {matchLabels: "
      "{kubernetes.io/metadata.name: other}}}]}]\n---\n";
  Cluster c(Base("") + cnp);
  EXPECT_EQ(Ingress(c, "10.9.1.1", 80), "enforced: allowed none | audited: denied by ClusterNetworkPolicy/no-probes#0");
  EXPECT_EQ(Ingress(c, "10.9.0.2", 80), "enforced: allowed none | audited: allowed none");
  // The same object enforced denies.
  Cluster enforced(Base("") + std::string(cnp).replace(cnp.find("audit"), 5, "enforce"));
  EXPECT_EQ(
      Ingress(enforced, "10.9.1.1", 80),
      "enforced: denied by ClusterNetworkPolicy/no-probes#0 | audited: denied by ClusterNetworkPolicy/no-probes#0");
}

TEST(AuditTest, TheDefaultPutsUnannotatedPoliciesInAudit) {
  const std::string objects = Base("") + Policy("web-in", "", kWebFromClientOn80);
  Cluster audit(objects, compiler::Options{.audit_by_default = true});
  EXPECT_EQ(Ingress(audit, "10.9.1.1", 80),
            "enforced: allowed none | audited: denied default-deny [shop/web-in(audit)]");
  // A namespace that says enforce keeps enforcing under an audit default.
  Cluster ns_enforce(Base("enforce") + Policy("web-in", "", kWebFromClientOn80),
                     compiler::Options{.audit_by_default = true});
  EXPECT_EQ(Ingress(ns_enforce, "10.9.1.1", 80),
            "enforced: denied default-deny [shop/web-in] | audited: denied default-deny [shop/web-in]");
}

TEST(AuditTest, EgressInAuditToo) {
  Cluster c(Base("audit") +
            Policy("client-out", "",
                   "  podSelector: {matchLabels: {app: client}}\n"
                   "  policyTypes: [Egress]\n"
                   "  egress: [{to: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 80}]}]"));
  const auto d = c.Decide("10.9.0.2", "10.9.1.1", kTCP, 80);
  EXPECT_EQ(Describe(c, d.egress, false), "allowed none");
  EXPECT_EQ(Describe(c, d.audit_egress, true), "denied default-deny [shop/client-out(audit)]");
  EXPECT_TRUE(d.allowed());
  EXPECT_FALSE(d.audit_allowed());
}

TEST(AuditTest, AnUnknownEnforcementValueIsRejectedNamingTheAnnotation) {
  k8s::LoadResult r;
  k8s::LoadManifestText(Base("observe") + Policy("web-in", "off", kWebFromClientOn80), "audit.yaml", &r);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].str(),
            "audit.yaml (document 1): Namespace \"shop\" is invalid: metadata.annotations[netfence.io/enforcement]: "
            "Unsupported value: \"observe\": supported values: \"audit\", \"enforce\"");
  EXPECT_EQ(r.errors[1].str(),
            "audit.yaml (document 6): NetworkPolicy \"shop/web-in\" is invalid: "
            "metadata.annotations[netfence.io/enforcement]: Unsupported value: \"off\": supported values: \"audit\", "
            "\"enforce\"");
  // The valid objects (pods, the other namespace) still load.
  EXPECT_EQ(r.state.pods.size(), 3u);
}

}  // namespace
}  // namespace netfence::testing
