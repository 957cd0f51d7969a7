// SPDX-License-Identifier: Apache-2.0
#include "controlplane/reach/replay.h"

#include <algorithm>
#include <sstream>

#include "controlplane/reach/matrix.h"
#include "dataplane/flowlog/record_source.h"
#include "dataplane/flowlog/time_format.h"

namespace netfence::reach {
namespace {

using nlohmann::json;

constexpr size_t kMalformedKept = 10;  // locations of malformed lines kept for the warning
constexpr size_t kUnknownShown = 20;   // unknown ends listed by the summaries

std::optional<k8s::Protocol> PortProtocol(uint8_t proto) {
  switch (proto) {
    case 6:
      return k8s::Protocol::kTCP;
    case 17:
      return k8s::Protocol::kUDP;
    case 132:
      return k8s::Protocol::kSCTP;
    default:
      return std::nullopt;
  }
}

// The ends that were most often unknown, most first.
std::vector<std::pair<std::string, uint64_t>> TopUnknown(const ReplayStats& s) {
  std::vector<std::pair<std::string, uint64_t>> v(s.unknown.begin(), s.unknown.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (v.size() > kUnknownShown) v.resize(kUnknownShown);
  return v;
}

// One line on what the after side's verdict rests on: the denying (or allowing) direction's
// policy and rule, or the policies that isolate it.
std::string DecidedText(const json& side, bool allowed) {
  std::string out;
  for (const char* dir : {"egress", "ingress"}) {
    const json& d = side[dir];
    const std::string outcome = d.value("outcome", "");
    if (allowed ? outcome != "allowed" : outcome == "allowed" || outcome == "not-isolated") continue;
    std::string what = std::string(dir) + " " + outcome;
    if (d.contains("policy")) {
      what += " by " + d["policy"].get<std::string>() + " rule " + std::to_string(d["rule"].get<uint32_t>());
    } else if (d.contains("isolated_by")) {
      std::string names;
      for (const auto& n : d["isolated_by"]) names += (names.empty() ? "" : ",") + n.get<std::string>();
      what += " (isolated by " + names + ")";
    }
    out += (out.empty() ? "" : "; ") + what;
  }
  return out.empty() ? "not isolated" : out;
}

}  // namespace

FlowReplay::FlowReplay(const k8s::ClusterState& before) : pods_(MatrixPods(before)) {
  for (uint32_t i = 0; i < pods_.size(); ++i) {
    by_name_.emplace(pods_[i]->key(), i);
    for (const std::string& text : PodAddresses(*pods_[i])) {
      auto ip = IpAddr::Parse(text);
      if (!ip) continue;
      auto [it, inserted] = by_ip_.emplace(*ip, i);
      if (!inserted && it->second != i) it->second = -1;  // host-network pods share their node's address
    }
  }
}

std::optional<uint32_t> FlowReplay::Resolve(const flowlog::Endpoint& e, std::string* unknown) const {
  if (!e.pod.empty()) {
    *unknown = e.ns + "/" + e.pod;
    if (auto it = by_name_.find(*unknown); it != by_name_.end()) return it->second;
    return std::nullopt;
  }
  if (!e.ip) {
    *unknown = "(no address)";
    return std::nullopt;
  }
  auto it = by_ip_.find(*e.ip);
  if (it != by_ip_.end() && it->second >= 0) return static_cast<uint32_t>(it->second);
  *unknown = e.ip->str() + (it != by_ip_.end() ? " (several pods)" : "");
  return std::nullopt;
}

void FlowReplay::Add(const flowlog::FlowRecord& r) {
  if (r.event == flowlog::EventKind::kLost) {
    stats_.lost_events += r.lost_events;
    return;
  }
  ++stats_.records;
  std::string unknown_src, unknown_dst;
  auto src = Resolve(r.src, &unknown_src);
  auto dst = Resolve(r.dst, &unknown_dst);
  if (!src || !dst) {
    ++stats_.unknown_records;
    if (!src) ++stats_.unknown[unknown_src];
    if (!dst) ++stats_.unknown[unknown_dst];
    return;
  }
  auto proto = PortProtocol(r.proto);
  if (!proto || !r.dst.port) {
    ++stats_.no_port_records;
    return;
  }
  if (*src == *dst) {
    ++stats_.same_pod_records;
    return;
  }
  ++stats_.judged_records;
  Seen& s = seen_[Key{*src, *dst, ProtoPort{*proto, *r.dst.port}}];
  ++s.records;
  s.last_ns = std::max({s.last_ns, r.time_ns, r.end_time_ns, r.last_time_ns});
  switch (r.verdict) {
    case flowlog::Verdict::kAllowed:
      ++s.allowed;
      break;
    case flowlog::Verdict::kDenied:
      ++s.denied;
      break;
    case flowlog::Verdict::kAudit:
      ++s.audit;
      break;
  }
  if (!r.community_id.empty()) s.community_ids.insert(r.community_id);
}

void FlowReplay::AddMalformed(const std::string& where, const std::string& error) {
  if (stats_.malformed_lines++ < kMalformedKept) stats_.malformed.push_back(where + ": " + error);
}

ReplayResult FlowReplay::Judge(const classifier::Classifier& before_classifier, const k8s::ClusterState& after,
                               const classifier::Classifier& after_classifier,
                               const std::vector<ProtoPort>& only) const {
  std::unordered_map<std::string, const k8s::Pod*> now;
  for (const k8s::Pod* p : MatrixPods(after)) now.emplace(p->key(), p);
  ReplayResult out;
  for (const auto& [key, seen] : seen_) {
    const auto& [src, dst, pp] = key;
    if (!only.empty() && std::find(only.begin(), only.end(), pp) == only.end()) {
      out.other_port_records += seen.records;
      continue;
    }
    auto src_a = now.find(pods_[src]->key()), dst_a = now.find(pods_[dst]->key());
    if (src_a == now.end() || dst_a == now.end()) {
      out.pod_removed_records += seen.records;
      continue;
    }
    ++out.pairs;
    Judgement b = JudgePair(*pods_[src], *pods_[dst], before_classifier, pp);
    Judgement a = JudgePair(*src_a->second, *dst_a->second, after_classifier, pp);
    if (a.allowed == b.allowed) {
      ++out.unchanged_pairs;
      continue;
    }
    out.flips.push_back({pods_[src]->key(), pods_[dst]->key(), pp, seen.records, seen.community_ids.size(),
                         seen.last_ns, seen.allowed, seen.denied, seen.audit, b, a});
  }
  return out;
}

Status ReadFlowLogs(const FlowLogFiles& files, FlowReplay* replay) {
  std::string errors;
  for (const std::string& path : files.files) {
    flowlog::FileRecordSource source({.path = path, .include_rotated = files.include_rotated, .follow = false});
    flowlog::FlowRecord r;
    std::string line, error;
    uint64_t lines = 0;
    for (;;) {
      auto res = source.Next(&r, &line, &error);
      if (res == flowlog::RecordSource::Result::kEnd) break;
      if (files.progress && ++lines % files.progress_every == 0) files.progress(source.where(), lines);
      if (res == flowlog::RecordSource::Result::kMalformed) {
        replay->AddMalformed(source.where(), error);
        continue;
      }
      replay->Add(r);
    }
    for (const auto& e : source.open_errors()) errors += (errors.empty() ? "" : "; ") + e;
  }
  if (!errors.empty()) return Status::Error("--flows: cannot read " + errors);
  return Status::Ok();
}

json ObservedJson(const ReplayResult& r, const ReplayStats& stats, const v1::RuleTables& before_tables,
                  const v1::RuleTables& after_tables) {
  json observed = json::array();
  uint64_t cut = 0;
  for (const ObservedFlip& f : r.flips) {
    json recorded = json::object();
    if (f.recorded_allowed) recorded["allowed"] = f.recorded_allowed;
    if (f.recorded_denied) recorded["denied"] = f.recorded_denied;
    if (f.recorded_audit) recorded["audit"] = f.recorded_audit;
    cut += f.after.allowed ? 0 : 1;
    observed.push_back(
        {{"from", f.from},
         {"to", f.to},
         {"protocol", k8s::ProtocolName(f.port.protocol)},
         {"port", f.port.port},
         {"records", f.records},
         {"connections", f.connections},
         {"last_seen", flowlog::FormatTime(f.last_seen_ns)},
         {"recorded", std::move(recorded)},
         {"before", f.before.allowed},
         {"after", f.after.allowed},
         {"change", f.after.allowed ? "admitted" : "cut"},
         {"decided_by",
          {{"before", JudgementJson(before_tables, f.before)}, {"after", JudgementJson(after_tables, f.after)}}}});
  }
  json unknown = json::array();
  for (const auto& [end, n] : TopUnknown(stats)) unknown.push_back({{"end", end}, {"records", n}});
  json summary = {
      {"records", stats.records},
      {"lost_events", stats.lost_events},
      {"pairs", r.pairs},
      {"cut", cut},
      {"admitted", r.flips.size() - cut},
      {"unchanged", r.unchanged_pairs},
      {"unknown", {{"records", stats.unknown_records}, {"ends", stats.unknown.size()}, {"top", std::move(unknown)}}},
      {"not_judged",
       {{"no_port", stats.no_port_records},
        {"same_pod", stats.same_pod_records},
        {"other_port", r.other_port_records},
        {"pod_removed", r.pod_removed_records}}},
      {"malformed", {{"lines", stats.malformed_lines}, {"first", stats.malformed}}}};
  return json{{"observed", std::move(observed)}, {"observed_summary", std::move(summary)}};
}

std::string ObservedTable(const ReplayResult& r, const ReplayStats& stats, const v1::RuleTables& after_tables) {
  std::ostringstream o;
  o << "\nobserved connections (flow log: " << stats.records << " records, " << r.pairs << " pod pairs and ports)\n";
  if (r.flips.empty()) o << "no observed connection changes its verdict\n";
  for (const ObservedFlip& f : r.flips) {
    o << (f.after.allowed ? "+ " : "- ") << f.from << " -> " << f.to << " " << k8s::ProtocolName(f.port.protocol)
      << "/" << f.port.port << "  " << (f.after.allowed ? "newly allowed" : "cut") << "  " << f.records
      << " records, " << f.connections << " connections, last seen " << flowlog::FormatTime(f.last_seen_ns)
      << "  after: " << DecidedText(JudgementJson(after_tables, f.after), f.after.allowed) << "\n";
  }
  o << "unchanged: " << r.unchanged_pairs << " pod pairs and ports\n";
  if (stats.unknown_records > 0) {
    o << "not pods of the cluster: " << stats.unknown_records << " records (";
    bool first = true;
    for (const auto& [end, n] : TopUnknown(stats)) {
      o << (first ? "" : ", ") << end << ": " << n;
      first = false;
    }
    o << (stats.unknown.size() > kUnknownShown ? ", ...)\n" : ")\n");
  }
  const uint64_t not_judged =
      stats.no_port_records + stats.same_pod_records + r.other_port_records + r.pod_removed_records;
  if (not_judged > 0) {
    o << "not judged: " << stats.no_port_records << " without a port, " << stats.same_pod_records
      << " within one pod, " << r.other_port_records << " on other ports, " << r.pod_removed_records
      << " of pods the change deletes\n";
  }
  if (stats.lost_events > 0) o << "the log says " << stats.lost_events << " events were lost (not logged)\n";
  if (stats.malformed_lines > 0) {
    o << "malformed lines skipped: " << stats.malformed_lines << " (first at " << stats.malformed.front() << ")\n";
  }
  return o.str();
}

}  // namespace netfence::reach
