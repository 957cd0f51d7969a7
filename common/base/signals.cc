// SPDX-License-Identifier: Apache-2.0
#include "common/base/signals.h"

#include <signal.h>

namespace netfence {

void UnblockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace netfence
