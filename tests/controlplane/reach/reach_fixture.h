// SPDX-License-Identifier: Apache-2.0
// The reach tests' small cluster and change helpers: namespaces a and b; a/web serves TCP/80,
// a/client and b/other declare no ports; kWebIn admits only a/client into a/web on TCP/80.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/k8s/manifests.h"
#include "controlplane/reach/diff.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::reach::testing {

inline k8s::ClusterState Load(const std::string& yaml) {
  k8s::LoadResult r;
  k8s::LoadManifestText(yaml, "test.yaml", &r);
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.state;
}

inline const char* kWebPorts = "[{containerPort: 80, protocol: TCP}]";
inline std::string Base() {
  using netfence::testing::NamespaceYaml;
  using netfence::testing::PodYaml;
  return NamespaceYaml("a", "team: a") + NamespaceYaml("b", "team: b") +
         PodYaml("a", "web", "app: web", "10.9.0.1", kWebPorts) + PodYaml("a", "client", "app: client", "10.9.0.2") +
         PodYaml("b", "other", "app: other", "10.9.1.1");
}
inline const std::string kWebIn = netfence::testing::PolicyYaml(
    "a", "web-in",
    "  podSelector: {matchLabels: {app: web}}\n  ingress:\n"
    "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
    "    ports: [{protocol: TCP, port: 80}]");

// One state compiled, with its classifier.
struct Compiled {
  std::shared_ptr<const v1::RuleTables> tables;
  std::shared_ptr<const classifier::Classifier> classifier;
};
inline Compiled CompileState(const k8s::ClusterState& s) {
  Compiled c;
  c.tables = std::make_shared<const v1::RuleTables>(compiler::Compile(s));
  auto loaded = classifier::Classifier::Load(c.tables);
  EXPECT_TRUE(loaded.ok()) << loaded.status().message();
  if (loaded.ok()) c.classifier = *loaded;
  return c;
}

// `before` with the change applied (the test fails if it does not apply).
inline k8s::ClusterState After(const k8s::ClusterState& before, const Change& change) {
  k8s::ClusterState after = before;
  Status s = ApplyChange(change, &after);
  EXPECT_TRUE(s.ok()) << s.message();
  return after;
}

}  // namespace netfence::reach::testing
