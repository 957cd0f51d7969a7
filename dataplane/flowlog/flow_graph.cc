// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/flow_graph.h"

#include <algorithm>
#include <cctype>

namespace netfence::flowlog {

namespace {

// A DOT double-quoted string.
std::string Q(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool AllOf(std::string_view s, int (*pred)(int)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [pred](char c) { return pred(static_cast<unsigned char>(c)); });
}
int LowerAlnum(int c) { return std::islower(c) || std::isdigit(c); }
bool HasDigit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string Join(const std::set<std::string>& items, std::string_view sep, size_t max) {
  std::string out;
  size_t n = 0;
  for (const std::string& i : items) {
    if (n == max) {
      out += std::string(sep) + "+" + std::to_string(items.size() - max) + " more";
      break;
    }
    out += (n++ ? std::string(sep) : "") + i;
  }
  return out;
}

std::string Plural(uint64_t n, const char* one) { return std::to_string(n) + " " + one + (n == 1 ? "" : "s"); }

struct Style {
  const char* color;
  const char* style;
  const char* verb;
};
Style StyleOf(Verdict v) {
  switch (v) {
    case Verdict::kAllowed:
      return {"#2e7d32", "solid", "allowed by"};
    case Verdict::kAudit:
      return {"#ef6c00", "bold", "audit: would be decided by"};
    case Verdict::kDenied:
      return {"#c62828", "dashed", "denied: isolated by"};
  }
  return {"black", "solid", ""};
}

}  // namespace

std::string FlowGraph::Workload(const Endpoint& e) {
  for (const char* key : {"app.kubernetes.io/name", "app"}) {
    for (const auto& [k, v] : e.labels) {
      if (k == key && !v.empty()) return v;
    }
  }
  std::string name = e.pod;
  auto last = [&name]() { return std::string_view(name).substr(name.rfind('-') + 1); };
  auto drop_last = [&name]() { name.erase(name.rfind('-')); };
  if (name.find('-') == std::string::npos) return name;
  if (AllOf(last(), std::isdigit)) {  // StatefulSet ordinal
    drop_last();
    return name;
  }
  if (last().size() == 5 && AllOf(last(), LowerAlnum)) {  // the pod's random suffix
    drop_last();
    // A Deployment's ReplicaSet: the pod-template-hash before it.
    if (name.find('-') != std::string::npos && last().size() >= 6 && last().size() <= 10 && AllOf(last(), LowerAlnum) &&
        HasDigit(last())) {
      drop_last();
    }
  }
  return name;
}

std::string FlowGraph::VertexOf(const Endpoint& e) {
  Vertex v;
  if (!e.pod.empty()) {
    v.ns = e.ns;
    switch (options_.by) {
      case By::kPod:
        v.label = e.pod;
        break;
      case By::kWorkload:
        v.label = Workload(e);
        break;
      case By::kNamespace:
        v.label = e.ns;
        break;
    }
    v.id = options_.by == By::kNamespace ? e.ns : e.ns + "/" + v.label;
  } else if (e.ip) {
    v.id = e.ip->str();
    v.label = v.id;
  } else {
    v.id = "(unknown)";
    v.label = "(addresses not recorded)";
  }
  vertices_.try_emplace(v.id, v);
  return v.id;
}

std::string FlowGraph::PortOf(const FlowRecord& r) {
  std::string p = ProtoName(r.proto);
  if (r.dst.port) p += "/" + std::to_string(*r.dst.port);
  return p;
}

void FlowGraph::AddDrop(const FlowRecord& r, const std::string& from, const std::string& to) {
  Edge& e = denied_[{from, to}];
  e.from = from;
  e.to = to;
  e.verdict = Verdict::kDenied;
  e.packets += r.count;
  e.bytes += r.bytes;
  e.ports.insert(PortOf(r));
  for (const PolicyRef& p : r.policies) e.policies.insert(p.ns + "/" + p.name);
  if (r.aggregation == Aggregation::kExact && !r.community_id.empty()) {
    denied_flows_[{from, to}].insert(r.community_id);
  } else {
    e.flows += std::max<uint64_t>(r.folded_tuples, 1);
  }
}

void FlowGraph::Add(const FlowRecord& r) {
  if (r.event == EventKind::kLost) {
    lost_events_ += r.lost_events;
    return;
  }
  const std::string from = VertexOf(r.src), to = VertexOf(r.dst);
  if (r.event == EventKind::kDrop) {
    AddDrop(r, from, to);
    if (!r.community_id.empty()) dropped_flows_.insert(r.community_id);
    return;
  }
  const std::string key = r.community_id.empty() ? r.node + "#" + std::to_string(r.flow_id) : r.community_id;
  FlowSeen& f = flows_[key];
  f.from = from;
  f.to = to;
  f.verdict = r.verdict;
  f.port = PortOf(r);
  // An audit edge names what would deny it (the tooltip's "would be decided by").
  for (const PolicyRef& p : r.is_audit() ? r.audit_policies : r.policies) f.policies.insert(p.ns + "/" + p.name);
  // The destination's node judged the receiving side; for an address that is no pod (or
  // a record without node names) the recording node judged all there is to judge.
  const bool receiver = r.dst.pod.empty() || r.dst.node.empty() || r.node.empty() || r.node == r.dst.node;
  (receiver ? f.from_receiver : f.from_sender) = true;
  auto& counters = receiver ? f.receiver_counters : f.sender_counters;
  auto& c = counters[{r.node, r.flow_id}];
  c.first = std::max(c.first, r.packets);
  c.second = std::max(c.second, r.bytes);
}

std::vector<FlowGraph::Edge> FlowGraph::Edges() const {
  std::map<std::tuple<std::string, std::string, Verdict>, Edge> edges;
  for (const auto& [key, f] : flows_) {
    // Seen only by the sender's node and dropped by another: it did not get through.
    if (!f.from_receiver && dropped_flows_.contains(key)) continue;
    Edge& e = edges[{f.from, f.to, f.verdict}];
    e.from = f.from;
    e.to = f.to;
    e.verdict = f.verdict;
    e.flows += 1;
    e.ports.insert(f.port);
    e.policies.insert(f.policies.begin(), f.policies.end());
    for (const auto& [who, c] : f.from_receiver ? f.receiver_counters : f.sender_counters) {
      e.packets += c.first;
      e.bytes += c.second;
    }
  }
  for (const auto& [key, d] : denied_) {
    Edge e = d;
    if (auto ids = denied_flows_.find(key); ids != denied_flows_.end()) e.flows += ids->second.size();
    edges[{d.from, d.to, Verdict::kDenied}] = std::move(e);
  }
  std::vector<Edge> out;
  out.reserve(edges.size());
  for (auto& [k, e] : edges) out.push_back(std::move(e));
  return out;
}

std::vector<FlowGraph::Vertex> FlowGraph::Vertices() const {
  std::vector<Vertex> out;
  for (const auto& [id, v] : vertices_) out.push_back(v);
  return out;
}

std::string FlowGraph::ToDot() const {
  std::string out = "digraph flows {\n";
  out += "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, nodesep=0.3, ranksep=1.2, newrank=true";
  std::string title = options_.title;
  if (lost_events_ != 0) {
    title += (title.empty() ? "" : "\n") + std::to_string(lost_events_) +
             " event(s) could not be logged in this period: edges may be missing";
  }
  if (!title.empty()) out += ", labelloc=t, label=" + Q(title);
  out += "];\n";
  out +=
      "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", color=\"#5b7db1\", "
      "fontname=\"Helvetica\"];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  std::map<std::string, std::vector<const Vertex*>> by_ns;
  for (const auto& [id, v] : vertices_) by_ns[v.ns].push_back(&v);
  for (const auto& [ns, vs] : by_ns) {
    const bool cluster = !ns.empty() && options_.by != By::kNamespace;
    std::string indent = "  ";
    if (cluster) {
      out += "  subgraph " + Q("cluster_" + ns) + " {\n    label=" + Q(ns) +
             "; style=\"rounded,filled\"; fillcolor=\"#f7f7f7\"; color=\"#9e9e9e\";\n";
      indent = "    ";
    }
    for (const Vertex* v : vs) {
      out += indent + Q(v->id) + " [label=" + Q(v->label);
      if (v->ns.empty()) out += ", shape=ellipse, style=dashed, fillcolor=white";
      out += "];\n";
    }
    if (cluster) out += "  }\n";
  }
  for (const Edge& e : Edges()) {
    const Style s = StyleOf(e.verdict);
    std::string label = Join(e.ports, ", ", 4) + "\n";
    label += e.verdict == Verdict::kDenied ? Plural(e.packets, "drop") : Plural(e.flows, "flow");
    std::string tooltip =
        std::string(VerdictName(e.verdict)) + ": " + e.from + " -> " + e.to + " (" + Join(e.ports, ", ", 100) + ")";
    if (!e.policies.empty()) tooltip += "\n" + std::string(s.verb) + " " + Join(e.policies, ", ", 100);
    out += "  " + Q(e.from) + " -> " + Q(e.to) + " [verdict=" + Q(VerdictName(e.verdict)) + ", color=" + Q(s.color) +
           ", fontcolor=" + Q(s.color) + ", style=" + Q(s.style) + ", label=" + Q(label) + ", tooltip=" + Q(tooltip) +
           ", flows=" + std::to_string(e.flows) + ", packets=" + std::to_string(e.packets) +
           ", bytes=" + std::to_string(e.bytes) + ", ports=" + Q(Join(e.ports, ",", 1000)) +
           ", policies=" + Q(Join(e.policies, ",", 1000)) + "];\n";
  }
  out += "}\n";
  return out;
}

}  // namespace netfence::flowlog
