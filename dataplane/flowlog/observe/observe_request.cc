// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/observe/observe_request.h"

namespace netfence::flowlog {

StatusOr<FlowFilter> FilterFromRequest(const v1::ObserveRequest& q) {
  FlowFilter f;
  f.namespaces.assign(q.namespaces().begin(), q.namespaces().end());
  f.src_namespaces.assign(q.src_namespaces().begin(), q.src_namespaces().end());
  f.dst_namespaces.assign(q.dst_namespaces().begin(), q.dst_namespaces().end());
  f.pods.assign(q.pods().begin(), q.pods().end());
  f.src_pods.assign(q.src_pods().begin(), q.src_pods().end());
  f.dst_pods.assign(q.dst_pods().begin(), q.dst_pods().end());
  for (const std::string& v : q.verdicts()) {
    auto parsed = ParseVerdictName(v);
    if (!parsed) return Status::Error("verdicts: \"" + v + "\" is not allowed, denied or audit");
    f.verdicts.push_back(*parsed);
  }
  for (const std::string& e : q.events()) {
    auto parsed = ParseEventName(e);
    if (!parsed) return Status::Error("events: \"" + e + "\" is not start, update, end, drop or lost");
    f.events.push_back(*parsed);
  }
  for (const std::string& p : q.policies()) {
    const auto slash = p.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == p.size()) {
      return Status::Error("policies: \"" + p + "\" is not NAMESPACE/NAME");
    }
    f.policies.emplace_back(p.substr(0, slash), p.substr(slash + 1));
  }
  f.community_ids.assign(q.community_ids().begin(), q.community_ids().end());
  if (q.since_unix_nanos() != 0) f.since_ns = q.since_unix_nanos();
  if (q.until_unix_nanos() != 0) f.until_ns = q.until_unix_nanos();
  return f;
}

v1::ObserveRequest RequestFromFilter(const FlowFilter& f) {
  v1::ObserveRequest q;
  for (const auto& v : f.namespaces) q.add_namespaces(v);
  for (const auto& v : f.src_namespaces) q.add_src_namespaces(v);
  for (const auto& v : f.dst_namespaces) q.add_dst_namespaces(v);
  for (const auto& v : f.pods) q.add_pods(v);
  for (const auto& v : f.src_pods) q.add_src_pods(v);
  for (const auto& v : f.dst_pods) q.add_dst_pods(v);
  for (Verdict v : f.verdicts) q.add_verdicts(std::string(VerdictName(v)));
  for (EventKind e : f.events) q.add_events(std::string(EventName(e)));
  for (const auto& [ns, name] : f.policies) q.add_policies(ns + "/" + name);
  for (const auto& id : f.community_ids) q.add_community_ids(id);
  if (f.since_ns) q.set_since_unix_nanos(*f.since_ns);
  if (f.until_ns) q.set_until_unix_nanos(*f.until_ns);
  return q;
}

}  // namespace netfence::flowlog
