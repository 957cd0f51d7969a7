// SPDX-License-Identifier: Apache-2.0
// netfencectl flows: read the flow log (netfence.flow/v1 NDJSON) written by netfence-agent:
// files and their rotated siblings (several nodes' at once, merged in time order), or follow
// one live; or agents' live streams (gRPC FlowObserver, --agent); filter; then print records
// (-o json|jsonpb|table|csv, --fields), summarize them (--summary), draw who talked to whom
// (--graph FILE, -o dot) or follow one connection across nodes (--flow COMMUNITY_ID).
//
// Records come from flowlog::RecordSources (FileRecordSource, ObserveRecordSource, merged by
// MergedRecordSource); everything after is the same whatever the source.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "common/grpc/tls_credentials.h"
#include "controlplane/ctl/ctl.h"
#include "controlplane/ctl/graphviz.h"
#include "dataplane/flowlog/field_mask.h"
#include "dataplane/flowlog/flow_filter.h"
#include "dataplane/flowlog/flow_graph.h"
#include "dataplane/flowlog/flow_summary.h"
#include "dataplane/flowlog/flow_timeline.h"
#include "dataplane/flowlog/merged_source.h"
#include "dataplane/flowlog/observe/flow_proto.h"
#include "dataplane/flowlog/observe/observe_request.h"
#include "dataplane/flowlog/observe/observe_source.h"
#include "dataplane/flowlog/record_format.h"
#include "dataplane/flowlog/record_source.h"
#include "dataplane/flowlog/time_format.h"

namespace netfence::ctl {

namespace {

using flowlog::FlowRecord;

// Splits "a,b" and repeated flags into one list.
std::vector<std::string> Split(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::stringstream ss(v);
    for (std::string item; std::getline(ss, item, ',');) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

[[noreturn]] void Fail(const std::string& message, int code = 2) {
  std::cerr << "netfencectl flows: " << message << "\n";
  throw CLI::RuntimeError(code);
}

// Ctrl-C: gRPC runs threads of its own, so the signals are taken by one thread (sigwait) that
// stops the sources, instead of a handler.
class StopOnSignal {
 public:
  explicit StopOnSignal(flowlog::RecordSource* source) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);  // before gRPC makes its threads: they inherit it
    thread_ = std::thread([this, source] {
      int sig = 0;
      sigwait(&set_, &sig);
      if (!done_) source->Stop();
    });
  }
  ~StopOnSignal() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);  // ends the sigwait
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t set_, old_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

struct Opts {
  std::vector<std::string> files;
  std::vector<std::string> agents;
  bool no_rotated = false, follow = false, summary = false;
  std::vector<std::string> ns, src_ns, dst_ns, pod, src_pod, dst_pod, verdict, event, policy, fields;
  std::string since, until, output = "json", graph, graph_by = "pod", flow;
  size_t top = 10;
  std::string tls_cert, tls_key, tls_ca, tls_server_name;
  bool plaintext = false;
};

flowlog::FlowFilter FilterOf(const Opts& o) {
  flowlog::FlowFilter filter;
  filter.namespaces = Split(o.ns);
  filter.src_namespaces = Split(o.src_ns);
  filter.dst_namespaces = Split(o.dst_ns);
  filter.pods = Split(o.pod);
  filter.src_pods = Split(o.src_pod);
  filter.dst_pods = Split(o.dst_pod);
  for (const auto& v : Split(o.verdict)) {
    auto parsed = flowlog::ParseVerdictName(v);
    if (!parsed) Fail("--verdict: \"" + v + "\" is not allowed, denied or audit");
    filter.verdicts.push_back(*parsed);
  }
  for (const auto& e : Split(o.event)) {
    auto parsed = flowlog::ParseEventName(e);
    if (!parsed) Fail("--event: \"" + e + "\" is not start, update, end, drop or lost");
    filter.events.push_back(*parsed);
  }
  for (const auto& p : Split(o.policy)) {
    auto slash = p.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == p.size()) {
      Fail("--policy: \"" + p + "\" is not NAMESPACE/NAME");
    }
    filter.policies.emplace_back(p.substr(0, slash), p.substr(slash + 1));
  }
  if (!o.flow.empty()) filter.community_ids = {o.flow};
  const int64_t now = flowlog::WallNowNs();
  for (auto [flag, text, dst] :
       {std::tuple{"--since", &o.since, &filter.since_ns}, std::tuple{"--until", &o.until, &filter.until_ns}}) {
    if (text->empty()) continue;
    *dst = flowlog::ParseTimeOrAgo(*text, now);
    if (!*dst) {
      Fail(std::string(flag) + ": \"" + *text +
           "\" is neither an RFC 3339 time (2026-12-01T19:33:34Z) nor a duration (10m, 2h)");
    }
  }
  return filter;
}

// The sources the flags name, and what reading them left to say.
struct Sources {
  std::vector<std::unique_ptr<flowlog::FileRecordSource>> files;
  std::vector<std::unique_ptr<flowlog::ObserveRecordSource>> streams;
  std::unique_ptr<flowlog::MergedRecordSource> merged;
  flowlog::RecordSource* source = nullptr;

  size_t count() const { return files.size() + streams.size(); }
};

void Open(const Opts& o, const flowlog::FlowFilter& filter, const flowlog::FieldMask& agent_mask, Sources* s) {
  for (const std::string& target : o.agents) {
    flowlog::ObserveSourceOptions so;
    so.target = target;
    so.tls_server_name = o.tls_server_name;
    so.request = flowlog::RequestFromFilter(filter);
    so.request.set_follow(o.follow);
    for (const std::string& p : agent_mask.paths()) so.request.mutable_field_mask()->add_paths(p);
    if (target.rfind("unix:", 0) != 0) {
      if (!o.plaintext && (o.tls_cert.empty() || o.tls_key.empty() || o.tls_ca.empty())) {
        Fail("--agent " + target + ": TCP needs --tls-cert, --tls-key and --tls-ca (or --insecure-plaintext)");
      }
      auto creds = tls::ClientCredentials({o.tls_cert, o.tls_key, o.tls_ca}, o.plaintext);
      if (!creds.ok()) Fail(creds.status().message());
      so.credentials = *creds;
    }
    s->streams.push_back(std::make_unique<flowlog::ObserveRecordSource>(std::move(so)));
  }
  if (o.agents.empty()) {
    for (const std::string& path : o.files) {
      s->files.push_back(std::make_unique<flowlog::FileRecordSource>(
          flowlog::FileSourceOptions{.path = path, .include_rotated = !o.no_rotated, .follow = o.follow}));
    }
  } else if (!o.files.empty()) {
    for (const std::string& path : o.files) {  // --file given alongside --agent
      s->files.push_back(std::make_unique<flowlog::FileRecordSource>(
          flowlog::FileSourceOptions{.path = path, .include_rotated = !o.no_rotated, .follow = false}));
    }
  }
  std::vector<flowlog::RecordSource*> all;
  for (auto& f : s->files) all.push_back(f.get());
  for (auto& st : s->streams) all.push_back(st.get());
  if (all.size() == 1) {
    s->source = all[0];
  } else {
    s->merged = std::make_unique<flowlog::MergedRecordSource>(std::move(all));
    s->source = s->merged.get();
  }
}

// After the end: what went wrong reading (files that could not be opened, streams that
// failed), on stderr; true when the command must fail.
bool ReportSources(const Sources& s) {
  bool failed = false;
  for (const auto& f : s.files) {
    for (const auto& e : f->open_errors()) std::cerr << "netfencectl flows: cannot read " << e << "\n";
    failed |= !f->open_errors().empty();
  }
  for (const auto& st : s.streams) {
    if (st->history().truncated()) {
      std::cerr << "netfencectl flows: the agent's history starts at "
                << flowlog::FormatTime(st->history().oldest_unix_nanos())
                << "; earlier records are in its flow log file\n";
    }
    if (!st->status().ok()) {
      std::cerr << "netfencectl flows: " << st->status().message() << "\n";
      failed = true;
    }
  }
  return failed;
}

std::string DescribeSources(const Opts& o) {
  std::string out;
  for (const auto& a : o.agents) out += (out.empty() ? "" : ", ") + a;
  if (o.agents.empty() || !o.files.empty()) {
    for (const auto& f : o.files) out += (out.empty() ? "" : ", ") + f;
  }
  return out;
}

void Run(const Opts& o, bool output_given) {
  const flowlog::FlowFilter filter = FilterOf(o);
  auto parsed_mask = flowlog::FieldMask::Parse(Split(o.fields));
  if (!parsed_mask.ok()) Fail("--fields: " + parsed_mask.status().message());
  const flowlog::FieldMask mask = std::move(parsed_mask).value();
  const bool dot_out = o.output == "dot";
  const bool graph = dot_out || !o.graph.empty();
  const int modes = (o.summary ? 1 : 0) + (graph ? 1 : 0) + (o.flow.empty() ? 0 : 1);
  if (modes > 1) Fail("--summary, --graph (-o dot) and --flow are different views: choose one");
  if (o.follow && modes > 0) Fail("--summary, --graph and --flow read to the end of the log; they cannot --follow");
  if (!mask.empty() && (o.summary || graph)) Fail("--fields selects what records print: not with --summary or --graph");
  if (!o.graph.empty() && dot_out) Fail("--graph FILE writes the picture; -o dot prints its DOT: choose one");
  if (o.follow && o.agents.size() + o.files.size() > 1)
    Fail("--follow reads one log or one agent; several are merged only to their end");
  std::optional<flowlog::FlowGraph::By> by;
  if (o.graph_by == "pod") by = flowlog::FlowGraph::By::kPod;
  if (o.graph_by == "workload") by = flowlog::FlowGraph::By::kWorkload;
  if (o.graph_by == "namespace") by = flowlog::FlowGraph::By::kNamespace;
  if (!by) Fail("--graph-by: \"" + o.graph_by + "\" is not pod, workload or namespace");

  // The agent applies the mask itself when it is the only source and records print as they
  // come (a timeline needs whole records to sort).
  const bool agent_masks = !mask.empty() && o.agents.size() == 1 && o.files.empty() && o.flow.empty();
  Sources sources;
  Open(o, filter, agent_masks ? mask : flowlog::FieldMask{}, &sources);
  std::optional<StopOnSignal> stop_on_signal;
  stop_on_signal.emplace(sources.source);

  const flowlog::Shape shape = dot_out ? flowlog::Shape::kJson : *flowlog::ParseShape(o.output);
  const flowlog::RecordPrinter printer(shape, mask, [](std::string_view l) { return flowlog::JsonpbLine(l); });
  flowlog::FlowSummary summary;
  flowlog::FlowGraph flow_graph({.by = *by, .title = "netfence flows: " + DescribeSources(o)});
  flowlog::FlowTimeline timeline(o.flow);
  const bool listing = modes == 0;
  if (listing) std::cout << printer.Header();
  uint64_t malformed = 0, matched = 0;
  std::string first_bad, print_error;
  FlowRecord r;
  std::string line, error;
  for (;;) {
    auto res = sources.source->Next(&r, &line, &error);
    if (res == flowlog::RecordSource::Result::kEnd) break;
    if (res == flowlog::RecordSource::Result::kMalformed) {
      if (malformed++ == 0) first_bad = sources.source->where() + ": " + error;
      continue;
    }
    const bool partial = agent_masks && r.time_ns == 0 && r.event != flowlog::EventKind::kLost;
    if (!partial && !filter.Matches(r)) continue;  // a partial record was filtered by the agent
    ++matched;
    if (o.summary) {
      summary.Add(r);
    } else if (graph) {
      flow_graph.Add(r);
    } else if (!o.flow.empty()) {
      timeline.Add(r);
    } else {
      auto text = printer.Line(partial ? nullptr : &r, line);
      if (!text.ok()) {
        if (print_error.empty()) print_error = sources.source->where() + ": " + text.status().message();
        continue;
      }
      std::cout << *text;
      if (o.follow) std::cout.flush();
    }
  }
  stop_on_signal.reset();

  if (o.summary) {
    if (shape == flowlog::Shape::kTable || !output_given) {
      std::cout << summary.ToText(o.top);
    } else {
      std::cout << summary.ToJson(o.top).dump() << "\n";
    }
  } else if (graph) {
    const std::string dot = flow_graph.ToDot();
    if (dot_out) {
      std::cout << dot;
    } else if (Status s = RenderDot(dot, o.graph); !s.ok()) {
      Fail("--graph " + s.message(), 1);
    } else {
      std::cerr << "netfencectl flows: " << flow_graph.Edges().size() << " edge(s) between "
                << flow_graph.Vertices().size() << " vertices from " << matched << " record(s) in " << o.graph << "\n";
    }
  } else if (!o.flow.empty()) {
    if (shape == flowlog::Shape::kTable && mask.empty()) {
      std::cout << timeline.ToText();
    } else {
      std::cout << printer.Header();
      for (const FlowRecord& rec : timeline.Sorted()) {
        auto text = printer.Line(&rec, flowlog::ToJson(rec));
        if (text.ok()) std::cout << *text;
      }
    }
  }
  std::cout.flush();
  if (malformed > 0) {
    std::cerr << "netfencectl flows: skipped " << malformed << " malformed line(s); first at " << first_bad << "\n";
  }
  if (!print_error.empty()) std::cerr << "netfencectl flows: -o " << o.output << ": " << print_error << "\n";
  if (ReportSources(sources)) throw CLI::RuntimeError(1);
}

}  // namespace

void AddFlowsCommand(CLI::App* app) {
  auto opts = std::make_shared<Opts>();
  auto* cmd = app->add_subcommand(
      "flows", "Read the flow log: filter, print or follow records, summarize them, draw who talked to whom");
  cmd->add_option("--file", opts->files,
                  "A flow log (its rotated siblings FILE-<time>.jsonl are read first); repeat for several "
                  "nodes' logs, merged in time order [default: /var/log/netfence/flows.jsonl]");
  cmd->add_flag("--no-rotated", opts->no_rotated, "Read only FILE, not its rotated siblings");
  cmd->add_flag("-f,--follow", opts->follow, "After the end, wait for new records (across rotations) until Ctrl-C");
  cmd->add_option("--namespace", opts->ns, "Either end in namespace NS (repeat or comma-separate for any of several)");
  cmd->add_option("--src-namespace", opts->src_ns, "The source in namespace NS");
  cmd->add_option("--dst-namespace", opts->dst_ns, "The destination in namespace NS");
  cmd->add_option("--pod", opts->pod, "Either end is pod NS/POD (or POD, in any namespace)");
  cmd->add_option("--src-pod", opts->src_pod, "The source is pod NS/POD (or POD)");
  cmd->add_option("--dst-pod", opts->dst_pod, "The destination is pod NS/POD (or POD)");
  cmd->add_option("--verdict", opts->verdict, "allowed, denied or audit");
  cmd->add_option("--event", opts->event, "start, update, end, drop or lost");
  cmd->add_option(
      "--policy", opts->policy,
      "Records whose policies name NS/NAME (a cluster policy: KIND/NAME, e.g. ClusterNetworkPolicy/deny-imds)");
  cmd->add_option("--since", opts->since, "Records at or after: RFC 3339 time, or a duration ago (10m, 2h, 1h30m)");
  cmd->add_option("--until", opts->until, "Records at or before: RFC 3339 time, or a duration ago");
  auto* output = cmd->add_option("-o,--output", opts->output,
                                 "json (the records' lines as written), jsonpb (netfence.v1.Flow in protobuf's JSON "
                                 "mapping), table (for a person), csv (a header row, then one row per record), or "
                                 "dot (the --graph picture as Graphviz DOT); --summary prints text unless -o json")
                     ->check(CLI::IsMember({"json", "jsonpb", "table", "csv", "dot"}))
                     ->capture_default_str();
  cmd->add_option(
      "--fields", opts->fields,
      "Only these fields of each record, comma-separated paths over the record's keys: "
      "src.pod,dst.pod,verdict,policies (json/jsonpb: the fields; table/csv: the columns, in this "
      "order). With one --agent the agent sends only these. Fields: " +
          [] {
            std::string all;
            for (const auto& f : flowlog::FieldMask::KnownPaths()) all += (all.empty() ? "" : " ") + f;
            return all;
          }());
  cmd->add_flag("--summary", opts->summary, "Instead of records: top talkers, top denied pairs, policy hits");
  cmd->add_option("--top", opts->top, "Entries per list of --summary")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--graph", opts->graph,
                  "Instead of records: who talked to whom, drawn by Graphviz into FILE (.svg, .png, .pdf; .dot "
                  "for the DOT text): namespaces as clusters, pods as boxes, an edge per verdict with its "
                  "ports, counts and deciding policies (hover in the SVG)");
  cmd->add_option("--graph-by", opts->graph_by, "Vertices of --graph and -o dot: pod, workload or namespace")
      ->capture_default_str();
  cmd->add_option("--flow", opts->flow,
                  "Instead of all records: every record of one connection (its Community ID, \"1:...\") from "
                  "every --file or --agent given, in the order things happened (start on the sender's node, "
                  "start or drop on the receiver's, updates, end)");
  auto* agent =
      cmd->add_option("--agent", opts->agents,
                      "Read an agent's live flow log instead of a file: unix:PATH (the agent's --observe-socket, "
                      "e.g. unix:/run/netfence/observe.sock) or HOST:PORT (its --observe-address); repeat for "
                      "several nodes. The agent's recent history first, then with --follow every new record");
  cmd->add_option("--tls-cert", opts->tls_cert, "With --agent HOST:PORT: this client's certificate (PEM)")
      ->needs(agent);
  cmd->add_option("--tls-key", opts->tls_key, "Its private key (PEM)")->needs(agent);
  cmd->add_option("--tls-ca", opts->tls_ca, "The CA the agent's certificate must chain to (PEM)")->needs(agent);
  cmd->add_option("--tls-server-name", opts->tls_server_name, "The name to check in the agent's certificate (its node)")
      ->needs(agent);
  cmd->add_flag("--insecure-plaintext", opts->plaintext, "With --agent HOST:PORT: no TLS (tests, never production)")
      ->needs(agent);
  cmd->footer(
      "Records are netfence.flow/v1 JSON lines (start, update, end, drop, lost). Filters combine with\n"
      "AND; several values of one filter combine with OR. --namespace and --pod match either end;\n"
      "--src-*/--dst-* one end. `lost` records (events the agent could not log) pass every filter but\n"
      "--since/--until/--event, and are never masked by --fields, so a gap in the log is never hidden.\n"
      "Lines that are not records are skipped and counted on stderr. Exit 1 when a file cannot be read.\n\n"
      "Examples:\n"
      "  netfencectl flows --namespace shop --verdict denied --since 10m -o table\n"
      "  netfencectl flows --pod shop/db --policy shop/allow-db --since 2026-12-01T19:00:00Z\n"
      "  netfencectl flows --file /var/log/netfence/flows.jsonl --follow -o table\n"
      "  netfencectl flows --agent unix:/run/netfence/observe.sock --follow --verdict denied -o table\n"
      "  netfencectl flows --fields src.pod,dst.pod,verdict,policies -o csv\n"
      "  netfencectl flows --file node-a.jsonl --file node-b.jsonl --graph flows.svg --since 1h\n"
      "  netfencectl flows --file node-a.jsonl --file node-b.jsonl --flow '1:LQU9qZlK+B5F3KDmev6m5PMibrg='\n"
      "  netfencectl flows --summary --top 5 --since 1h");
  cmd->callback([opts, output]() {
    Opts o = *opts;
    if (o.files.empty() && o.agents.empty()) o.files = {"/var/log/netfence/flows.jsonl"};
    if (!o.flow.empty() && output->count() == 0) o.output = "table";
    Run(o, output->count() > 0);
  });
}

}  // namespace netfence::ctl
