// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/protocol.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/base/files.h"
#include "common/base/json_depth.h"
#include "common/base/unique_fd.h"

namespace netfence::agent {
namespace {

using json = nlohmann::json;

// Reads `key` of `j` into `out` when present; wrong types are errors naming the key.
Status Get(const json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return Status::Error(std::string("field '") + key + "' must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status Get(const json& j, const char* key, std::vector<std::string>* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Status::Error(std::string("field '") + key + "' must be an array of strings");
  for (const json& v : *it) {
    if (!v.is_string()) return Status::Error(std::string("field '") + key + "' must be an array of strings");
    out->push_back(v.get<std::string>());
  }
  return Status::Ok();
}

}  // namespace

json ToJson(const Request& r) {
  json j = {{"op", r.op}};
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  put("container_id", r.container_id);
  put("ifname", r.ifname);
  put("netns", r.netns);
  put("namespace", r.pod_namespace);
  put("pod", r.pod_name);
  if (!r.host_interfaces.empty()) j["host_interfaces"] = r.host_interfaces;
  if (!r.ips.empty()) j["ips"] = r.ips;
  if (r.op == "gc") {
    j["valid"] = json::array();
    for (const Attachment& a : r.valid) j["valid"].push_back({{"container_id", a.container_id}, {"ifname", a.ifname}});
  }
  return j;
}

json ToJson(const Response& r) {
  json j = {{"ok", r.ok}, {"generation", r.generation}};
  if (!r.ok) j["code"] = r.code;
  if (!r.message.empty()) j["message"] = r.message;
  if (!r.host_interface.empty()) j["host_interface"] = r.host_interface;
  return j;
}

StatusOr<Request> RequestFromJson(const json& j) {
  if (!j.is_object()) return Status::Error("a request must be a JSON object");
  Request r;
  for (Status s : {Get(j, "op", &r.op), Get(j, "container_id", &r.container_id), Get(j, "ifname", &r.ifname),
                   Get(j, "netns", &r.netns), Get(j, "namespace", &r.pod_namespace), Get(j, "pod", &r.pod_name),
                   Get(j, "host_interfaces", &r.host_interfaces), Get(j, "ips", &r.ips)}) {
    if (!s.ok()) return s;
  }
  if (r.op.empty()) return Status::Error("field 'op' is required");
  if (auto it = j.find("valid"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Status::Error("field 'valid' must be an array");
    for (const json& v : *it) {
      if (!v.is_object()) return Status::Error("field 'valid' must hold objects");
      Attachment a;
      if (Status s = Get(v, "container_id", &a.container_id); !s.ok()) return s;
      if (Status s = Get(v, "ifname", &a.ifname); !s.ok()) return s;
      r.valid.push_back(std::move(a));
    }
  }
  return r;
}

StatusOr<Response> ResponseFromJson(const json& j) {
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) {
    return Status::Error("a response must be a JSON object with a boolean 'ok'");
  }
  Response r;
  r.ok = j["ok"].get<bool>();
  if (auto it = j.find("code"); it != j.end() && it->is_number_integer()) r.code = it->get<int>();
  if (auto it = j.find("generation"); it != j.end() && it->is_number_unsigned()) r.generation = it->get<uint64_t>();
  if (Status s = Get(j, "message", &r.message); !s.ok()) return s;
  if (Status s = Get(j, "host_interface", &r.host_interface); !s.ok()) return s;
  return r;
}

StatusOr<Response> Call(const std::string& socket_path, const Request& request, int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto remaining = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(left < 0 ? 0 : left);
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) return Status::Error("socket path too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Status::Error(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
    return Status::Error("no netfence agent at " + socket_path + ": " + std::strerror(errno));
  }
  std::string out = ToJson(request).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  size_t sent = 0;
  std::string in;
  while (true) {
    pollfd p{fd.get(), static_cast<short>(sent < out.size() ? POLLOUT : POLLIN), 0};
    int n = ::poll(&p, 1, remaining());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::Error("the netfence agent at " + socket_path + " did not answer within " +
                           std::to_string(timeout_ms) + " ms");
    }
    if (sent < out.size()) {
      ssize_t w = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        return Status::Error("writing to the netfence agent at " + socket_path + ": " + std::strerror(errno));
      }
      if (w > 0) sent += static_cast<size_t>(w);
      continue;
    }
    char buf[4096];
    ssize_t r = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r < 0) return Status::Error("reading from the netfence agent at " + socket_path + ": " + std::strerror(errno));
    if (r > 0) in.append(buf, static_cast<size_t>(r));
    size_t eol = in.find('\n');
    if (eol == std::string::npos && r > 0) {
      if (in.size() > (1u << 20)) return Status::Error("the netfence agent's answer is too long");
      continue;
    }
    if (eol == std::string::npos) {
      return Status::Error("the netfence agent at " + socket_path + " closed the connection without answering");
    }
    if (Status depth = CheckJsonDepth(std::string_view(in).substr(0, eol)); !depth.ok()) {
      return Status::Error("the netfence agent's answer: " + depth.message());
    }
    json j = json::parse(in.substr(0, eol), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::Error("the netfence agent's answer is not JSON: " + in.substr(0, eol));
    return ResponseFromJson(j);
  }
}

std::string DeletedJournalDir(const std::string& socket_path) {
  return std::filesystem::path(socket_path).parent_path().string() + "/deleted";
}

Status JournalDelete(const std::string& socket_path, const Request& del) {
  const std::string dir = DeletedJournalDir(socket_path);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Error("journal " + dir + ": " + ec.message());
  // Container ids and interface names are validated by the plugin (no '/').
  return WriteFileAtomically(dir + "/" + del.container_id + "." + del.ifname, ToJson(del).dump() + "\n");
}

std::vector<JournaledDelete> ReadJournaledDeletes(const std::string& dir, std::vector<std::string>* errors) {
  std::vector<JournaledDelete> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().filename().string().starts_with(".")) continue;
    const std::string path = entry.path().string();
    auto text = ReadWholeFile(path, "journaled DEL");
    StatusOr<Request> request = Status::Error("unreadable");
    if (text.ok() && CheckJsonDepth(*text).ok()) {
      json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
      request = j.is_discarded() ? StatusOr<Request>(Status::Error("not JSON")) : RequestFromJson(j);
    } else if (!text.ok()) {
      request = text.status();
    }
    if (!request.ok() || request->op != "del") {
      errors->push_back(path + ": " + (request.ok() ? "not a DEL" : request.status().message()));
      continue;
    }
    out.push_back({path, std::move(request).value()});
  }
  return out;
}

}  // namespace netfence::agent
