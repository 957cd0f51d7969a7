// SPDX-License-Identifier: Apache-2.0
// A bound on how deeply JSON from outside may nest, checked on the text before it is parsed.
// nlohmann::json parses deep nesting without recursion, but dumping, copying or walking the
// result recurses once per level: `[[[[...` a megabyte deep would overflow the stack of
// whoever prints it in an error message. Every parser of untrusted JSON (the CNI plugin's
// stdin, the agent's socket, Kubernetes API bodies, manifests, flow-log lines) checks first.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/base/status.h"

namespace netfence {

// Deeper than any Kubernetes object, CNI configuration or flow record nests.
inline constexpr size_t kMaxJsonDepth = 100;

// OK unless arrays and objects in `text` (outside strings) nest deeper than `max_depth`.
// Malformed text is not judged here (the parser says what is wrong with it).
Status CheckJsonDepth(std::string_view text, size_t max_depth = kMaxJsonDepth);

}  // namespace netfence
