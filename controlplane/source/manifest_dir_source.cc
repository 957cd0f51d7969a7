// SPDX-License-Identifier: Apache-2.0
#include "controlplane/source/manifest_dir_source.h"

#include <sys/inotify.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "controlplane/k8s/cluster_policy_decode.h"

namespace netfence::source {
namespace {

std::string Key(const std::string& kind, const std::string& ns, const std::string& name) {
  return ObjectKey(kind, ns, name);
}

template <typename T>
const T* FindObject(const std::vector<T>& objects, const std::string& ns, const std::string& name) {
  for (const T& o : objects) {
    if (o.meta.ns == ns && o.meta.name == name) return &o;
  }
  return nullptr;
}

// Copies the object `kind ns/name` from `from` into `to` unless `to` has it; true if copied.
bool CarryOver(const k8s::ClusterState& from, const std::string& kind, const std::string& ns, const std::string& name,
               k8s::ClusterState* to) {
  if (kind == "Namespace") {
    const auto* o = FindObject(from.namespaces, ns, name);
    if (o == nullptr || FindObject(to->namespaces, ns, name) != nullptr) return false;
    to->namespaces.push_back(*o);
  } else if (kind == "Pod") {
    const auto* o = FindObject(from.pods, ns, name);
    if (o == nullptr || FindObject(to->pods, ns, name) != nullptr) return false;
    to->pods.push_back(*o);
  } else if (kind == "NetworkPolicy") {
    const auto* o = FindObject(from.policies, ns, name);
    if (o == nullptr || FindObject(to->policies, ns, name) != nullptr) return false;
    to->policies.push_back(*o);
  } else if (kind == "Node") {
    const auto* o = FindObject(from.nodes, ns, name);
    if (o == nullptr || FindObject(to->nodes, ns, name) != nullptr) return false;
    to->nodes.push_back(*o);
  } else if (k8s::IsClusterPolicyKind(kind)) {
    auto find = [&](const std::vector<k8s::ClusterNetworkPolicy>& v) -> const k8s::ClusterNetworkPolicy* {
      for (const auto& o : v) {
        if (o.kind == kind && o.meta.name == name) return &o;
      }
      return nullptr;
    };
    const auto* o = find(from.cluster_policies);
    if (o == nullptr || find(to->cluster_policies) != nullptr) return false;
    to->cluster_policies.push_back(*o);
  } else {
    return false;
  }
  return true;
}

}  // namespace

k8s::LoadResult MergeWithLastGood(k8s::LoadResult fresh, const k8s::LoadResult* good, std::vector<std::string>* kept) {
  if (good == nullptr) return fresh;
  for (const k8s::ObjectError& e : fresh.errors) {
    if (e.kind.empty()) {
      // A file that does not parse: everything stays as it was until it does.
      kept->push_back(e.source + " does not parse: keeping the whole last good state");
      k8s::LoadResult same = *good;
      same.errors = fresh.errors;
      return same;
    }
  }
  for (const k8s::ObjectError& e : fresh.errors) {
    if (CarryOver(good->state, e.kind, e.ns, e.name, &fresh.state)) {
      kept->push_back(Key(e.kind, e.ns, e.name) + " is invalid now: keeping its last good version");
      fresh.sources.try_emplace(Key(e.kind, e.ns, e.name), good->sources.count(Key(e.kind, e.ns, e.name))
                                                               ? good->sources.at(Key(e.kind, e.ns, e.name))
                                                               : e.source);
    }
  }
  return fresh;
}

ManifestDirSource::ManifestDirSource(boost::asio::io_context& io, std::string dir, Log info)
    : io_(io), dir_(std::move(dir)), info_(std::move(info)), inotify_(io), debounce_(io) {}

ManifestDirSource::~ManifestDirSource() = default;

Status ManifestDirSource::Start(Observer* observer) {
  observer_ = observer;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) return Status::Error("--manifests " + dir_ + ": not a directory");
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::Error(std::string("inotify: ") + std::strerror(errno));
  inotify_.assign(fd);
  Watch();
  Reload();
  ReadEvents();
  return Status::Ok();
}

void ManifestDirSource::Watch() {
  constexpr uint32_t kMask =
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  std::vector<std::string> dirs = {dir_};
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) dirs.push_back(it->path().string());
  }
  for (const std::string& d : dirs) {
    int wd = ::inotify_add_watch(inotify_.native_handle(), d.c_str(), kMask);
    if (wd < 0) {
      if (info_) info_("cannot watch " + d + ": " + std::strerror(errno));
      continue;
    }
    watches_[wd] = d;
  }
}

void ManifestDirSource::ReadEvents() {
  inotify_.async_read_some(boost::asio::buffer(buffer_), [this](boost::system::error_code ec, size_t) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (ec) {
      if (info_) info_("inotify on " + dir_ + ": " + ec.message() + " (no longer watched)");
      return;
    }
    // Which files changed does not matter: the directory is re-read as a whole.
    debounce_.expires_after(kDebounce);
    debounce_.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec) Reload();
    });
    ReadEvents();
  });
}

void ManifestDirSource::Reload() {
  Watch();  // new subdirectories; inotify ignores duplicates
  k8s::LoadResult fresh = k8s::LoadManifestDir(dir_);
  const size_t rejected = fresh.errors.size();
  for (const k8s::ObjectError& e : fresh.errors) observer_->OnRejected(e);
  std::vector<std::string> kept;
  k8s::LoadResult merged = MergeWithLastGood(std::move(fresh), have_good_ ? &good_ : nullptr, &kept);
  for (const std::string& k : kept) {
    if (info_) info_(k);
  }
  good_ = std::move(merged);
  std::vector<Event> events = delivered_.Diff(good_.state);
  delivered_.ApplyAll(events);
  if (info_) {
    info_(dir_ + ": " + std::to_string(good_.state.namespaces.size()) + " namespaces, " +
          std::to_string(good_.state.pods.size()) + " pods, " + std::to_string(good_.state.policies.size()) +
          " policies, " + std::to_string(good_.state.nodes.size()) + " nodes, " +
          std::to_string(good_.state.cluster_policies.size()) + " cluster policies, " + std::to_string(rejected) +
          " rejected, " + std::to_string(events.size()) + " changes");
  }
  if (!events.empty() || !have_good_) observer_->OnEvents(std::move(events));
  if (!have_good_) {
    have_good_ = true;
    observer_->OnSynced();
  }
}

}  // namespace netfence::source
