// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness: one line on the agent's CNI socket (a request) or from it (a response),
// parsed as the agent and the plugin parse them, then written back and parsed again: what is
// accepted must round-trip. Nothing may crash or throw.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base/json_depth.h"
#include "dataplane/agent/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  if (!netfence::CheckJsonDepth(line).ok()) return 0;
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  using namespace netfence::agent;
  if (auto req = RequestFromJson(j); req.ok()) {
    auto again = RequestFromJson(ToJson(*req));
    if (!again.ok() || ToJson(*again) != ToJson(*req)) __builtin_trap();
  }
  if (auto resp = ResponseFromJson(j); resp.ok()) {
    auto again = ResponseFromJson(ToJson(*resp));
    if (!again.ok() || ToJson(*again) != ToJson(*resp)) __builtin_trap();
  }
  return 0;
}
