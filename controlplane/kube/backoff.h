// SPDX-License-Identifier: Apache-2.0
// Exponential backoff between retries, as client-go's reflector does it: the first wait is
// drawn from [0, initial], each failure doubles the step up to `cap`, and after `reset_after`
// without a failure (a healthy connection) the next failure starts over from `initial`.
// Full jitter spreads many clients restarting at once; tests turn it off to get exact waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace netfence::kube {

struct BackoffPolicy {
  std::chrono::milliseconds initial{800};
  double factor = 2.0;
  std::chrono::milliseconds cap{30'000};
  bool full_jitter = true;  // wait uniform in [0, step]; false: exactly step
  std::chrono::milliseconds reset_after{120'000};
};

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), rng_(seed), step_(policy.initial) {}

  // The wait before the next retry (after a failure at `now`); grows the step.
  std::chrono::milliseconds Next(Clock::time_point now = Clock::now());
  // Forget past failures.
  void Reset() {
    step_ = policy_.initial;
    last_failure_.reset();
  }

  // The step the next failure draws from.
  std::chrono::milliseconds step() const { return step_; }
  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;
  std::chrono::milliseconds step_;
  std::optional<Clock::time_point> last_failure_;
};

}  // namespace netfence::kube
