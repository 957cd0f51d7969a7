// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness: what the controller sends an agent. Arbitrary bytes as a NodeUpdate,
// applied to a node view as the agent applies it, assembled into RuleTables, then loaded by
// the classifier and translated into XDP map entries, both of which must refuse what is
// malformed rather than index past anything; what both accept is classified. Nothing may
// crash, and the classifier and the map translation must agree on what is acceptable.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/classifier/classifier.h"
#include "common/tables/table_set.h"
#include "dataplane/xdp/map_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  netfence::v1::NodeUpdate update;
  if (!update.ParseFromArray(data, static_cast<int>(size))) return 0;
  update.set_snapshot(true);
  netfence::tables::TableSet view;
  if (!netfence::tables::ApplyUpdate(update, 0, &view).ok()) return 0;
  auto tables = std::make_shared<const netfence::v1::RuleTables>(netfence::tables::Assemble(view, 1, {}, true));
  auto classifier = netfence::classifier::Classifier::Load(tables);
  auto entries = netfence::xdp::BuildMapEntries(*tables);
  if (classifier.ok() != entries.ok()) __builtin_trap();  // one rule for what a fast path may load
  if (!classifier.ok()) return 0;
  for (const auto& e : tables->endpoints()) {
    for (const auto& ip : e.ips()) {
      auto a = netfence::tables::AddrFromBytes(ip);
      if (!a) continue;
      for (uint8_t proto : {6, 17, 132, 1}) (void)(*classifier)->Classify({*a, *a, proto, 80});
    }
  }
  return 0;
}
