// SPDX-License-Identifier: Apache-2.0
// The CNI_* environment variables: CNI_ARGS parsing and the checks libcni's skel applies to
// CNI_CONTAINERID and CNI_IFNAME (pkg/utils: ValidateContainerID, ValidateInterfaceName).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace netfence::cni {

// Parses CNI_ARGS, "KEY=VALUE;KEY=VALUE". Empty segments are skipped, a value may itself contain
// '=', the last of repeated keys wins. Unknown keys are kept (containerd sets IgnoreUnknown=1 and
// sends keys we do not use). An error names the malformed pair.
StatusOr<std::map<std::string, std::string>> ParseCniArgs(std::string_view text);

// libcni's rule for container ids: `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`. The error says why.
Status ValidateContainerId(std::string_view id);
// libcni's (and the kernel's) rule for interface names: 1-15 bytes, not "." or "..", no '/', ':'
// or whitespace.
Status ValidateInterfaceName(std::string_view name);

// Whether `text` is well-formed UTF-8 (JSON strings must be; nlohmann refuses to dump others).
bool IsValidUtf8(std::string_view text);

}  // namespace netfence::cni
