// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/registry.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace netfence::agent {

using json = nlohmann::json;

Status Registry::Load() {
  records_.clear();
  std::ifstream in(path_);
  if (!in) return errno == ENOENT ? Status::Ok() : Status::Error(path_ + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("endpoints") || !j["endpoints"].is_array()) {
    return Status::Error(path_ + ": not an endpoint registry (expected {\"endpoints\":[...]})");
  }
  for (const json& e : j["endpoints"]) {
    EndpointRecord r;
    if (!e.is_object()) return Status::Error(path_ + ": an endpoint is not an object");
    r.attachment.container_id = e.value("container_id", "");
    r.attachment.ifname = e.value("ifname", "");
    r.netns = e.value("netns", "");
    r.pod_namespace = e.value("namespace", "");
    r.pod_name = e.value("pod", "");
    r.host_interface = e.value("host_interface", "");
    r.ifindex = e.value("ifindex", 0);
    for (const json& ip : e.value("ips", json::array())) {
      auto addr = ip.is_string() ? IpAddr::Parse(ip.get<std::string>()) : std::nullopt;
      if (!addr) return Status::Error(path_ + ": endpoint " + r.pod_key() + ": bad address " + ip.dump());
      r.ips.push_back(*addr);
    }
    if (r.attachment.container_id.empty() || r.host_interface.empty()) {
      return Status::Error(path_ + ": endpoint " + r.pod_key() + " lacks container_id or host_interface");
    }
    Put(std::move(r));
  }
  return Status::Ok();
}

Status Registry::Save() const {
  json list = json::array();
  for (const auto& [key, r] : records_) {
    json ips = json::array();
    for (const IpAddr& ip : r.ips) ips.push_back(ip.str());
    list.push_back({{"container_id", r.attachment.container_id},
                    {"ifname", r.attachment.ifname},
                    {"netns", r.netns},
                    {"namespace", r.pod_namespace},
                    {"pod", r.pod_name},
                    {"host_interface", r.host_interface},
                    {"ifindex", r.ifindex},
                    {"ips", ips}});
  }
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json{{"endpoints", list}}.dump(1, ' ', false, json::error_handler_t::replace) << "\n";
    out.flush();
    if (!out) return Status::Error(tmp + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) return Status::Error(path_ + ": " + std::strerror(errno));
  return Status::Ok();
}

const EndpointRecord* Registry::Find(const Attachment& a) const {
  auto it = records_.find(Key(a));
  return it == records_.end() ? nullptr : &it->second;
}

void Registry::Put(EndpointRecord record) {
  std::string key = Key(record.attachment);
  records_[key] = std::move(record);
}

bool Registry::Remove(const Attachment& a) { return records_.erase(Key(a)) > 0; }

}  // namespace netfence::agent
