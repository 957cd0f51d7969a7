// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/flow_filter.h"

#include <algorithm>

#include "dataplane/flowlog/time_format.h"

namespace netfence::flowlog {

namespace {

bool InNamespace(const Endpoint& e, const std::vector<std::string>& nss) {
  return std::find(nss.begin(), nss.end(), e.ns) != nss.end();
}

bool IsPod(const Endpoint& e, const std::vector<std::string>& pods) {
  if (e.pod.empty()) return false;
  for (const auto& p : pods) {
    auto slash = p.find('/');
    if (slash == std::string::npos ? e.pod == p : (e.ns == p.substr(0, slash) && e.pod == p.substr(slash + 1))) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool FlowFilter::Matches(const FlowRecord& r) const {
  if (since_ns && r.time_ns < *since_ns) return false;
  if (until_ns && r.time_ns > *until_ns) return false;
  if (!events.empty() && std::find(events.begin(), events.end(), r.event) == events.end()) return false;
  if (r.event == EventKind::kLost) return true;
  if (!verdicts.empty() && std::find(verdicts.begin(), verdicts.end(), r.verdict) == verdicts.end()) return false;
  if (!namespaces.empty() && !InNamespace(r.src, namespaces) && !InNamespace(r.dst, namespaces)) return false;
  if (!src_namespaces.empty() && !InNamespace(r.src, src_namespaces)) return false;
  if (!dst_namespaces.empty() && !InNamespace(r.dst, dst_namespaces)) return false;
  if (!pods.empty() && !IsPod(r.src, pods) && !IsPod(r.dst, pods)) return false;
  if (!src_pods.empty() && !IsPod(r.src, src_pods)) return false;
  if (!dst_pods.empty() && !IsPod(r.dst, dst_pods)) return false;
  if (!community_ids.empty() &&
      std::find(community_ids.begin(), community_ids.end(), r.community_id) == community_ids.end()) {
    return false;
  }
  if (!policies.empty()) {
    bool any = std::any_of(r.policies.begin(), r.policies.end(), [&](const PolicyRef& p) {
      const std::pair<std::string, std::string> key{p.cluster() ? p.kind : p.ns, p.name};
      return std::find(policies.begin(), policies.end(), key) != policies.end();
    });
    if (!any) return false;
  }
  return true;
}

std::optional<int64_t> ParseTimeOrAgo(std::string_view text, int64_t now_ns) {
  if (auto t = ParseTime(text)) return t;
  if (auto d = ParseDuration(text)) return now_ns - *d;
  return std::nullopt;
}

}  // namespace netfence::flowlog
