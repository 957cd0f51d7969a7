// The embedded table source of a single-node agent: a directory of manifests (Namespaces,
// Pods, NetworkPolicies), read at start and re-read when a file in it changes (inotify,
// debounced). Invalid objects are rejected one by one with their errors; an object that was
// valid before and is rejected now keeps its last good version, and a file that no longer
// parses keeps the whole last good state: an edit in progress never opens the cluster.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "controlplane/k8s/manifests.h"
#include "dataplane/common/status.h"

namespace netfence::agent {

class ManifestSource {
 public:
  // Called on the io_context with each new state and a one-line summary of what was read.
  using OnState = std::function<void(const k8s::ClusterState&, const std::string& summary)>;
  using Log = std::function<void(const std::string&)>;

  ManifestSource(boost::asio::io_context& io, std::string dir, OnState on_state, Log warn);
  ~ManifestSource();

  // Reads the directory once (synchronously: the first on_state call happens inside) and
  // starts watching. Fails when the directory cannot be watched or read at all.
  Status Start();

  // Debounce: changes closer together than this are read once.
  static constexpr std::chrono::milliseconds kDebounce{20};

 private:
  void Watch();    // (re)adds inotify watches on dir and its subdirectories
  void ReadEvents();
  void Reload();

  boost::asio::io_context& io_;
  std::string dir_;
  OnState on_state_;
  Log warn_;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer debounce_;
  std::map<int, std::string> watches_;
  bool have_good_ = false;
  k8s::LoadResult good_;  // the last state handed out, with where each object came from
  char buffer_[8192];
};

// The merge rule above, exposed for tests: `fresh` as read, `good` the last good state.
// Returns the state to enforce and appends to `kept` one line per last good object kept.
k8s::LoadResult MergeWithLastGood(k8s::LoadResult fresh, const k8s::LoadResult* good, std::vector<std::string>* kept);

}  // namespace netfence::agent
