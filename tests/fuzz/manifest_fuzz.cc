// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness: arbitrary bytes as a YAML or JSON manifest, then compile and classify
// whatever was accepted. Nothing may crash or throw. Build with -DNETFENCE_FUZZ=ON (clang).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/k8s/manifests.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  netfence::k8s::LoadResult r;
  netfence::k8s::LoadManifestText(text, (data[0] & 1) ? "fuzz.json" : "fuzz.yaml", &r);
  for (const auto& e : r.errors) (void)e.str();
  auto tables = std::make_shared<const netfence::v1::RuleTables>(netfence::compiler::Compile(r.state));
  auto c = netfence::classifier::Classifier::Load(tables);
  if (!c.ok()) __builtin_trap();  // the compiler's output must always load
  for (const auto& pod : r.state.pods) {
    for (const auto& ip : pod.pod_ips) {
      auto a = netfence::IpAddr::Parse(ip);
      if (a) (void)(*c)->Classify({*a, *a, 6, 80});
    }
  }
  return 0;
}
