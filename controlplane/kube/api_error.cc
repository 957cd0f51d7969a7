// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/api_error.h"

#include "common/base/json_depth.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace netfence::kube {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

bool TooLarge(const json& status) {
  // The API server answers a list or watch at a resourceVersion it has not reached yet with
  // 504 Timeout and the cause "ResourceVersionTooLarge" (message "Too large resource version").
  if (Str(status, "message").find("Too large resource version") != std::string::npos) return true;
  auto details = status.find("details");
  if (details == status.end() || !details->is_object()) return false;
  auto causes = details->find("causes");
  if (causes == details->end() || !causes->is_array()) return false;
  for (const json& c : *causes) {
    if (c.is_object() && Str(c, "reason") == "ResourceVersionTooLarge") return true;
  }
  return false;
}

void FillFromStatus(const json& status, ApiError* e) {
  if (!status.is_object()) return;
  e->reason = Str(status, "reason");
  if (auto it = status.find("code"); it != status.end() && it->is_number_integer() && e->http_status == 0) {
    e->http_status = it->get<int>();
  }
  e->resource_version_too_large = TooLarge(status);
  if (auto it = status.find("details"); it != status.end() && it->is_object() && !e->retry_after) {
    if (auto r = it->find("retryAfterSeconds"); r != it->end() && r->is_number_integer() && r->get<int64_t>() >= 0) {
      e->retry_after = std::chrono::seconds(r->get<int64_t>());
    }
  }
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseRetryAfter(const std::string& header) {
  if (header.empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(header.data(), header.data() + header.size(), v);
  if (ec != std::errc() || p != header.data() + header.size() || v < 0) return std::nullopt;
  return std::chrono::seconds(v);
}

ApiError ErrorFromResponse(int http_status, const std::string& body, const std::string& retry_after_header,
                           const std::string& what) {
  ApiError e;
  e.http_status = http_status;
  e.retry_after = ParseRetryAfter(retry_after_header);
  json status = CheckJsonDepth(body).ok() ? json::parse(body, nullptr, /*allow_exceptions=*/false) : json();
  std::string detail;
  if (status.is_object() && Str(status, "kind") == "Status") {
    FillFromStatus(status, &e);
    e.http_status = http_status;  // the HTTP status wins over Status.code
    detail = Str(status, "message");
  } else {
    detail = body.substr(0, 200);
  }
  e.message = what + ": HTTP " + std::to_string(http_status) + (e.reason.empty() ? "" : " " + e.reason) +
              (detail.empty() ? "" : ": " + detail);
  return e;
}

ApiError ErrorFromStatus(const json& status, const std::string& what) {
  ApiError e;
  FillFromStatus(status, &e);
  std::string detail = status.is_object() ? Str(status, "message") : status.dump();
  e.message = what + ": ERROR event " + std::to_string(e.http_status) + (e.reason.empty() ? "" : " " + e.reason) +
              (detail.empty() ? "" : ": " + detail);
  return e;
}

}  // namespace netfence::kube
