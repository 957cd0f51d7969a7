// SPDX-License-Identifier: Apache-2.0
// Base64 (RFC 4648, standard alphabet) as kubeconfig files use it for the *-data fields.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace netfence::kube {

// Decodes standard base64. Whitespace (line breaks in wrapped PEM-in-base64) is skipped;
// padding is optional. Returns nullopt on any other character or a truncated quantum.
std::optional<std::string> DecodeBase64(std::string_view text);

std::string EncodeBase64(std::string_view bytes);

}  // namespace netfence::kube
