// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/cleanup.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

namespace netfence::e2e {
namespace {

std::mutex& Mutex() {
  static std::mutex m;
  return m;
}
std::map<int, std::function<void()>>& Actions() {
  static std::map<int, std::function<void()>> a;
  return a;
}

}  // namespace

int RegisterCleanup(std::function<void()> undo) {
  std::lock_guard lock(Mutex());
  static int next = 0;
  Actions()[++next] = std::move(undo);
  return next;
}

void UnregisterCleanup(int handle) {
  std::lock_guard lock(Mutex());
  Actions().erase(handle);
}

void InstallSignalCleanup() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int signo = 0;
    sigwait(&set, &signo);
    std::fprintf(stderr, "\nsignal %d: removing everything this run created...\n", signo);
    std::map<int, std::function<void()>> actions;
    {
      std::lock_guard lock(Mutex());
      actions.swap(Actions());
    }
    for (auto it = actions.rbegin(); it != actions.rend(); ++it) it->second();
    std::fprintf(stderr, "cleaned up\n");
    ::_exit(128 + signo);
  }).detach();
}

}  // namespace netfence::e2e
