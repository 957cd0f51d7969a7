// SPDX-License-Identifier: Apache-2.0
// netfencectl flows: read the flow log (netfence.flow/v1 NDJSON) written by netfence-agent:
// the file and its rotated siblings, or follow it live; or the agent's live stream (gRPC
// FlowObserver, --agent); filter; print records as JSON lines or a table, or summarize them.
//
// Records come from a flowlog::RecordSource: the file (FileRecordSource) or the agent's
// Observe stream (ObserveRecordSource, filtered on the agent); everything after is the same.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "common/grpc/tls_credentials.h"
#include "controlplane/ctl/ctl.h"
#include "dataplane/flowlog/flow_filter.h"
#include "dataplane/flowlog/flow_summary.h"
#include "dataplane/flowlog/observe/observe_request.h"
#include "dataplane/flowlog/observe/observe_source.h"
#include "dataplane/flowlog/record_source.h"
#include "dataplane/flowlog/time_format.h"

namespace netfence::ctl {

namespace {

using flowlog::FlowRecord;

std::atomic<flowlog::RecordSource*> g_source{nullptr};

void OnSignal(int) {
  if (auto* s = g_source.load()) s->Stop();  // only an atomic store: async-signal-safe
}

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

std::string Address(const flowlog::Endpoint& e) {
  if (!e.ip) return "*";
  std::string ip = e.ip->str();
  if (!e.port) return ip;
  return (e.ip->is_v4() ? ip : "[" + ip + "]") + ":" + std::to_string(*e.port);
}

std::string Side(const flowlog::Endpoint& e) {
  return e.pod.empty() ? Address(e) : e.ns + "/" + e.pod + " " + Address(e);
}

std::string Pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string Policies(const FlowRecord& r) {
  std::string out;
  for (const auto& p : r.policies) {
    if (!out.empty()) out += ", ";
    out += (p.cluster() ? p.kind : p.ns) + "/" + p.name + " " + std::string(flowlog::DirectionName(p.direction));
    out += p.rule ? " rule " + std::to_string(*p.rule) : " (isolates)";
    if (p.cluster() && p.rule) {
      out += " " + p.action;
      if (p.rule_name && !p.rule_name->empty()) out += " \"" + *p.rule_name + "\"";
    }
  }
  return out;
}

// One line per record, for a person.
std::string TableLine(const FlowRecord& r) {
  std::string line = flowlog::FormatTime(r.time_ns) + "  " + Pad(std::string(flowlog::EventName(r.event)), 6) + "  ";
  if (r.event == flowlog::EventKind::kLost) {
    return line + "LOST " + std::to_string(r.lost_events) + " event(s) at " + r.lost_at + " between " +
           flowlog::FormatTime(r.since_ns) + " and " + flowlog::FormatTime(r.until_ns) +
           (r.node.empty() ? "" : " on " + r.node);
  }
  line += Pad(std::string(flowlog::VerdictName(r.verdict)), 7) + "  " +
          Pad(std::string(flowlog::DirectionName(r.direction)), 7) + "  " + Pad(flowlog::ProtoName(r.proto), 6) + "  " +
          Side(r.src) + " -> " + Side(r.dst) + "  ";
  if (r.event == flowlog::EventKind::kDrop) {
    line += "drops=" + std::to_string(r.count);
  } else {
    line += "packets=" + std::to_string(r.packets);
  }
  line += " bytes=" + std::to_string(r.bytes) + "  " + r.reason;
  if (!r.end_reason.empty()) line += " end=" + r.end_reason;
  std::string pol = Policies(r);
  if (!pol.empty()) line += "  " + pol;
  return line;
}

// Ctrl-C for the stream: gRPC runs threads of its own, so the signals are taken by one thread
// (sigwait) that stops the source, instead of a handler.
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

constexpr const char* kTableHeader =
    "TIME                            EVENT   VERDICT  DIR      PROTO   SOURCE -> DESTINATION  COUNTERS  REASON  "
    "POLICIES";

}  // namespace

void AddFlowsCommand(CLI::App* app) {
  struct Opts {
    std::string file = "/var/log/netfence/flows.jsonl";
    bool no_rotated = false, follow = false, summary = false;
    std::vector<std::string> ns, src_ns, dst_ns, pod, src_pod, dst_pod, verdict, event, policy;
    std::string since, until, output = "json";
    size_t top = 10;
    std::string agent, tls_cert, tls_key, tls_ca, tls_server_name;
    bool plaintext = false;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app->add_subcommand("flows", "Read the flow log: filter, print or follow records, or summarize them");
  cmd->add_option("--file", opts->file, "The flow log (its rotated siblings FILE-<time>.jsonl are read first)")
      ->capture_default_str();
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
                                 "json (the records' lines as written) or table (one line each, for a person); "
                                 "--summary prints text unless -o json")
                     ->check(CLI::IsMember({"json", "table"}))
                     ->capture_default_str();
  cmd->add_flag("--summary", opts->summary, "Instead of records: top talkers, top denied pairs, policy hits");
  cmd->add_option("--top", opts->top, "Entries per list of --summary")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  auto* agent =
      cmd->add_option("--agent", opts->agent,
                      "Read the agent's live flow log instead of a file: unix:PATH (the agent's --observe-socket, "
                      "e.g. unix:/run/netfence/observe.sock) or HOST:PORT (its --observe-address). The "
                      "agent's recent history first, then with --follow every new record");
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
      "--since/--until/--event, so a gap in the log is never hidden. Lines that are not records are\n"
      "skipped and counted on stderr. Exit 1 when a file cannot be read.\n\n"
      "Examples:\n"
      "  netfencectl flows --namespace shop --verdict denied --since 10m -o table\n"
      "  netfencectl flows --pod shop/db --policy shop/allow-db --since 2026-12-01T19:00:00Z\n"
      "  netfencectl flows --file /var/log/netfence/flows.jsonl --follow -o table\n"
      "  netfencectl flows --agent unix:/run/netfence/observe.sock --follow --verdict denied -o table\n"
      "  netfencectl flows --summary --top 5 --since 1h");
  cmd->callback([opts, output, agent]() {
    flowlog::FlowFilter filter;
    filter.namespaces = Split(opts->ns);
    filter.src_namespaces = Split(opts->src_ns);
    filter.dst_namespaces = Split(opts->dst_ns);
    filter.pods = Split(opts->pod);
    filter.src_pods = Split(opts->src_pod);
    filter.dst_pods = Split(opts->dst_pod);
    for (const auto& v : Split(opts->verdict)) {
      auto parsed = flowlog::ParseVerdictName(v);
      if (!parsed) {
        std::cerr << "netfencectl flows: --verdict: \"" << v << "\" is not allowed, denied or audit\n";
        throw CLI::RuntimeError(2);
      }
      filter.verdicts.push_back(*parsed);
    }
    for (const auto& e : Split(opts->event)) {
      auto parsed = flowlog::ParseEventName(e);
      if (!parsed) {
        std::cerr << "netfencectl flows: --event: \"" << e << "\" is not start, update, end, drop or lost\n";
        throw CLI::RuntimeError(2);
      }
      filter.events.push_back(*parsed);
    }
    for (const auto& p : Split(opts->policy)) {
      auto slash = p.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == p.size()) {
        std::cerr << "netfencectl flows: --policy: \"" << p << "\" is not NAMESPACE/NAME\n";
        throw CLI::RuntimeError(2);
      }
      filter.policies.emplace_back(p.substr(0, slash), p.substr(slash + 1));
    }
    const int64_t now = flowlog::WallNowNs();
    for (auto [flag, text, dst] : {std::tuple{"--since", &opts->since, &filter.since_ns},
                                   std::tuple{"--until", &opts->until, &filter.until_ns}}) {
      if (text->empty()) continue;
      *dst = flowlog::ParseTimeOrAgo(*text, now);
      if (!*dst) {
        std::cerr << "netfencectl flows: " << flag << ": \"" << *text
                  << "\" is neither an RFC 3339 time (2026-12-01T19:33:34Z) nor a duration (10m, 2h)\n";
        throw CLI::RuntimeError(2);
      }
    }
    if (opts->summary && opts->follow) {
      std::cerr << "netfencectl flows: --summary reads to the end of the log; it cannot --follow\n";
      throw CLI::RuntimeError(2);
    }

    std::unique_ptr<flowlog::FileRecordSource> file;
    std::unique_ptr<flowlog::ObserveRecordSource> stream;
    flowlog::RecordSource* source = nullptr;
    if (agent->count() > 0) {
      flowlog::ObserveSourceOptions so;
      so.target = opts->agent;
      so.tls_server_name = opts->tls_server_name;
      so.request = flowlog::RequestFromFilter(filter);
      so.request.set_follow(opts->follow);
      if (opts->agent.rfind("unix:", 0) != 0) {
        if (!opts->plaintext && (opts->tls_cert.empty() || opts->tls_key.empty() || opts->tls_ca.empty())) {
          std::cerr << "netfencectl flows: --agent " << opts->agent
                    << ": TCP needs --tls-cert, --tls-key and --tls-ca (or --insecure-plaintext)\n";
          throw CLI::RuntimeError(2);
        }
        auto creds = tls::ClientCredentials({opts->tls_cert, opts->tls_key, opts->tls_ca}, opts->plaintext);
        if (!creds.ok()) {
          std::cerr << "netfencectl flows: " << creds.status().message() << "\n";
          throw CLI::RuntimeError(2);
        }
        so.credentials = *creds;
      }
      stream = std::make_unique<flowlog::ObserveRecordSource>(std::move(so));
      source = stream.get();
    } else {
      file = std::make_unique<flowlog::FileRecordSource>(
          flowlog::FileSourceOptions{.path = opts->file, .include_rotated = !opts->no_rotated, .follow = opts->follow});
      source = file.get();
      g_source = source;
      std::signal(SIGINT, OnSignal);
      std::signal(SIGTERM, OnSignal);
    }
    std::optional<StopOnSignal> stop_on_signal;
    if (stream) stop_on_signal.emplace(source);

    flowlog::FlowSummary summary;
    const bool table = opts->output == "table";
    if (table && !opts->summary) std::cout << kTableHeader << "\n";
    uint64_t malformed = 0;
    std::string first_bad;
    FlowRecord r;
    std::string line, error;
    for (;;) {
      auto res = source->Next(&r, &line, &error);
      if (res == flowlog::RecordSource::Result::kEnd) break;
      if (res == flowlog::RecordSource::Result::kMalformed) {
        if (malformed++ == 0) first_bad = source->where() + ": " + error;
        continue;
      }
      if (!filter.Matches(r)) continue;
      if (opts->summary) {
        summary.Add(r);
        continue;
      }
      std::cout << (table ? TableLine(r) : line) << "\n";
      if (opts->follow) std::cout.flush();
    }
    stop_on_signal.reset();
    g_source = nullptr;
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (opts->summary) {
      if (table || output->count() == 0) {
        std::cout << summary.ToText(opts->top);
      } else {
        std::cout << summary.ToJson(opts->top).dump() << "\n";
      }
    }
    std::cout.flush();
    if (malformed > 0) {
      std::cerr << "netfencectl flows: skipped " << malformed << " malformed line(s); first at " << first_bad << "\n";
    }
    if (stream) {
      if (stream->history().truncated()) {
        std::cerr << "netfencectl flows: the agent's history starts at "
                  << flowlog::FormatTime(stream->history().oldest_unix_nanos())
                  << "; earlier records are in its flow log file\n";
      }
      if (!stream->status().ok()) {
        std::cerr << "netfencectl flows: " << stream->status().message() << "\n";
        throw CLI::RuntimeError(1);
      }
      return;
    }
    for (const auto& e : file->open_errors()) std::cerr << "netfencectl flows: cannot read " << e << "\n";
    if (!file->open_errors().empty()) throw CLI::RuntimeError(1);
  });
}

}  // namespace netfence::ctl
