// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/backoff.h"

#include <algorithm>

namespace netfence::kube {

std::chrono::milliseconds Backoff::Next(Clock::time_point now) {
  if (last_failure_ && now - *last_failure_ >= policy_.reset_after) step_ = policy_.initial;
  last_failure_ = now;
  std::chrono::milliseconds wait = step_;
  if (policy_.full_jitter) {
    std::uniform_int_distribution<int64_t> d(0, step_.count());
    wait = std::chrono::milliseconds(d(rng_));
  }
  auto grown = std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(step_.count()) * policy_.factor));
  step_ = std::min(std::max(grown, step_), policy_.cap);
  return wait;
}

}  // namespace netfence::kube
