// SPDX-License-Identifier: Apache-2.0
// The bearer token to send with each request. A static token is sent as is. A token file
// (a pod's rotating service-account token, a kubeconfig tokenFile) is re-read when the last
// read is older than `reload_period` (client-go: one minute) and right after the server
// answered 401, so a rotated token is picked up without a restart. When a re-read fails the
// last token read (else the static token) keeps being sent.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace netfence::kube {

class TokenSource {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kDefaultReloadPeriod{60};

  TokenSource(std::string static_token, std::string token_file, Clock::duration reload_period = kDefaultReloadPeriod);

  // The token for the next request ("" = send no Authorization header). Thread-safe.
  std::string Token();
  // The server rejected the token (401): the next Token() re-reads the file.
  void Invalidate();

  // How many times the file has been read successfully (for tests and metrics).
  int reads() const;

 private:
  std::string static_token_;
  std::string file_;
  Clock::duration period_;
  mutable std::mutex mu_;
  std::optional<Clock::time_point> read_at_;
  std::string file_token_;
  bool have_file_token_ = false;
  int reads_ = 0;
};

}  // namespace netfence::kube
