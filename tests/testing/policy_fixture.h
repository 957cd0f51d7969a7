// SPDX-License-Identifier: Apache-2.0
// Test helper: a cluster from YAML text, compiled, with a classifier to ask verdicts of.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/k8s/manifests.h"

namespace netfence::testing {

class Cluster {
 public:
  // Loads YAML (multi-document); fails the test on any invalid object.
  explicit Cluster(const std::string& yaml, const compiler::Options& options = {}) {
    k8s::LoadManifestText(yaml, "test.yaml", &load_);
    for (const auto& e : load_.errors) ADD_FAILURE() << e.str();
    tables_ = std::make_shared<const v1::RuleTables>(compiler::Compile(load_.state, options));
    auto c = classifier::Classifier::Load(tables_);
    EXPECT_TRUE(c.ok()) << c.status().message();
    if (c.ok()) classifier_ = *c;
  }

  const k8s::ClusterState& state() const { return load_.state; }
  const v1::RuleTables& tables() const { return *tables_; }
  const classifier::Classifier& classifier() const { return *classifier_; }

  classifier::Decision Decide(const std::string& src, const std::string& dst, uint8_t proto, uint16_t port) const {
    return classifier_->Classify({*IpAddr::Parse(src), *IpAddr::Parse(dst), proto, port});
  }
  bool Allowed(const std::string& src, const std::string& dst, uint16_t port, uint8_t proto = 6) const {
    return Decide(src, dst, proto, port).allowed();
  }
  // "ns/name#rule" of the rule that decided a direction, or "" when none did.
  std::string RuleOf(const classifier::DirectionDecision& d) const {
    if (d.outcome != classifier::Outcome::kAllowed) return "";
    const auto& dt = tables_->tables(d.table);
    const auto& p = tables_->policies(dt.rule_policy(d.rule_bit));
    return p.namespace_() + "/" + p.name() + "#" + std::to_string(dt.rule_index(d.rule_bit));
  }

 private:
  k8s::LoadResult load_;
  std::shared_ptr<const v1::RuleTables> tables_;
  std::shared_ptr<const classifier::Classifier> classifier_;
};

// A pod manifest: name, namespace, labels "k: v, k2: v2", IP, optional extra spec lines.
inline std::string PodYaml(const std::string& ns, const std::string& name, const std::string& labels,
                           const std::string& ip, const std::string& ports = "[]", bool host_network = false) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns + ", labels: {" + labels +
         "}}\nspec: {hostNetwork: " + (host_network ? "true" : "false") + ", containers: [{name: c, ports: " + ports +
         "}]}\nstatus: {podIP: \"" + ip + "\"}\n---\n";
}

inline std::string NamespaceYaml(const std::string& name, const std::string& labels) {
  return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + ", labels: {" + labels + "}}\n---\n";
}

inline std::string PolicyYaml(const std::string& ns, const std::string& name, const std::string& spec) {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nspec:\n" + spec + "\n---\n";
}

}  // namespace netfence::testing
