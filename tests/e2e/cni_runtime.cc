// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/cni_runtime.h"

#include <unistd.h>

#include <chrono>

namespace netfence::e2e {

using json = nlohmann::json;

CniRuntime::CniRuntime(json conflist, std::vector<std::string> plugin_dirs, std::string node_netns_path)
    : conflist_(std::move(conflist)), plugin_dirs_(std::move(plugin_dirs)),
      node_netns_path_(std::move(node_netns_path)) {}

json CniRuntime::PluginConfig(const json& plugin, const CniAttachment& a, const json& prev_result) const {
  json config = plugin;
  config["name"] = conflist_.value("name", "");
  config["cniVersion"] = conflist_.value("cniVersion", "1.0.0");
  if (plugin.contains("capabilities")) {
    json runtime = json::object();
    for (const auto& [capability, enabled] : plugin["capabilities"].items()) {
      if (enabled == true && a.runtime_config.contains(capability)) runtime[capability] = a.runtime_config[capability];
    }
    if (!runtime.empty()) config["runtimeConfig"] = runtime;
  }
  if (!prev_result.is_null()) config["prevResult"] = prev_result;
  return config;
}

std::map<std::string, std::string> CniRuntime::Environment(const std::string& command, const CniAttachment& a) const {
  std::string path;
  for (const std::string& d : plugin_dirs_) path += (path.empty() ? "" : ":") + d;
  return {{"CNI_COMMAND", command},
          {"CNI_CONTAINERID", a.container_id},
          {"CNI_NETNS", a.netns_path},
          {"CNI_IFNAME", a.ifname},
          {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + a.pod_namespace + ";K8S_POD_NAME=" + a.pod_name +
                           ";K8S_POD_INFRA_CONTAINER_ID=" + a.container_id},
          {"CNI_PATH", path},
          {"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
}

StatusOr<ProcessResult> CniRuntime::Invoke(const json& plugin, const std::string& command, const CniAttachment& a,
                                           const json& prev_result, const json& extra) const {
  const std::string type = plugin.value("type", "");
  std::string binary;
  for (const std::string& d : plugin_dirs_) {
    if (::access((d + "/" + type).c_str(), X_OK) == 0) {
      binary = d + "/" + type;
      break;
    }
  }
  if (binary.empty()) return Status::Error("CNI plugin '" + type + "' not found in CNI_PATH");
  json config = PluginConfig(plugin, a, prev_result);
  for (const auto& [key, value] : extra.items()) config[key] = value;
  return RunProcess({binary}, Environment(command, a), config.dump(), node_netns_path_);
}

namespace {

Status PluginError(const std::string& type, const std::string& command, const ProcessResult& r) {
  json j = json::parse(r.out, nullptr, false);
  std::string what = j.is_object() ? "code " + std::to_string(j.value("code", 0)) + ": " + j.value("msg", "") +
                                         (j.contains("details") ? " (" + j.value("details", "") + ")" : "")
                                   : r.out;
  return Status::Error("CNI " + command + " of plugin " + type + " failed (exit " + std::to_string(r.exit_code) +
                       "): " + what + (r.err.empty() ? "" : "\n" + r.err));
}

}  // namespace

StatusOr<json> CniRuntime::Add(const CniAttachment& a) {
  json result = nullptr;
  timings_.clear();
  for (const json& plugin : conflist_["plugins"]) {
    const auto start = std::chrono::steady_clock::now();
    auto r = Invoke(plugin, "ADD", a, result);
    timings_.emplace_back(plugin.value("type", ""),
                          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return PluginError(plugin.value("type", ""), "ADD", *r);
    result = json::parse(r->out, nullptr, false);
    if (result.is_discarded()) return Status::Error("CNI ADD of " + plugin.value("type", "") + ": output is not JSON");
  }
  return result;
}

Status CniRuntime::Del(const CniAttachment& a, const json& prev_result) {
  Status first_error;
  const json& plugins = conflist_["plugins"];
  for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
    auto r = Invoke(*it, "DEL", a, prev_result);
    if (!r.ok() && first_error.ok()) first_error = r.status();
    if (r.ok() && r->exit_code != 0 && first_error.ok()) first_error = PluginError(it->value("type", ""), "DEL", *r);
  }
  return first_error;
}

Status CniRuntime::Check(const CniAttachment& a, const json& prev_result) {
  for (const json& plugin : conflist_["plugins"]) {
    auto r = Invoke(plugin, "CHECK", a, prev_result);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return PluginError(plugin.value("type", ""), "CHECK", *r);
  }
  return Status::Ok();
}

}  // namespace netfence::e2e
