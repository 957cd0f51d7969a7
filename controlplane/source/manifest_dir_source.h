// SPDX-License-Identifier: Apache-2.0
// The embedded source of cluster state (no cluster needed): a directory of manifests
// (Namespaces, Pods, NetworkPolicies; YAML or JSON, List kinds, read recursively), read at
// start and re-read when a file in it changes (inotify, debounced). Each re-read becomes one
// batch of events: the difference between what was delivered and what the directory holds.
//
// Bad input never opens the cluster: invalid objects are rejected one by one (OnRejected,
// with file, object and field); an object that was valid before and is invalid now keeps
// its last good version; a file that no longer parses keeps the whole last good state.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "common/base/status.h"
#include "controlplane/k8s/manifests.h"
#include "controlplane/source/cluster_store.h"
#include "controlplane/source/source.h"

namespace netfence::source {

class ManifestDirSource : public Source {
 public:
  using Log = std::function<void(const std::string&)>;

  // `info` gets a one-line summary of every read (may be empty).
  ManifestDirSource(boost::asio::io_context& io, std::string dir, Log info = {});
  ~ManifestDirSource() override;

  // Reads the directory once (the first batch and OnSynced are delivered inside) and starts
  // watching. Fails when the directory cannot be watched or read at all.
  Status Start(Observer* observer) override;
  std::string Describe() const override { return "manifests " + dir_; }

  // Debounce: changes closer together than this are read once.
  static constexpr std::chrono::milliseconds kDebounce{20};

 private:
  void Watch();  // (re)adds inotify watches on dir and its subdirectories
  void ReadEvents();
  void Reload();

  boost::asio::io_context& io_;
  std::string dir_;
  Log info_;
  Observer* observer_ = nullptr;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer debounce_;
  std::map<int, std::string> watches_;
  bool have_good_ = false;
  k8s::LoadResult good_;  // the last state delivered, with where each object came from
  ClusterStore delivered_;
  char buffer_[8192];
};

// The merge rule above, exposed for tests: `fresh` as read, `good` the last good state.
// Returns the state to enforce and appends to `kept` one line per last good object kept.
k8s::LoadResult MergeWithLastGood(k8s::LoadResult fresh, const k8s::LoadResult* good, std::vector<std::string>* kept);

}  // namespace netfence::source
