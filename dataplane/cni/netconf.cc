// SPDX-License-Identifier: Apache-2.0
#include "dataplane/cni/netconf.h"

#include <sys/un.h>

#include <algorithm>
#include <cstdint>

#include "common/base/ip.h"
#include "dataplane/cni/cni_args.h"

namespace netfence::cni {
namespace {

using json = nlohmann::json;

// A SAX consumer that accepts any JSON no deeper than kMaxJsonDepth and keeps the parser's
// error message (json::parse without exceptions only says "discarded").
class JsonChecker {
 public:
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return Enter(); }
  bool key(json::string_t&) { return true; }
  bool end_object() { return Leave(); }
  bool start_array(std::size_t) { return Enter(); }
  bool end_array() { return Leave(); }
  bool parse_error(std::size_t, const std::string&, const json::exception& e) {
    error_ = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, ...": keep what follows the tag.
    if (size_t tag = error_.find("] "); error_.rfind("[json.exception.", 0) == 0 && tag != std::string::npos) {
      error_ = error_.substr(tag + 2);
    }
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool Enter() {
    if (++depth_ <= kMaxJsonDepth) return true;
    error_ = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  bool Leave() {
    --depth_;
    return true;
  }

  int depth_ = 0;
  std::string error_;
};

CniError InvalidConfig(std::string msg, std::string details = "") {
  return CniError{agent::kCniInvalidConfig, std::move(msg), std::move(details)};
}

// The member `key` of object `j` unless it is absent or null.
const json* Member(const json& j, const std::string& key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

// A required non-empty string member; the error names `field` (its path in the configuration).
std::optional<CniError> RequiredString(const json& j, const std::string& key, const std::string& field,
                                       std::string* out) {
  const json* v = Member(j, key);
  if (v == nullptr) return InvalidConfig("missing field '" + field + "'");
  if (!v->is_string() || v->get_ref<const std::string&>().empty()) {
    return InvalidConfig("field '" + field + "' must be a non-empty string");
  }
  *out = v->get<std::string>();
  return std::nullopt;
}

std::string SupportedList() {
  std::string list;
  for (std::string_view v : kSupportedVersions) list += (list.empty() ? "" : ", ") + std::string(v);
  return list;
}

std::optional<CniError> ParseInterfaces(const json& prev, PrevResult* out) {
  const json* interfaces = Member(prev, "interfaces");
  if (interfaces == nullptr) return std::nullopt;
  if (!interfaces->is_array()) return InvalidConfig("field 'prevResult.interfaces' must be an array");
  for (size_t i = 0; i < interfaces->size(); ++i) {
    const json& iface = (*interfaces)[i];
    std::string field = "prevResult.interfaces[" + std::to_string(i) + "]";
    if (!iface.is_object()) return InvalidConfig("field '" + field + "' must be an object");
    std::string name;
    if (auto e = RequiredString(iface, "name", field + ".name", &name)) return e;
    const json* sandbox = Member(iface, "sandbox");
    if (sandbox != nullptr && !sandbox->is_string()) {
      return InvalidConfig("field '" + field + ".sandbox' must be a string");
    }
    if (sandbox != nullptr && !sandbox->get_ref<const std::string&>().empty()) continue;  // in the pod
    if (Status s = ValidateInterfaceName(name); !s.ok()) {
      return InvalidConfig("field '" + field + ".name': " + s.message(), name);
    }
    if (std::find(out->host_interfaces.begin(), out->host_interfaces.end(), name) == out->host_interfaces.end()) {
      out->host_interfaces.push_back(std::move(name));
    }
  }
  return std::nullopt;
}

std::optional<CniError> ParseIps(const json& prev, PrevResult* out) {
  const json* ips = Member(prev, "ips");
  if (ips == nullptr) return std::nullopt;
  if (!ips->is_array()) return InvalidConfig("field 'prevResult.ips' must be an array");
  for (size_t i = 0; i < ips->size(); ++i) {
    const json& ip = (*ips)[i];
    std::string field = "prevResult.ips[" + std::to_string(i) + "]";
    if (!ip.is_object()) return InvalidConfig("field '" + field + "' must be an object");
    std::string address;
    if (auto e = RequiredString(ip, "address", field + ".address", &address)) return e;
    // "version" (0.3.x/0.4.0 only), "gateway" and "interface" are not needed: not checked.
    if (address.find('/') == std::string::npos || !IpPrefix::Parse(address)) {
      return InvalidConfig(
          "field '" + field + ".address' must be an address with its prefix length, not '" + address + "'", address);
    }
    out->ips.push_back(std::move(address));
  }
  return std::nullopt;
}

}  // namespace

bool IsSupportedVersion(std::string_view version) {
  return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), version) != kSupportedVersions.end();
}

bool VersionAtLeast(std::string_view version, std::string_view min) {
  auto v = std::find(kSupportedVersions.begin(), kSupportedVersions.end(), version);
  auto m = std::find(kSupportedVersions.begin(), kSupportedVersions.end(), min);
  return v != kSupportedVersions.end() && m != kSupportedVersions.end() && v >= m;
}

StatusOr<json> ParseJson(std::string_view text) {
  JsonChecker checker;
  if (!json::sax_parse(text.begin(), text.end(), &checker)) {
    return Status::Error(checker.error().empty() ? "malformed JSON" : checker.error());
  }
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Error("malformed JSON");
  return j;
}

const json* NetConf::prev_result() const { return raw.is_object() ? Member(raw, "prevResult") : nullptr; }

std::optional<CniError> ParseNetConf(std::string_view text, NetConf* conf) {
  auto parsed = ParseJson(text);
  if (!parsed.ok()) {
    return CniError{agent::kCniDecodeFailure, "decoding the network configuration: " + parsed.status().message(), ""};
  }
  if (!parsed->is_object()) {
    return CniError{agent::kCniDecodeFailure, "the network configuration must be a JSON object", ""};
  }
  conf->raw = std::move(*parsed);
  const json& j = conf->raw;

  const json* version = Member(j, "cniVersion");
  if (version != nullptr && !version->is_string()) return InvalidConfig("field 'cniVersion' must be a string");
  if (version != nullptr) conf->cni_version = version->get<std::string>();
  if (auto e = RequiredString(j, "name", "name", &conf->name)) return e;
  if (Status s = ValidateContainerId(conf->name); !s.ok()) {  // libcni: the same rule for both
    return InvalidConfig("invalid characters found in network name '" + conf->name + "' (field 'name')", conf->name);
  }
  if (auto e = RequiredString(j, "type", "type", &conf->type)) return e;
  if (version == nullptr || !IsSupportedVersion(conf->cni_version)) {
    std::string what = version == nullptr ? "the configuration has no cniVersion (which means 0.1.0)"
                                          : "the configuration's cniVersion is \"" + conf->cni_version + "\"";
    return CniError{agent::kCniIncompatibleVersion,
                    "incompatible CNI versions: " + what + "; netfence supports " + SupportedList(),
                    "supported versions: " + SupportedList()};
  }

  if (const json* socket = Member(j, "socket")) {
    if (!socket->is_string() || socket->get_ref<const std::string&>().empty()) {
      return InvalidConfig("field 'socket' must be a non-empty string (the netfence agent's unix socket)");
    }
    conf->socket = socket->get<std::string>();
    if (conf->socket.size() >= sizeof(sockaddr_un::sun_path)) {
      return InvalidConfig("field 'socket' is longer than a unix socket path may be (" +
                               std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes)",
                           conf->socket);
    }
  }
  if (const json* timeout = Member(j, "timeoutSeconds")) {
    bool in_range = false;
    if (timeout->is_number_unsigned()) {
      in_range = timeout->get<uint64_t>() >= 1 && timeout->get<uint64_t>() <= kMaxTimeoutSeconds;
    } else if (timeout->is_number_integer()) {
      in_range = timeout->get<int64_t>() >= 1 && timeout->get<int64_t>() <= kMaxTimeoutSeconds;
    }
    if (!in_range) {
      return InvalidConfig("field 'timeoutSeconds' must be an integer from 1 to " + std::to_string(kMaxTimeoutSeconds),
                           timeout->dump(-1, ' ', false, json::error_handler_t::replace));
    }
    conf->timeout_seconds = timeout->get<int>();
  }
  if (const json* prev = Member(j, "prevResult"); prev != nullptr && !prev->is_object()) {
    return InvalidConfig("field 'prevResult' must be an object");
  }
  return std::nullopt;
}

std::optional<CniError> ParsePrevResult(const json& prev_result, PrevResult* out) {
  if (!prev_result.is_object()) return InvalidConfig("field 'prevResult' must be an object");
  if (auto e = ParseInterfaces(prev_result, out)) return e;
  return ParseIps(prev_result, out);
}

std::vector<std::string> HostInterfacesOf(const json& prev_result) {
  std::vector<std::string> out;
  const json* interfaces = prev_result.is_object() ? Member(prev_result, "interfaces") : nullptr;
  if (interfaces == nullptr || !interfaces->is_array()) return out;
  for (const json& i : *interfaces) {
    if (!i.is_object()) continue;
    const json* name = Member(i, "name");
    const json* sandbox = Member(i, "sandbox");
    const bool in_sandbox = sandbox != nullptr && !(sandbox->is_string() && sandbox->get<std::string>().empty());
    if (name != nullptr && name->is_string() && !in_sandbox) out.push_back(name->get<std::string>());
  }
  return out;
}

std::optional<CniError> ParseValidAttachments(const json& conf, std::vector<agent::Attachment>* out) {
  if (!conf.is_object()) return std::nullopt;
  std::string key = "cni.dev/valid-attachments";
  const json* list = Member(conf, key);
  if (list == nullptr) {
    key = "cni.dev/attachments";
    list = Member(conf, key);
  }
  if (list == nullptr) return std::nullopt;
  if (!list->is_array()) return InvalidConfig("field '" + key + "' must be an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const json& entry = (*list)[i];
    std::string field = key + "[" + std::to_string(i) + "]";
    if (!entry.is_object()) return InvalidConfig("field '" + field + "' must be an object");
    agent::Attachment a;
    if (auto e = RequiredString(entry, "containerID", field + ".containerID", &a.container_id)) return e;
    if (auto e = RequiredString(entry, "ifname", field + ".ifname", &a.ifname)) return e;
    out->push_back(std::move(a));
  }
  return std::nullopt;
}

}  // namespace netfence::cni
