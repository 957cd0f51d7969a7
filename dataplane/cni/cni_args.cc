// SPDX-License-Identifier: Apache-2.0
#include "dataplane/cni/cni_args.h"

#include <cstdint>

namespace netfence::cni {

StatusOr<std::map<std::string, std::string>> ParseCniArgs(std::string_view text) {
  std::map<std::string, std::string> args;
  while (!text.empty()) {
    size_t end = text.find(';');
    std::string_view pair = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::Error("CNI_ARGS: invalid pair '" + std::string(pair) + "' (expected KEY=VALUE)");
    }
    args[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
  }
  return args;
}

Status ValidateContainerId(std::string_view id) {
  if (id.empty()) return Status::Error("missing containerID");
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum || (i > 0 && (c == '_' || c == '.' || c == '-'))) continue;
    return Status::Error("invalid characters in containerID");
  }
  return Status::Ok();
}

Status ValidateInterfaceName(std::string_view name) {
  if (name.empty()) return Status::Error("interface name is empty");
  if (name.size() > 15) return Status::Error("interface name is too long");
  if (name == "." || name == "..") return Status::Error("interface name is . or ..");
  for (char c : name) {
    if (c == '/' || c == ':' || c == ' ' || (c >= '\t' && c <= '\r')) {
      return Status::Error("interface name contains / or : or whitespace characters");
    }
  }
  return Status::Ok();
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto b = static_cast<uint8_t>(text[i]);
    size_t extra = 0;
    uint32_t min = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    }
    if ((b & 0xE0) == 0xC0) {
      extra = 1;
      min = 0x80;
      cp = b & 0x1Fu;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2;
      min = 0x800;
      cp = b & 0x0Fu;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3;
      min = 0x10000;
      cp = b & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto c = static_cast<uint8_t>(text[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace netfence::cni
