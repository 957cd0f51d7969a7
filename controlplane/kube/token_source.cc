// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/token_source.h"

#include <cctype>
#include <fstream>
#include <sstream>

namespace netfence::kube {

TokenSource::TokenSource(std::string static_token, std::string token_file, Clock::duration reload_period)
    : static_token_(std::move(static_token)), file_(std::move(token_file)), period_(reload_period) {}

std::string TokenSource::Token() {
  std::lock_guard lock(mu_);
  if (file_.empty()) return static_token_;
  const Clock::time_point now = Clock::now();
  if (!read_at_ || now - *read_at_ >= period_) {
    read_at_ = now;  // a failed read is retried after the period too, not on every request
    std::ifstream in(file_, std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      std::string t = ss.str();
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
      if (!t.empty()) {
        file_token_ = std::move(t);
        have_file_token_ = true;
        ++reads_;
      }
    }
  }
  return have_file_token_ ? file_token_ : static_token_;
}

void TokenSource::Invalidate() {
  std::lock_guard lock(mu_);
  read_at_.reset();
}

int TokenSource::reads() const {
  std::lock_guard lock(mu_);
  return reads_;
}

}  // namespace netfence::kube
