// SPDX-License-Identifier: Apache-2.0
// Why a request to the API server failed, in the terms the list/watch client decides on:
// a transport failure (status 0: connect, TLS, read, timeout), or an HTTP status with the
// API server's metav1.Status (reason, message, Retry-After). Also built from the Status
// object of a watch ERROR event, which carries the same fields in-stream.
#pragma once

#include <chrono>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace netfence::kube {

struct ApiError {
  int http_status = 0;  // 0 = transport failure
  std::string reason;   // metav1.Status reason: "Expired", "Gone", "TooManyRequests", "InternalError", ...
  std::string message;  // what to log
  std::optional<std::chrono::milliseconds> retry_after;
  bool resource_version_too_large = false;  // "Too large resource version" (504 with that cause)

  // The resourceVersion or continue token is too old: relist (client-go IsResourceExpired || IsGone).
  bool gone() const { return http_status == 410 || reason == "Expired" || reason == "Gone"; }
  bool throttled() const { return http_status == 429; }
  bool server_error() const { return http_status >= 500; }
  bool unauthorized() const { return http_status == 401; }
};

inline ApiError TransportError(std::string message) { return ApiError{0, "", std::move(message), {}, false}; }

// From a non-2xx response: `body` is usually a metav1.Status, but may be anything (a proxy's
// HTML page). `what` names the request in the message ("GET /api/v1/pods?limit=500").
ApiError ErrorFromResponse(int http_status, const std::string& body, const std::string& retry_after_header,
                           const std::string& what);
// From the Status object of a watch ERROR event.
ApiError ErrorFromStatus(const nlohmann::json& status, const std::string& what);

// Retry-After as seconds (the API server's form); nullopt when absent or not a number.
std::optional<std::chrono::milliseconds> ParseRetryAfter(const std::string& header);

}  // namespace netfence::kube
