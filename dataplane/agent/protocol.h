// SPDX-License-Identifier: Apache-2.0
// The agent's local API: what the CNI plugin (and netfencectl, tests) ask the node agent over
// its unix socket (/run/netfence/agent.sock, mode 0600). One connection carries one request
// and one response, each a single line of JSON:
//
//   -> {"op":"add","container_id":"..","ifname":"eth0","netns":"/run/netns/x",
//       "namespace":"ns","pod":"name","host_interfaces":["veth1a2b"],"ips":["10.0.0.5/24"]}
//   <- {"ok":true,"generation":7,"host_interface":"veth1a2b","message":"..."}
//   <- {"ok":false,"code":101,"message":"pod ns/name: unknown to the tables of generation 7"}
//
// add:    bind the pod's host-side veth and make its tables live; answered only once they are.
// del:    forget the attachment (idempotent: deleting an unknown one is ok).
// check:  ok iff the attachment is registered and enforced as registered.
// status: ok iff the agent enforces tables (it has programmed a generation).
// gc:     forget every attachment not in `valid`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace netfence::agent {

inline constexpr const char* kDefaultSocket = "/run/netfence/agent.sock";

// Error codes carried to the container runtime (CNI spec: 1-99 are the spec's, 100+ ours).
enum ErrorCode : int {
  kCniIncompatibleVersion = 1,
  kCniUnsupportedField = 2,
  kCniUnknownContainer = 3,
  kCniInvalidEnv = 4,
  kCniIoFailure = 5,
  kCniDecodeFailure = 6,
  kCniInvalidConfig = 7,
  kCniTryAgainLater = 11,
  kAgentUnreachable = 100,   // no agent answered on the socket
  kUnknownPod = 101,         // the pod is in no table the agent has
  kNoHostInterface = 102,    // no host-side veth found for the pod
  kProgrammingFailed = 103,  // the fast path refused the tables or the attachment
  kNotEnforced = 104,        // check: the attachment is not (or no longer) enforced
  kBadRequest = 105,
};

struct Attachment {
  std::string container_id;
  std::string ifname;
  bool operator==(const Attachment&) const = default;
};

struct Request {
  std::string op;  // add | del | check | status | gc
  std::string container_id;
  std::string ifname;
  std::string netns;
  std::string pod_namespace;
  std::string pod_name;
  std::vector<std::string> host_interfaces;  // prevResult interfaces without "sandbox"
  std::vector<std::string> ips;              // prevResult ips, "address/prefix"
  std::vector<Attachment> valid;             // gc: attachments to keep
};

struct Response {
  bool ok = false;
  int code = 0;  // ErrorCode when !ok
  std::string message;
  uint64_t generation = 0;     // the live generation when answering
  std::string host_interface;  // add/check: the interface bound
};

nlohmann::json ToJson(const Request& request);
nlohmann::json ToJson(const Response& response);
// Errors name the field that is missing or of the wrong type.
StatusOr<Request> RequestFromJson(const nlohmann::json& j);
StatusOr<Response> ResponseFromJson(const nlohmann::json& j);

// Sends one request on the unix socket and waits for the response (connect, write and read
// bounded by timeout_ms in total). An error says why no response came (no agent listening,
// timeout, malformed answer); a refusal by the agent is a Response with ok=false.
StatusOr<Response> Call(const std::string& socket_path, const Request& request, int timeout_ms);

// DELs the agent could not take (it was down): the plugin writes each into this directory
// beside the socket (one file per attachment, the request as JSON) and succeeds, as the CNI
// spec asks of DEL; the agent applies them when it starts.
std::string DeletedJournalDir(const std::string& socket_path);
Status JournalDelete(const std::string& socket_path, const Request& del);
// The journaled DELs (malformed files are skipped and named in *errors), and their files.
struct JournaledDelete {
  std::string path;
  Request request;
};
std::vector<JournaledDelete> ReadJournaledDeletes(const std::string& dir, std::vector<std::string>* errors);

}  // namespace netfence::agent
