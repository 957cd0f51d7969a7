// SPDX-License-Identifier: Apache-2.0
#include "tests/testing/fake_apiserver_store.h"

#include <charconv>

#include "controlplane/kube/base64.h"

namespace netfence::testing {

using nlohmann::json;

namespace {

std::optional<int64_t> ParseRv(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::string Get(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  return it == q.end() ? "" : it->second;
}

FakeAnswer Error(int code, const std::string& reason, const std::string& message) {
  return FakeAnswer{code, FakeStatus(code, reason, message)};
}

FakeAnswer TooLarge(int64_t asked, int64_t now) {
  FakeAnswer a = Error(504, "Timeout",
                       "Too large resource version: " + std::to_string(asked) + ", current: " + std::to_string(now));
  a.body["details"] = {
      {"causes", json::array({{{"reason", "ResourceVersionTooLarge"}, {"message", "Too large resource version"}}})},
      {"retryAfterSeconds", 1}};
  return a;
}

}  // namespace

std::string FakeResource::name() const { return path.substr(path.rfind('/') + 1); }

const std::vector<FakeResource>& FakeResources() {
  static const std::vector<FakeResource> kAll = {
      {"Namespace", "v1", "/api/v1/namespaces", false},
      {"Pod", "v1", "/api/v1/pods", true},
      {"NetworkPolicy", "networking.k8s.io/v1", "/apis/networking.k8s.io/v1/networkpolicies", true},
      {"Node", "v1", "/api/v1/nodes", false},
      {"ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2",
       "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies", false},
      {"AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1",
       "/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies", false},
      {"BaselineAdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1",
       "/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies", false},
  };
  return kAll;
}

const FakeResource* FakeResourceByPath(const std::string& path) {
  for (const auto& r : FakeResources()) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

const FakeResource* FakeResourceByKind(const std::string& kind) {
  for (const auto& r : FakeResources()) {
    if (r.kind == kind) return &r;
  }
  return nullptr;
}

json FakeStatus(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

std::optional<FakeChange> FakeStore::Upsert(json object) {
  if (!object.is_object() || !object.contains("kind") || !object["kind"].is_string()) return std::nullopt;
  const FakeResource* r = FakeResourceByKind(object["kind"].get<std::string>());
  if (!r) return std::nullopt;
  json& meta = object["metadata"];
  if (!meta.is_object() || !meta.contains("name") || !meta["name"].is_string()) return std::nullopt;
  std::string key = meta["name"].get<std::string>();
  if (r->namespaced) {
    if (!meta.contains("namespace")) meta["namespace"] = "default";
    if (!meta["namespace"].is_string()) return std::nullopt;
    key = meta["namespace"].get<std::string>() + "/" + key;
  }
  if (!object.contains("apiVersion")) object["apiVersion"] = r->api_version;
  Versions& versions = objects_[r->kind][key];
  const bool exists = !versions.empty() && !versions.back().deleted;
  const int64_t rv = ++rv_;
  meta["resourceVersion"] = std::to_string(rv);
  if (!meta.contains("uid")) {
    meta["uid"] = exists && versions.back().object["metadata"].contains("uid")
                      ? versions.back().object["metadata"]["uid"]
                      : json("uid-" + std::to_string(rv));
  }
  versions.push_back({rv, false, object});
  FakeChange c{rv, r->kind, {{"type", exists ? "MODIFIED" : "ADDED"}, {"object", std::move(object)}}};
  history_.push_back(c);
  return c;
}

std::optional<FakeChange> FakeStore::Delete(const std::string& kind, const std::string& ns, const std::string& name) {
  const FakeResource* r = FakeResourceByKind(kind);
  if (!r) return std::nullopt;
  const std::string key = r->namespaced ? ns + "/" + name : name;
  auto kit = objects_.find(kind);
  if (kit == objects_.end()) return std::nullopt;
  auto it = kit->second.find(key);
  if (it == kit->second.end() || it->second.empty() || it->second.back().deleted) return std::nullopt;
  const int64_t rv = ++rv_;
  json last = it->second.back().object;
  last["metadata"]["resourceVersion"] = std::to_string(rv);  // a deletion has its own RV
  it->second.push_back({rv, true, last});
  FakeChange c{rv, kind, {{"type", "DELETED"}, {"object", std::move(last)}}};
  history_.push_back(c);
  return c;
}

std::vector<json> FakeStore::Objects(const std::string& kind) const {
  std::vector<json> out;
  auto kit = objects_.find(kind);
  if (kit == objects_.end()) return out;
  for (const auto& [key, versions] : kit->second) {
    if (!versions.empty() && !versions.back().deleted) out.push_back(versions.back().object);
  }
  return out;
}

void FakeStore::Compact() {
  compacted_ = rv_;
  history_.clear();
  for (auto& [kind, keys] : objects_) {
    for (auto it = keys.begin(); it != keys.end();) {
      if (it->second.empty() || it->second.back().deleted) {
        it = keys.erase(it);
      } else {
        it->second.erase(it->second.begin(), it->second.end() - 1);
        ++it;
      }
    }
  }
}

FakeAnswer FakeStore::List(const FakeResource& r, const std::map<std::string, std::string>& q) const {
  int64_t limit = 0;
  if (std::string l = Get(q, "limit"); !l.empty()) {
    auto v = ParseRv(l);
    if (!v) return Error(400, "BadRequest", "invalid limit \"" + l + "\"");
    limit = *v;
  }
  const std::string rv_param = Get(q, "resourceVersion");
  const std::string match = Get(q, "resourceVersionMatch");
  const std::string cont = Get(q, "continue");
  int64_t at = rv_;
  std::string after;  // list keys strictly after this one
  if (!cont.empty()) {
    if (!rv_param.empty()) {
      return Error(400, "BadRequest", "specifying resource version is not allowed when using continue");
    }
    auto decoded = kube::DecodeBase64(cont);
    json token = decoded ? json::parse(*decoded, nullptr, false) : json();
    if (!token.is_object() || !token.contains("rv") || !token["rv"].is_number_integer() || !token.contains("start") ||
        !token["start"].is_string() || !token.contains("epoch") || !token["epoch"].is_number_integer()) {
      return Error(400, "BadRequest", "continue key is not valid");
    }
    at = token["rv"].get<int64_t>();
    after = token["start"].get<std::string>();
    if (at < compacted_ || token["epoch"].get<int64_t>() != token_epoch_) {
      return Error(410, "Expired",
                   "The provided continue parameter is too old to display a consistent list result. You can start a "
                   "new list without the continue parameter.");
    }
  } else if (!rv_param.empty() && rv_param != "0") {
    auto x = ParseRv(rv_param);
    if (!x) return Error(400, "BadRequest", "invalid resourceVersion \"" + rv_param + "\"");
    if (!match.empty() && match != "NotOlderThan" && match != "Exact") {
      return Error(400, "BadRequest", "unsupported resourceVersionMatch \"" + match + "\"");
    }
    if (*x > rv_) return TooLarge(*x, rv_);
    const bool exact = match == "Exact" || (match.empty() && limit > 0);
    if (exact) {
      if (*x < compacted_) {
        return Error(410, "Expired",
                     "too old resource version: " + std::to_string(*x) + " (" + std::to_string(compacted_) + ")");
      }
      at = *x;
    }
  } else if (!match.empty() && rv_param.empty()) {
    return Error(400, "BadRequest", "resourceVersionMatch is forbidden unless resourceVersion is provided");
  }
  // The objects as they were at `at`, in key order.
  std::vector<std::pair<std::string, const json*>> items;
  if (auto kit = objects_.find(r.kind); kit != objects_.end()) {
    for (const auto& [key, versions] : kit->second) {
      if (!after.empty() && key <= after) continue;
      const Version* v = nullptr;
      for (const Version& cand : versions) {
        if (cand.rv <= at) v = &cand;
      }
      if (v && !v->deleted) items.emplace_back(key, &v->object);
    }
  }
  json list = {{"kind", r.kind + "List"},
               {"apiVersion", r.api_version},
               {"metadata", {{"resourceVersion", std::to_string(at)}}},
               {"items", json::array()}};
  size_t n = limit > 0 ? std::min(items.size(), static_cast<size_t>(limit)) : items.size();
  for (size_t i = 0; i < n; ++i) {
    json item = *items[i].second;
    item.erase("kind");  // list items carry neither kind nor apiVersion
    item.erase("apiVersion");
    list["items"].push_back(std::move(item));
  }
  if (n < items.size()) {
    json token = {{"v", "meta.k8s.io/v1"}, {"rv", at}, {"start", items[n - 1].first}, {"epoch", token_epoch_}};
    list["metadata"]["continue"] = kube::EncodeBase64(token.dump());
    list["metadata"]["remainingItemCount"] = items.size() - n;
  }
  return FakeAnswer{200, std::move(list)};
}

FakeWatchStart FakeStore::StartWatch(const FakeResource& r, const std::string& rv) const {
  FakeWatchStart w;
  if (rv.empty() || rv == "0") {
    for (json& o : Objects(r.kind)) w.events.push_back({{"type", "ADDED"}, {"object", std::move(o)}});
    return w;
  }
  auto x = ParseRv(rv);
  if (!x || *x < compacted_) {
    w.gone = true;
    w.gone_message = "too old resource version: " + rv + " (" + std::to_string(compacted_) + ")";
    return w;
  }
  for (const FakeChange& c : history_) {
    if (c.rv > *x && c.kind == r.kind) w.events.push_back(c.event);
  }
  return w;
}

json FakeStore::Bookmark(const FakeResource& r) const {
  return {
      {"type", "BOOKMARK"},
      {"object",
       {{"kind", r.kind}, {"apiVersion", r.api_version}, {"metadata", {{"resourceVersion", std::to_string(rv_)}}}}}};
}

}  // namespace netfence::testing
