// SPDX-License-Identifier: Apache-2.0
// A minimal container runtime's CNI side (what libcni does for containerd): runs the plugins
// of a conflist in order for ADD (each gets the previous one's result as prevResult) and in
// reverse order for DEL, inside the node's network namespace, with the CNI environment and
// the capability arguments (runtimeConfig) the conflist asks for.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "tests/e2e/process.h"

namespace netfence::e2e {

struct CniAttachment {
  std::string container_id;
  std::string ifname = "eth0";
  std::string netns_path;                                    // the pod's namespace, /run/netns/NAME
  std::string pod_namespace;                                 // -> CNI_ARGS K8S_POD_NAMESPACE
  std::string pod_name;                                      // -> CNI_ARGS K8S_POD_NAME
  nlohmann::json runtime_config = nlohmann::json::object();  // capability -> value, e.g. {"ips":[..]}
};

class CniRuntime {
 public:
  // plugin_dirs: CNI_PATH; node_netns_path: where plugins run ("" = the caller's namespace).
  CniRuntime(nlohmann::json conflist, std::vector<std::string> plugin_dirs, std::string node_netns_path);

  // ADD through the chain; the last plugin's result. An error names the plugin, its CNI error
  // code and message.
  StatusOr<nlohmann::json> Add(const CniAttachment& a);
  // DEL through the chain in reverse; prev_result is ADD's result (null when unknown).
  Status Del(const CniAttachment& a, const nlohmann::json& prev_result);
  Status Check(const CniAttachment& a, const nlohmann::json& prev_result);

  // One plugin invocation, raw (tests of the plugin's own behaviour).
  // `extra` keys are merged into the plugin's configuration (e.g. cni.dev/valid-attachments).
  StatusOr<ProcessResult> Invoke(const nlohmann::json& plugin, const std::string& command, const CniAttachment& a,
                                 const nlohmann::json& prev_result,
                                 const nlohmann::json& extra = nlohmann::json::object()) const;
  const nlohmann::json& conflist() const { return conflist_; }
  // Milliseconds each plugin of the last Add() took, in chain order.
  const std::vector<std::pair<std::string, double>>& last_add_timings() const { return timings_; }

 private:
  nlohmann::json PluginConfig(const nlohmann::json& plugin, const CniAttachment& a,
                              const nlohmann::json& prev_result) const;
  std::map<std::string, std::string> Environment(const std::string& command, const CniAttachment& a) const;

  nlohmann::json conflist_;
  std::vector<std::string> plugin_dirs_;
  std::string node_netns_path_;
  std::vector<std::pair<std::string, double>> timings_;
};

}  // namespace netfence::e2e
