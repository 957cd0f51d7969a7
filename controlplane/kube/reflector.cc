// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/reflector.h"

#include "common/base/json_depth.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "controlplane/kube/object_codec.h"

namespace netfence::kube {

namespace net = boost::asio;
using net::awaitable;
using nlohmann::json;
using source::Event;
using source::Op;

namespace {

constexpr size_t kMaxLineBytes = size_t{64} << 20;  // one watch event
constexpr size_t kMaxErrorBody = size_t{1} << 20;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::string MetaResourceVersion(const json& obj) {
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return "";
  auto rv = meta->find("resourceVersion");
  return rv != meta->end() && rv->is_string() ? rv->get<std::string>() : "";
}

void AddToState(k8s::Object o, k8s::ClusterState* state) {
  std::visit(
      [&](auto&& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, k8s::Namespace>) {
          state->namespaces.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, k8s::Pod>) {
          state->pods.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, k8s::Node>) {
          state->nodes.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, k8s::ClusterNetworkPolicy>) {
          state->cluster_policies.push_back(std::move(x));
        } else {
          state->policies.push_back(std::move(x));
        }
      },
      std::move(o));
}

}  // namespace

Reflector::Reflector(net::any_io_executor executor, std::shared_ptr<ApiClient> client, ResourceSpec resource,
                     ReflectorOptions options, Callbacks callbacks, std::shared_ptr<KubeMetrics> metrics,
                     size_t metrics_index)
    : executor_(executor), client_(std::move(client)), resource_(std::move(resource)), options_(options),
      callbacks_(std::move(callbacks)), metrics_(std::move(metrics)), metrics_index_(metrics_index),
      backoff_(options.backoff, options.seed), rng_(options.seed ^ 0x9e3779b97f4a7c15ULL), timer_(executor) {}

void Reflector::Start() {
  net::co_spawn(
      executor_, [self = shared_from_this()]() { return self->Run(); }, net::detached);
}

void Reflector::Stop() {
  stopped_ = true;
  slot_.Stop();
  timer_.cancel();
}

void Reflector::Log(const std::string& line) {
  if (callbacks_.on_log && !stopped_) callbacks_.on_log(line);
}

std::chrono::seconds Reflector::WatchTimeout() {
  int64_t lo = options_.min_watch_timeout.count();
  int64_t hi = std::max(lo, static_cast<int64_t>(options_.max_watch_timeout.count()));
  return std::chrono::seconds(std::uniform_int_distribution<int64_t>(lo, hi)(rng_));
}

void Reflector::SetResourceVersion(const std::string& rv) {
  if (rv.empty()) return;
  rv_ = rv;
  metrics_->Update(metrics_index_, [&](ResourceMetrics& m) { m.resource_version = rv; });
}

void Reflector::Note(const ApiError& error) {
  metrics_->Update(metrics_index_, [&](ResourceMetrics& m) {
    if (error.throttled()) {
      ++m.throttled;
    } else if (error.server_error()) {
      ++m.server_errors;
    } else if (error.http_status == 0) {
      ++m.transport_errors;
    }
    m.last_error = error.message;
  });
  Log(error.message);
}

awaitable<void> Reflector::Wait(const ApiError& error) {
  std::chrono::milliseconds d = backoff_.Next();
  if (error.retry_after) d = std::max(d, *error.retry_after);
  metrics_->Update(metrics_index_, [](ResourceMetrics& m) { ++m.reconnects; });
  timer_.expires_after(d);
  boost::system::error_code ec;
  co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
}

awaitable<void> Reflector::Run() {
  auto self = shared_from_this();  // the coroutine keeps the reflector alive
  std::string relist_rv;           // "" for the first list: the most recent state
  bool need_list = true;
  while (!stopped_) {
    // Nothing below is expected to throw (Beast and JSON errors come back as values); should
    // something still throw (allocation), the reflector retries instead of stopping silently.
    std::string thrown;
    WatchResult w;
    try {
      if (need_list) {
        if (!co_await List(relist_rv)) continue;
        need_list = false;
      }
      w = co_await Watch();
    } catch (const std::exception& e) {
      thrown = e.what();
    }
    if (stopped_) co_return;
    if (!thrown.empty()) {
      slot_.Clear();
      w.end = WatchEnd::kFailed;
      w.error = TransportError(resource_.name + ": unexpected error: " + thrown);
      need_list = true;  // the store may be half-updated: start over with a relist
      relist_rv = rv_;
    }
    if (w.events > 0) consecutive_gone_ = 0;
    switch (w.end) {
      case WatchEnd::kNormal:
        break;  // re-watch at once from the last RV
      case WatchEnd::kGone:
        metrics_->Update(metrics_index_, [&](ResourceMetrics& m) {
          ++m.gone;
          m.last_error = w.error.message;
        });
        Log(w.error.message + "; relisting " + resource_.name);
        need_list = true;
        // A resourceVersion the server has not reached (its storage was restored): only a
        // list of the most recent state helps.
        relist_rv = w.error.resource_version_too_large ? "" : rv_;
        // Two 410s in a row with nothing in between: do not hammer the server.
        if (++consecutive_gone_ > 1) co_await Wait(w.error);
        break;
      case WatchEnd::kFailed:
        Note(w.error);
        co_await Wait(w.error);
        if (resource_.optional && w.error.http_status == 404) {
          need_list = true;  // the CRD went away: the list says so
          relist_rv.clear();
        }
        break;
    }
  }
}

awaitable<bool> Reflector::List(const std::string& resource_version) {
  const ListRequest request{options_.page_size, resource_version};
  ListResult r = co_await ListAll(*client_, resource_, request, &slot_);
  if (stopped_) co_return false;
  metrics_->Update(metrics_index_, [&](ResourceMetrics& m) {
    m.list_restarts += static_cast<uint64_t>(r.continue_restarts);
    m.gone += static_cast<uint64_t>(r.continue_restarts + r.rv_fallbacks);
  });
  if (!r.ok && resource_.optional && r.error.http_status == 404) {
    // The CRD is not installed: there are none of these. Report that (deleting what the
    // store held, should the CRD have been removed) and look again later.
    if (!absent_) Log(resource_.name + " are not served (CustomResourceDefinition not installed): none enforced");
    absent_ = true;
    ListResult empty;
    empty.ok = true;
    ApplyList(std::move(empty));
    timer_.expires_after(options_.absent_recheck);
    boost::system::error_code ec;
    co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
    co_return false;
  }
  if (!r.ok) {
    Note(r.error);
    co_await Wait(r.error);
    co_return false;
  }
  if (absent_) Log(resource_.name + " are served now");
  absent_ = false;
  ApplyList(std::move(r));
  co_return !stopped_;
}

void Reflector::ApplyList(ListResult list) {
  const std::string where = "list " + resource_.name;
  k8s::ClusterState next;
  for (const json& item : list.items) {
    k8s::ObjectError err;
    if (auto o = DecodeResourceObject(item, resource_, where, &err)) {
      AddToState(std::move(*o), &next);
      continue;
    }
    Reject(err);
    // Still there, but invalid now: its last good version stays.
    std::string ns = resource_.kind == "Namespace" ? "" : err.ns;
    if (auto old = FindInStore(store_, resource_.kind, ns, err.name)) AddToState(std::move(*old), &next);
  }
  std::vector<Event> events = store_.Diff(next);
  for (const Event& e : events) store_.Apply(e);
  SetResourceVersion(list.resource_version);
  metrics_->Update(metrics_index_, [&](ResourceMetrics& m) {
    ++m.lists;
    if (listed_) ++m.relists;
    m.synced = true;
  });
  Deliver(std::move(events));
  if (!listed_ && !stopped_) {
    listed_ = true;
    if (callbacks_.on_listed) callbacks_.on_listed();
  }
}

void Reflector::Deliver(std::vector<Event> batch) {
  if (batch.empty() || stopped_) return;
  metrics_->Update(metrics_index_, [&](ResourceMetrics& m) {
    for (const Event& e : batch) ++(e.op == Op::kDelete ? m.deletes_delivered : m.upserts_delivered);
  });
  callbacks_.on_events(std::move(batch));
}

void Reflector::Reject(const k8s::ObjectError& error) {
  metrics_->Update(metrics_index_, [](ResourceMetrics& m) { ++m.rejected; });
  if (callbacks_.on_rejected && !stopped_) callbacks_.on_rejected(error);
}

awaitable<Reflector::WatchResult> Reflector::Watch() {
  WatchResult result;
  const std::chrono::seconds timeout = WatchTimeout();
  const std::string path = resource_.path +
                           "?watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout.count()) +
                           "&resourceVersion=" + QueryEscape(rv_);
  const std::string what = "watch " + resource_.name + " (GET " + client_->url().str() + path + ")";
  auto conn = client_->NewConnection(executor_);
  slot_.Set(conn);
  auto fail = [&](std::string message) {
    result.end = WatchEnd::kFailed;
    result.error = TransportError(what + ": " + message);
  };
  if (Status st = co_await conn->Connect(client_->url(), client_->options().connect_timeout); !st.ok()) {
    fail(st.message());
    co_return result;
  }
  auto head = co_await conn->Get(client_->Target(path), client_->RequestHeaders(), client_->options().request_timeout);
  if (!head.ok()) {
    fail(head.status().message());
    co_return result;
  }
  if (head->status != 200) {
    auto body = co_await conn->ReadBody(client_->options().request_timeout, kMaxErrorBody);
    conn->Close();
    if (head->status == 401) client_->tokens().Invalidate();
    result.error = ErrorFromResponse(head->status, body.ok() ? *body : "", head->retry_after, what);
    result.end = result.error.gone() || result.error.resource_version_too_large ? WatchEnd::kGone : WatchEnd::kFailed;
    co_return result;
  }
  metrics_->Update(metrics_index_, [](ResourceMetrics& m) {
    ++m.watches;
    m.connected = true;
  });
  const auto started = std::chrono::steady_clock::now();
  const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(timeout) + options_.watch_idle_slack;
  std::string buf;
  for (;;) {
    auto more = co_await conn->ReadSome(&buf, idle);
    if (stopped_) co_return result;
    std::vector<Event> batch;
    bool go_on = true;
    size_t pos = 0;
    for (size_t nl; go_on && (nl = buf.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      go_on = HandleLine(std::string_view(buf).substr(pos, nl - pos), &batch, &result);
    }
    buf.erase(0, pos);
    if (go_on && more.ok() && !*more && !Trim(buf).empty()) {
      go_on = HandleLine(buf, &batch, &result);  // the last line of a complete stream may lack its newline
      buf.clear();
    }
    Deliver(std::move(batch));
    if (stopped_) co_return result;
    if (!go_on) break;
    if (!more.ok()) {
      // Dropped mid-stream: an incomplete last line is discarded, the RV is the last complete event's.
      fail(more.status().message());
      break;
    }
    if (!*more) {
      if (std::chrono::steady_clock::now() - started < options_.very_short_watch && result.events == 0) {
        fail("very short watch: the stream ended at once without any event");
      } else {
        result.end = WatchEnd::kNormal;
      }
      break;
    }
    if (buf.size() > kMaxLineBytes) {
      fail("watch event larger than " + std::to_string(kMaxLineBytes) + " bytes");
      break;
    }
  }
  conn->Close();
  slot_.Clear();
  metrics_->Update(metrics_index_, [](ResourceMetrics& m) { m.connected = false; });
  co_return result;
}

bool Reflector::HandleLine(std::string_view line, std::vector<Event>* batch, WatchResult* result) {
  line = Trim(line);
  if (line.empty()) return true;
  const std::string what = "watch " + resource_.name;
  auto malformed = [&](const std::string& why) {
    result->end = WatchEnd::kFailed;
    result->error = TransportError(what + ": malformed event (" + why + "): " + std::string(line.substr(0, 200)));
    return false;
  };
  if (Status depth = CheckJsonDepth(line); !depth.ok()) return malformed(depth.message());
  json ev = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!ev.is_object()) return malformed("not a JSON object");
  auto type_it = ev.find("type");
  auto obj_it = ev.find("object");
  if (type_it == ev.end() || !type_it->is_string()) return malformed("no type");
  const std::string type = type_it->get<std::string>();
  if (obj_it == ev.end() || !obj_it->is_object()) return malformed("no object");
  const json& obj = *obj_it;
  if (type == "ERROR") {
    metrics_->Update(metrics_index_, [](ResourceMetrics& m) { ++m.error_events; });
    result->error = ErrorFromStatus(obj, what);
    result->end =
        result->error.gone() || result->error.resource_version_too_large ? WatchEnd::kGone : WatchEnd::kFailed;
    return false;
  }
  const std::string rv = MetaResourceVersion(obj);
  if (type == "BOOKMARK") {
    metrics_->Update(metrics_index_, [](ResourceMetrics& m) { ++m.bookmarks; });
  } else if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
    metrics_->Update(metrics_index_, [&](ResourceMetrics& m) {
      ++(type == "ADDED" ? m.added : type == "MODIFIED" ? m.modified : m.deleted);
    });
    HandleObject(type, obj, batch);
  } else {
    return malformed("unknown type \"" + type + "\"");
  }
  SetResourceVersion(rv);
  ++result->events;
  return true;
}

void Reflector::HandleObject(const std::string& type, const json& object, std::vector<Event>* batch) {
  if (type == "DELETED") {
    // Always deletes, whatever the last state looks like: the store's version goes out.
    std::string ns, name;
    if (!ObjectName(object, &ns, &name)) return;
    if (resource_.kind == "Namespace") ns.clear();
    if (auto old = FindInStore(store_, resource_.kind, ns, name)) {
      Event e{Op::kDelete, std::move(*old)};
      store_.Apply(e);
      batch->push_back(std::move(e));
    }
    return;
  }
  k8s::ObjectError err;
  auto o = DecodeResourceObject(object, resource_, "watch " + resource_.name, &err);
  if (!o) {
    // Keep the observer's order: what came before the invalid object goes out first.
    Deliver(std::move(*batch));
    batch->clear();
    Reject(err);  // the last good version stays
    return;
  }
  Event e{Op::kUpsert, std::move(*o)};
  if (store_.Apply(e)) batch->push_back(std::move(e));
}

}  // namespace netfence::kube
