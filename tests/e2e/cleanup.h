// SPDX-License-Identifier: Apache-2.0
// Cleanup on Ctrl-C for the e2e tools: whatever a run created (namespaces, daemons, pinned
// maps, temporary files) registers an undo action; a signal thread runs them all and exits.
#pragma once

#include <functional>

namespace netfence::e2e {

// Registers an undo action; returns a handle for Unregister (done by the normal path).
int RegisterCleanup(std::function<void()> undo);
void UnregisterCleanup(int handle);
// Blocks SIGINT/SIGTERM/SIGHUP in the calling thread (call first in main, before any other
// thread exists) and starts a thread that, on one of them, runs every registered action in
// reverse order and exits with 128 + signal.
void InstallSignalCleanup();

}  // namespace netfence::e2e
