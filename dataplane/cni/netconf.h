// SPDX-License-Identifier: Apache-2.0
// The network configuration a CNI runtime writes on the plugin's stdin, and the prevResult it
// carries in a chain. Parsing never throws; every error is a CniError with the spec's code and a
// message naming the offending field.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "dataplane/agent/protocol.h"

namespace netfence::cni {

// An error result: printed as {"cniVersion","code","msg","details"} on stdout, exit status 1.
struct CniError {
  int code = 0;
  std::string msg;
  std::string details;
};

// Oldest first: the order VersionAtLeast relies on.
inline constexpr std::array<std::string_view, 5> kSupportedVersions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
inline constexpr std::string_view kLatestVersion = "1.1.0";
bool IsSupportedVersion(std::string_view version);
// Whether supported `version` is `min` or newer (false when either is not supported).
bool VersionAtLeast(std::string_view version, std::string_view min);

// Deeper JSON is refused (a configuration is a handful of levels deep; copying and printing
// JSON recurse once per level).
inline constexpr int kMaxJsonDepth = 128;
// Parses JSON text; the error says where and why it is malformed.
StatusOr<nlohmann::json> ParseJson(std::string_view text);

// More than the agent's ADD timeout (20 s): the agent answers (ok, or why not) before the plugin
// gives up, so an ADD that succeeds late is never reported as a failure.
inline constexpr int kDefaultTimeoutSeconds = 30;
inline constexpr int kMaxTimeoutSeconds = 3600;

struct NetConf {
  std::string cni_version;
  std::string name;
  std::string type;
  std::string socket = agent::kDefaultSocket;    // "socket": the node agent's unix socket
  int timeout_seconds = kDefaultTimeoutSeconds;  // "timeoutSeconds": bound on each agent call
  nlohmann::json raw;                            // the whole configuration, as given

  // The "prevResult" object, or nullptr when there is none (absent or null).
  const nlohmann::json* prev_result() const;
};

// Parses and checks the configuration: 6 when it is not a JSON object; 7 naming the field when
// "name", "type" or one of our keys is missing or of the wrong type; 1 when "cniVersion" is not
// one we support (an absent cniVersion means "0.1.0", as in libcni). Unknown keys are ignored and
// "prevResult" is only checked to be an object (see ParsePrevResult). On error, *conf holds what
// was read so far (cni_version in particular, when it was a string).
std::optional<CniError> ParseNetConf(std::string_view text, NetConf* conf);

// What netfence needs of a previous plugin's result. The parser is version-tolerant: results of
// 0.3.x/0.4.0 (ips[].version) and 1.x (no version) are read the same way.
struct PrevResult {
  std::vector<std::string> host_interfaces;  // interfaces[] with no (or an empty) "sandbox"
  std::vector<std::string> ips;              // ips[].address, "10.0.0.5/24"
};
// Code 7 naming the field (e.g. "prevResult.ips[1].address") when the result is malformed.
std::optional<CniError> ParsePrevResult(const nlohmann::json& prev_result, PrevResult* out);
// The host-side interface names of a prevResult however malformed the rest of it is (every
// interfaces[] entry with a string name and no sandbox): what ADD sets down when it fails
// because prevResult could not be read.
std::vector<std::string> HostInterfacesOf(const nlohmann::json& prev_result);

// GC's still-valid attachments: "cni.dev/valid-attachments" (spec 1.1.0), else the older
// "cni.dev/attachments"; absent or null is an empty list (libcni omits an empty one).
// Code 7 naming the field when malformed.
std::optional<CniError> ParseValidAttachments(const nlohmann::json& conf, std::vector<agent::Attachment>* out);

}  // namespace netfence::cni
