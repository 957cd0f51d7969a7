// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness: one line of a flow log as `netfencectl flows` reads it (a file from
// anywhere). What parses must write back to a line that parses and writes back the same. Nothing
// may crash or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/flowlog/flow_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto record = netfence::flowlog::ParseRecord(line);
  if (!record.ok()) return 0;
  const std::string again = netfence::flowlog::ToJson(*record);
  auto reparsed = netfence::flowlog::ParseRecord(again);
  if (!reparsed.ok()) __builtin_trap();
  if (netfence::flowlog::ToJson(*reparsed) != again) __builtin_trap();
  return 0;
}
