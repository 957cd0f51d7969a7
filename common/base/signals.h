// SPDX-License-Identifier: Apache-2.0
// Signal masks survive fork and exec: a daemon started by a parent that blocks SIGTERM (a
// supervisor waiting in sigwait, a test harness) would never see it and be SIGKILLed,
// skipping its orderly shutdown. Daemons unblock their stop signals first thing.
#pragma once

namespace netfence {

// Unblocks SIGINT, SIGTERM and SIGHUP in the calling thread (call from main before any
// thread starts: threads inherit the mask).
void UnblockStopSignals();

}  // namespace netfence
