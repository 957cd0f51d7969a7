// SPDX-License-Identifier: Apache-2.0
#include "dataplane/cni/plugin.h"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "dataplane/agent/protocol.h"
#include "dataplane/cni/cni_args.h"
#include "dataplane/cni/netconf.h"
#include "dataplane/netdev/netdev.h"

namespace netfence::cni {
namespace {

using json = nlohmann::json;

constexpr int kCniNotAvailable = 50;  // STATUS: the plugin cannot serve ADDs (spec 1.1.0)
constexpr int kCniInternal = 999;     // libcni's ErrInternal: the agent refused without a code

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string Join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string Getenv(const Env& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

void Log(std::string* log, const std::string& line) { *log += "netfence-cni: " + line + "\n"; }

struct Pod {
  std::string ns, name;
};

// One execution of the plugin: the environment, the parsed configuration and the outputs.
struct Invocation {
  std::string command, container_id, netns, ifname, args;
  NetConf conf;
  std::string* out;
  std::string* log;

  int timeout_ms() const { return conf.timeout_seconds * 1000; }
  StatusOr<agent::Response> Ask(const agent::Request& request) const {
    return agent::Call(conf.socket, request, timeout_ms());
  }
  // What the agent is asked about, for messages: "pod ns/name" or, without a pod identity,
  // "container ID".
  std::string Subject(const Pod& pod) const {
    if (!pod.ns.empty() && !pod.name.empty()) return "pod " + pod.ns + "/" + pod.name;
    return "container " + container_id;
  }
  agent::Request MakeRequest(const char* op, const Pod& pod) const {
    agent::Request r;
    r.op = op;
    r.container_id = container_id;
    r.ifname = ifname;
    r.netns = netns;
    r.pod_namespace = pod.ns;
    r.pod_name = pod.name;
    return r;
  }
};

CniError Refused(const Invocation& inv, const Pod& pod, const agent::Response& r, const std::string& suffix = "") {
  std::string details = "agent code " + std::to_string(r.code) + ", generation " + std::to_string(r.generation);
  return CniError{r.code > 0 ? r.code : kCniInternal,
                  inv.Subject(pod) + ": the netfence agent at " + inv.conf.socket + " refused " + inv.command + ": " +
                      (r.message.empty() ? "(no reason given)" : r.message) + suffix,
                  details};
}

CniError Unreachable(const Invocation& inv, const Pod& pod, const Status& why, const std::string& suffix = "") {
  return CniError{agent::kCniTryAgainLater,
                  inv.Subject(pod) + ": netfence agent unreachable at " + inv.conf.socket +
                      " (try again later): " + why.message() + suffix,
                  why.message()};
}

// The required variables of each command (libcni skel): CNI_NETNS for ADD and CHECK only.
std::optional<CniError> CheckEnv(const Env& env, const std::string& command) {
  bool attachment = command == "ADD" || command == "CHECK" || command == "DEL";
  std::vector<std::string> missing;
  if (attachment && Getenv(env, "CNI_CONTAINERID").empty()) missing.push_back("CNI_CONTAINERID");
  if ((command == "ADD" || command == "CHECK") && Getenv(env, "CNI_NETNS").empty()) missing.push_back("CNI_NETNS");
  if (attachment && Getenv(env, "CNI_IFNAME").empty()) missing.push_back("CNI_IFNAME");
  if (!missing.empty()) {
    return CniError{agent::kCniInvalidEnv,
                    "required environment variables missing for " + command + ": " + Join(missing), Join(missing)};
  }
  if (attachment) {
    std::string id = Getenv(env, "CNI_CONTAINERID");
    if (Status s = ValidateContainerId(id); !s.ok()) {
      return CniError{agent::kCniInvalidEnv, "CNI_CONTAINERID: " + s.message(), id};
    }
    std::string ifname = Getenv(env, "CNI_IFNAME");
    if (Status s = ValidateInterfaceName(ifname); !s.ok()) {
      return CniError{agent::kCniInvalidEnv, "CNI_IFNAME: " + s.message(), ifname};
    }
  }
  for (const char* name : {"CNI_NETNS", "CNI_ARGS"}) {
    if (!IsValidUtf8(Getenv(env, name))) {
      return CniError{agent::kCniInvalidEnv, std::string(name) + " is not valid UTF-8", ""};
    }
  }
  return std::nullopt;
}

// The pod's identity from CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME); code 4 when CNI_ARGS is
// malformed or, if `required`, when they are missing.
std::optional<CniError> PodFromArgs(const std::string& cni_args, bool required, Pod* pod) {
  auto args = ParseCniArgs(cni_args);
  if (!args.ok()) return CniError{agent::kCniInvalidEnv, args.status().message(), cni_args};
  if (auto it = args->find("K8S_POD_NAMESPACE"); it != args->end()) pod->ns = it->second;
  if (auto it = args->find("K8S_POD_NAME"); it != args->end()) pod->name = it->second;
  std::vector<std::string> missing;
  if (pod->ns.empty()) missing.push_back("K8S_POD_NAMESPACE");
  if (pod->name.empty()) missing.push_back("K8S_POD_NAME");
  if (required && !missing.empty()) {
    return CniError{agent::kCniInvalidEnv,
                    "CNI_ARGS lacks " + Join(missing) +
                        ": netfence needs the pod's identity (the Kubernetes container runtime sets them)",
                    cni_args};
  }
  return std::nullopt;
}

// Fail closed: sets every host-side veth of the pod down, so that it sends and receives nothing
// the fast path did not get to filter. Returns the clause that ends the error message.
std::string FailClosed(const std::vector<std::string>& host_interfaces, std::string* log) {
  std::vector<std::string> down, failed;
  for (const std::string& name : host_interfaces) {
    auto driver = netdev::Driver(name);
    if (!driver.ok()) {
      Log(log, "fail closed: skipping " + name + ": " + driver.status().message());
      continue;
    }
    if (*driver != "veth") continue;  // the bridge (cni0) is shared: never touched
    if (Status s = netdev::SetUp(name, false); s.ok()) {
      down.push_back(name);
    } else {
      failed.push_back(s.message());
    }
  }
  std::string clause;
  if (!down.empty()) {
    clause +=
        std::string("; pod's interface") + (down.size() > 1 ? "s " : " ") + Join(down) + " set down (fail closed)";
  }
  if (!failed.empty()) clause += "; could not fail closed: " + Join(failed, "; ");
  if (down.empty() && failed.empty()) clause += "; no host-side veth of the pod found to set down";
  Log(log, clause.substr(2));
  return clause;
}

std::optional<CniError> MissingPrevResult(const Invocation& inv) {
  return CniError{agent::kCniInvalidConfig,
                  "missing prevResult (" + inv.command +
                      "): netfence is a chained plugin and must come after an interface plugin such as bridge or "
                      "ptp in the conflist's \"plugins\"",
                  ""};
}

std::optional<CniError> Add(const Invocation& inv) {
  const json* prev = inv.conf.prev_result();
  if (prev == nullptr) return MissingPrevResult(inv);
  PrevResult result;
  if (auto e = ParsePrevResult(*prev, &result)) {
    // The interface plugin ran: whatever host veth it names must not stay up unfiltered.
    e->msg += FailClosed(HostInterfacesOf(*prev), inv.log);
    return e;
  }
  Pod pod;
  if (auto e = PodFromArgs(inv.args, /*required=*/true, &pod)) {
    e->msg += FailClosed(result.host_interfaces, inv.log);
    return e;
  }
  agent::Request request = inv.MakeRequest("add", pod);
  request.host_interfaces = result.host_interfaces;
  request.ips = result.ips;
  auto response = inv.Ask(request);
  if (!response.ok()) return Unreachable(inv, pod, response.status(), FailClosed(result.host_interfaces, inv.log));
  if (!response->ok) return Refused(inv, pod, *response, FailClosed(result.host_interfaces, inv.log));
  Log(inv.log, "ADD " + inv.Subject(pod) + ": enforced on " +
                   (response->host_interface.empty() ? Join(result.host_interfaces) : response->host_interface) +
                   " at generation " + std::to_string(response->generation));
  json output = *prev;  // a pass-through: every key of prevResult, in the configuration's version
  output["cniVersion"] = inv.conf.cni_version;
  *inv.out = Dump(output) + "\n";
  return std::nullopt;
}

std::optional<CniError> Del(const Invocation& inv) {
  Pod pod;
  if (auto e = PodFromArgs(inv.args, /*required=*/false, &pod)) Log(inv.log, "DEL: ignoring CNI_ARGS: " + e->msg);
  agent::Request request = inv.MakeRequest("del", pod);
  if (const json* prev = inv.conf.prev_result()) {
    PrevResult result;
    if (auto e = ParsePrevResult(*prev, &result)) {
      Log(inv.log, "DEL: ignoring prevResult: " + e->msg);
    } else {
      request.host_interfaces = result.host_interfaces;
      request.ips = result.ips;
    }
  }
  auto response = inv.Ask(request);
  if (!response.ok()) {
    // DEL must succeed (the runtime cannot wait for us); the agent applies it when it starts.
    Status journaled = agent::JournalDelete(inv.conf.socket, request);
    Log(inv.log, "DEL " + inv.Subject(pod) + ": netfence agent unreachable at " + inv.conf.socket + " (" +
                     response.status().message() + "); " +
                     (journaled.ok() ? "journaled in " + agent::DeletedJournalDir(inv.conf.socket) +
                                           ": the agent applies it when it starts"
                                     : "could not journal it (" + journaled.message() +
                                           "): the agent forgets the attachment once its veth is gone"));
    return std::nullopt;
  }
  if (!response->ok) return Refused(inv, pod, *response);
  Log(inv.log, "DEL " + inv.Subject(pod) + ": done");
  return std::nullopt;
}

std::optional<CniError> Check(const Invocation& inv) {
  const json* prev = inv.conf.prev_result();
  if (prev == nullptr) return MissingPrevResult(inv);
  PrevResult result;
  if (auto e = ParsePrevResult(*prev, &result)) return e;
  Pod pod;
  if (auto e = PodFromArgs(inv.args, /*required=*/false, &pod)) return e;
  agent::Request request = inv.MakeRequest("check", pod);
  request.host_interfaces = result.host_interfaces;
  request.ips = result.ips;
  auto response = inv.Ask(request);
  if (!response.ok()) return Unreachable(inv, pod, response.status());
  if (!response->ok) return Refused(inv, pod, *response);
  return std::nullopt;
}

std::optional<CniError> PluginStatus(const Invocation& inv) {
  agent::Request request;
  request.op = "status";
  auto response = inv.Ask(request);
  std::string reason;
  if (!response.ok()) {
    reason = "netfence agent unreachable at " + inv.conf.socket + ": " + response.status().message();
  } else if (!response->ok) {
    reason = "the netfence agent at " + inv.conf.socket +
             " is not ready: " + (response->message.empty() ? "(no reason given)" : response->message);
  } else {
    return std::nullopt;
  }
  return CniError{kCniNotAvailable, "plugin not available: " + reason, reason};
}

std::optional<CniError> Gc(const Invocation& inv) {
  agent::Request request;
  request.op = "gc";
  if (auto e = ParseValidAttachments(inv.conf.raw, &request.valid)) return e;
  auto response = inv.Ask(request);
  if (!response.ok()) return Unreachable(inv, Pod{}, response.status());
  if (!response->ok) return Refused(inv, Pod{}, *response);
  Log(inv.log, "GC: kept " + std::to_string(request.valid.size()) + " valid attachment(s)");
  return std::nullopt;
}

std::string VersionJson(std::string_view stdin_text) {
  std::string version(kLatestVersion);
  auto parsed = ParseJson(stdin_text);  // libcni sends {"cniVersion": ...}; anything else is tolerated
  if (parsed.ok() && parsed->is_object()) {
    auto it = parsed->find("cniVersion");
    if (it != parsed->end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      version = it->get<std::string>();
    }
  }
  json supported = json::array();
  for (std::string_view v : kSupportedVersions) supported.push_back(std::string(v));
  return Dump(json{{"cniVersion", version}, {"supportedVersions", supported}}) + "\n";
}

// The commands that need a configuration at least this recent (libcni skel).
std::optional<CniError> CheckCommandVersion(const Invocation& inv) {
  const char* min = inv.command == "CHECK" ? "0.4.0" : (inv.command == "GC" || inv.command == "STATUS") ? "1.1.0" : "";
  if (*min == '\0' || VersionAtLeast(inv.conf.cni_version, min)) return std::nullopt;
  return CniError{
      agent::kCniIncompatibleVersion,
      "config version " + inv.conf.cni_version + " does not allow " + inv.command + " (needs " + min + " or later)",
      ""};
}

std::optional<CniError> Run(const Env& env, std::string_view stdin_text, Invocation* inv) {
  if (inv->command == "VERSION") {
    *inv->out = VersionJson(stdin_text);
    return std::nullopt;
  }
  // Read first, reported after the environment's errors: every error then carries the
  // configuration's cniVersion when there is one.
  std::optional<CniError> conf_error = ParseNetConf(stdin_text, &inv->conf);
  if (inv->command.empty()) {
    Log(inv->log, "the netfence chained CNI plugin; CNI protocol versions supported: " +
                      Join(std::vector<std::string>(kSupportedVersions.begin(), kSupportedVersions.end())));
    return CniError{agent::kCniInvalidEnv, "required environment variables missing: CNI_COMMAND", "CNI_COMMAND"};
  }
  static const char* const kCommands[] = {"ADD", "DEL", "CHECK", "GC", "STATUS"};
  if (std::find(std::begin(kCommands), std::end(kCommands), inv->command) == std::end(kCommands)) {
    return CniError{agent::kCniInvalidEnv, "unknown CNI_COMMAND: " + inv->command, inv->command};
  }
  if (auto e = CheckEnv(env, inv->command)) return e;
  if (conf_error) return conf_error;
  if (auto e = CheckCommandVersion(*inv)) return e;
  if (inv->command == "ADD") return Add(*inv);
  if (inv->command == "DEL") return Del(*inv);
  if (inv->command == "CHECK") return Check(*inv);
  if (inv->command == "STATUS") return PluginStatus(*inv);
  return Gc(*inv);
}

}  // namespace

std::string ErrorJson(const CniError& error, std::string_view cni_version) {
  std::string version(IsSupportedVersion(cni_version) ? cni_version : kLatestVersion);
  return Dump(json{{"cniVersion", version}, {"code", error.code}, {"msg", error.msg}, {"details", error.details}}) +
         "\n";
}

int RunPlugin(const Env& env, std::string_view stdin_text, std::string* out, std::string* log) {
  out->clear();
  Invocation inv;
  inv.command = Getenv(env, "CNI_COMMAND");
  inv.container_id = Getenv(env, "CNI_CONTAINERID");
  inv.netns = Getenv(env, "CNI_NETNS");
  inv.ifname = Getenv(env, "CNI_IFNAME");
  inv.args = Getenv(env, "CNI_ARGS");
  inv.out = out;
  inv.log = log;
  std::optional<CniError> error = Run(env, stdin_text, &inv);
  if (!error) return 0;
  *out = ErrorJson(*error, inv.conf.cni_version);
  Log(log, (inv.command.empty() ? std::string("?") : inv.command) + " failed (code " + std::to_string(error->code) +
               "): " + error->msg);
  return 1;
}

}  // namespace netfence::cni
