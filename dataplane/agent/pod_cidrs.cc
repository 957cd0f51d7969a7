// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/pod_cidrs.h"

#include "common/base/json_depth.h"

#include <nlohmann/json.hpp>

#include "common/base/files.h"

namespace netfence::agent {

using json = nlohmann::json;

StatusOr<IpPrefix> ParsePodCidr(const std::string& text) {
  const size_t slash = text.find('/');
  auto p = IpPrefix::Parse(text);
  auto addr = slash == std::string::npos ? std::nullopt : IpAddr::Parse(text.substr(0, slash));
  if (!p || !addr) return Status::Error("'" + text + "' is not a CIDR (such as 10.244.1.0/24 or fd00:10:244:1::/64)");
  if (*addr != p->addr) return Status::Error("'" + text + "' has host bits set: " + p->str() + " is meant?");
  return *p;
}

StatusOr<std::vector<IpPrefix>> PodCidrsOfCniConfig(const std::string& path) {
  auto text = ReadWholeFile(path, "CNI configuration");
  if (!text.ok()) return text.status();
  if (Status depth = CheckJsonDepth(*text); !depth.ok())
    return Status::Error("CNI configuration " + path + ": " + depth.message());
  const json conf = json::parse(*text, nullptr, false);
  if (conf.is_discarded() || !conf.is_object())
    return Status::Error("CNI configuration " + path + ": not a JSON object");
  const json plugins = conf.contains("plugins") ? conf["plugins"] : json::array({conf});
  if (!plugins.is_array()) return Status::Error("CNI configuration " + path + ": plugins: not a list");
  std::vector<IpPrefix> out;
  auto add = [&](const json& subnet, const std::string& field) -> Status {
    if (!subnet.is_string()) return Status::Error("CNI configuration " + path + ": " + field + ": not a string");
    auto p = ParsePodCidr(subnet.get<std::string>());
    if (!p.ok()) return Status::Error("CNI configuration " + path + ": " + field + ": " + p.status().message());
    out.push_back(*p);
    return Status::Ok();
  };
  for (size_t i = 0; i < plugins.size(); ++i) {
    const json& ipam = plugins[i].is_object() ? plugins[i].value("ipam", json::object()) : json::object();
    if (!ipam.is_object() || ipam.value("type", "") != "host-local") continue;
    const std::string at = "plugins[" + std::to_string(i) + "].ipam";
    if (ipam.contains("subnet")) {
      if (Status s = add(ipam["subnet"], at + ".subnet"); !s.ok()) return s;
    }
    const json ranges = ipam.value("ranges", json::array());
    for (size_t r = 0; r < ranges.size(); ++r) {
      for (size_t k = 0; ranges[r].is_array() && k < ranges[r].size(); ++k) {
        const std::string field = at + ".ranges[" + std::to_string(r) + "][" + std::to_string(k) + "].subnet";
        if (Status s = add(ranges[r][k].value("subnet", json()), field); !s.ok()) return s;
      }
    }
  }
  if (out.empty()) return Status::Error("CNI configuration " + path + ": no host-local subnet in it");
  return out;
}

}  // namespace netfence::agent
