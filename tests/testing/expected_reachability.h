// SPDX-License-Identifier: Apache-2.0
// The hand-written truth tables of tests/conformance/scenarios/*/expected.yaml: for some
// (protocol, port), who may connect to whom among the scenario's pods. Read by the
// conformance test (through the tables) and the e2e test (through real packets).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controlplane/k8s/model.h"

namespace netfence::testing_util {

// One expected table: allowed[source][destination], indexed like `columns`.
struct ExpectedCase {
  k8s::Protocol protocol = k8s::Protocol::kTCP;
  uint16_t port = 0;
  std::vector<std::vector<bool>> allowed;
  // tests/conformance/audit: the same with the policies in audit enforced (`audited:` rows);
  // empty when the file has none (then it equals `allowed`).
  std::vector<std::vector<bool>> audited;
  std::string name() const;  // "TCP/80"
};

struct Expected {
  std::vector<std::string> columns;  // "ns/pod"
  std::vector<ExpectedCase> cases;
};

// Reads expected.yaml; returns an error text on any malformed part ("" when fine).
std::string ReadExpected(const std::string& path, Expected* out);

}  // namespace netfence::testing_util
