// SPDX-License-Identifier: Apache-2.0
#include "controlplane/controller/controller_core.h"

#include <boost/asio/post.hpp>

#include "common/hits/hit_sums.h"
#include "common/tables/rule_keys.h"
#include "common/tables/table_set.h"
#include "common/tables/update_chunks.h"

namespace netfence::controller {
namespace {

constexpr size_t kGenerationHistory = 4096;

int64_t UnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<distribution::Registration> Registrations(const v1::EndpointReport& report) {
  std::vector<distribution::Registration> out;
  for (const auto& e : report.endpoints()) {
    distribution::Registration r{e.namespace_(), e.name(), {}};
    for (const auto& b : e.ips()) {
      if (auto ip = tables::AddrFromBytes(b)) r.ips.push_back(*ip);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

ControllerCore::ControllerCore(boost::asio::io_context& io, CoreOptions options)
    : io_(io), options_(std::move(options)), compiler_(options_.audit_by_default) {
  // Generations keep growing across controller restarts: they start at the start time (µs),
  // so an agent never mistakes a new controller's generation for one it holds.
  generation_ = static_cast<uint64_t>(UnixNanos() / 1000);
  if (!options_.info) options_.info = [](const std::string&) {};
  if (!options_.warn) options_.warn = [](const std::string&) {};
}

ControllerCore::~ControllerCore() = default;

int64_t ControllerCore::NowNanos() const { return UnixNanos(); }

void ControllerCore::OnEvents(std::vector<source::Event> events) {
  metrics_.events_applied += events.size();
  std::vector<source::Event> out = overlay_.OnSourceEvents(std::move(events));
  pending_.insert(pending_.end(), std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
  ScheduleCompile();
}

void ControllerCore::OnSynced() {
  synced_ = true;
  publish_all_ = true;  // sessions that connected meanwhile get their snapshot now
  options_.info("cluster state synced: serving agents");
  ScheduleCompile();
}

void ControllerCore::OnRejected(const k8s::ObjectError& error) {
  ++metrics_.objects_rejected;
  options_.warn("rejected: " + error.str());
}

void ControllerCore::ScheduleCompile() {
  if (compile_scheduled_) return;
  compile_scheduled_ = true;
  // Posted, not run now: events arriving meanwhile join the same generation.
  boost::asio::post(io_, [this] {
    compile_scheduled_ = false;
    Compile();
  });
}

void ControllerCore::Compile() {
  const bool first = generation_nanos_ == 0 && synced_;
  if (pending_.empty() && !registrations_changed_ && !first) {
    PublishAll();
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<source::Event> events = std::move(pending_);
  pending_.clear();
  compiler::IncrementalCompiler::Changes changes = compiler_.Apply(events);
  metrics_.tables_built += changes.tables_built;
  if (changes.empty() && !registrations_changed_ && !first) {
    PublishAll();
    return;
  }
  registrations_changed_ = false;

  ++generation_;
  generation_nanos_ = NowNanos();
  ++metrics_.generations;
  produced_.emplace_back(generation_, generation_nanos_);
  if (produced_.size() > kGenerationHistory) produced_.pop_front();
  for (const auto& p : changes.policies) policy_generation_[p] = generation_;
  std::map<std::string, v1::NodeUpdate> updates =
      views_.Advance(changes, generation_, generation_nanos_, /*full_snapshots=*/false);
  metrics_.last_compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.compile_seconds_total += metrics_.last_compile_seconds;
  if (!synced_) return;  // views advance, nothing leaves before the state is whole
  PublishAll();

  for (auto& [session, st] : sessions_) {
    if (st.node.empty()) continue;
    auto u = updates.find(st.node);
    if (u == updates.end()) continue;
    if (u->second.snapshot() || st.sent_generation != u->second.base_generation()) {
      SendSnapshot(session, st);
    } else {
      SendUpdate(session, st, u->second);
    }
  }
}

void ControllerCore::PublishAll() {
  if (!publish_all_ || !synced_) return;
  publish_all_ = false;
  for (auto& [session, st] : sessions_) {
    if (st.node.empty()) continue;
    const distribution::NodeView* view = views_.Find(st.node);
    if (view == nullptr || view->generation != st.sent_generation) SendSnapshot(session, st);
  }
}

namespace {

std::vector<std::shared_ptr<const v1::ControllerMessage>> Messages(v1::NodeUpdate update, size_t max_bytes,
                                                                   uint64_t* bytes) {
  std::vector<std::shared_ptr<const v1::ControllerMessage>> out;
  for (auto& part : tables::SplitUpdate(std::move(update), max_bytes)) {
    auto m = std::make_shared<v1::ControllerMessage>();
    *bytes += part.ByteSizeLong();
    *m->mutable_update() = std::move(part);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

void ControllerCore::SendUpdate(const std::shared_ptr<Session>& s, SessionState& st, const v1::NodeUpdate& u) {
  ++metrics_.updates_sent;
  st.sent_generation = u.generation();
  s->Send(Messages(u, options_.max_part_bytes, &metrics_.update_bytes_sent));
}

const std::vector<std::shared_ptr<const v1::ControllerMessage>>& ControllerCore::IpcacheParts() {
  if (ipcache_parts_generation_ == generation_ && !ipcache_parts_.empty()) return ipcache_parts_;
  v1::NodeUpdate u;
  u.set_snapshot(true);
  u.set_generation(generation_);
  const tables::TableSet& set = compiler_.set();
  u.mutable_ipcache()->Reserve(static_cast<int>(set.ipcache.size()));
  for (const auto& [ip, e] : set.ipcache) *u.add_ipcache() = e;
  ipcache_parts_.clear();
  for (auto& part : tables::SplitUpdate(std::move(u), options_.max_part_bytes)) {
    part.set_more(true);  // the node's own part follows
    auto m = std::make_shared<v1::ControllerMessage>();
    *m->mutable_update() = std::move(part);
    ipcache_parts_.push_back(std::move(m));
  }
  ipcache_parts_generation_ = generation_;
  return ipcache_parts_;
}

void ControllerCore::SendSnapshot(const std::shared_ptr<Session>& s, SessionState& st) {
  ++metrics_.snapshots_sent;
  ++metrics_.updates_sent;
  // The ipcache (the bulk, the same for every node) as shared parts, then the node's part.
  v1::NodeUpdate own = views_.Snapshot(st.node, generation_nanos_, /*with_ipcache=*/false);
  st.sent_generation = own.generation();
  std::vector<std::shared_ptr<const v1::ControllerMessage>> messages;
  if (own.generation() == generation_) {
    messages = IpcacheParts();
    for (const auto& m : messages) metrics_.update_bytes_sent += m->update().ByteSizeLong();
  } else {
    // A view that is not at the current generation (not possible today): send it whole.
    own = views_.Snapshot(st.node, generation_nanos_);
  }
  auto rest = Messages(std::move(own), options_.max_part_bytes, &metrics_.update_bytes_sent);
  messages.insert(messages.end(), rest.begin(), rest.end());
  s->Send(std::move(messages));
}

void ControllerCore::OnMessage(const std::shared_ptr<Session>& s, const v1::AgentMessage& m) {
  SessionState& st = sessions_[s];
  switch (m.msg_case()) {
    case v1::AgentMessage::kHello:
      OnHello(s, st, m.hello());
      break;
    case v1::AgentMessage::kAck: {
      if (st.node.empty()) break;
      NodeAcks& a = acks_[st.node];
      if (m.ack().ok()) {
        ++metrics_.acks;
        a.acked = std::max(a.acked, m.ack().generation());
        a.last_error.clear();
        if (options_.on_ack) options_.on_ack(st.node, m.ack().generation());
      } else {
        ++metrics_.nacks;
        a.last_error = m.ack().error();
        options_.warn("node " + st.node + " could not apply generation " + std::to_string(m.ack().generation()) + ": " +
                      m.ack().error());
      }
      break;
    }
    case v1::AgentMessage::kEndpoints:
      if (!st.node.empty()) OnRegistrations(st.node, m.endpoints(), /*always=*/true);
      break;
    case v1::AgentMessage::kRuleHits:
      if (st.node.empty()) break;
      hit_reports_[st.node] = m.rule_hits();
      hit_reports_[st.node].set_node(st.node);  // the node the stream said Hello as
      break;
    case v1::AgentMessage::kResync:
      if (st.node.empty()) break;
      options_.info("node " + st.node + " asks for a snapshot: " + m.resync().reason());
      if (synced_) SendSnapshot(s, st);
      break;
    default:
      break;
  }
}

void ControllerCore::OnHello(const std::shared_ptr<Session>& s, SessionState& st, const v1::Hello& hello) {
  if (hello.node().empty()) {
    s->Close("Hello without a node name");
    return;
  }
  if (options_.require_node_identity && s->AuthenticatedNode() != hello.node()) {
    options_.warn("refused an agent saying it is node " + hello.node() + ": its certificate names '" +
                  s->AuthenticatedNode() + "'");
    s->Close("this certificate is not node " + hello.node() + "'s (its common name is '" + s->AuthenticatedNode() +
             "')");
    return;
  }
  st.node = hello.node();
  st.agent = hello.agent();
  st.sent_generation = hello.generation();
  acks_[st.node].agent = hello.agent();
  if (hello.generation() != 0) acks_[st.node].acked = hello.generation();
  options_.info("node " + st.node + " connected (" + hello.agent() + "), holding generation " +
                std::to_string(hello.generation()));
  views_.AddNode(st.node, generation_);
  OnRegistrations(st.node, hello.endpoints(), /*always=*/false);
  // A view that does not yet reflect what the agent has registered must never reach it (its
  // pods would run without their tables): when the Hello changed something, the compile it
  // scheduled sends the snapshot (this session holds another generation than its base).
  if (!synced_ || registrations_changed_) return;
  const distribution::NodeView* view = views_.Find(st.node);
  if (view == nullptr || view->generation != hello.generation()) SendSnapshot(s, st);
}

void ControllerCore::OnRegistrations(const std::string& node, const v1::EndpointReport& report, bool always) {
  std::vector<source::Event> events = overlay_.SetRegistrations(node, Registrations(report));
  std::vector<tables::EndpointName> unknown = overlay_.Unknown(node);
  const distribution::NodeView* view = views_.Find(node);
  const bool unknown_changed = view == nullptr || view->unknown != unknown;
  views_.SetRegistrations(node, report.sequence(), std::move(unknown));
  // A report (a CNI ADD or DEL waits on it) always makes a generation that reflects it; a
  // Hello only when its registrations change something.
  if (!always && events.empty() && !unknown_changed) return;
  pending_.insert(pending_.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  registrations_changed_ = true;
  ScheduleCompile();
}

void ControllerCore::Disconnect(const std::shared_ptr<Session>& s) {
  auto it = sessions_.find(s);
  if (it == sessions_.end()) return;
  const std::string node = it->second.node;
  sessions_.erase(it);
  if (node.empty()) return;
  options_.info("node " + node + " disconnected");
  // Its registrations stay: the pods are still there, and other nodes still need their
  // addresses. A node with nothing on it is forgotten.
  views_.DropNodeIfEmpty(node);
}

v1::ControllerStatus ControllerCore::Status() const {
  v1::ControllerStatus out;
  out.set_generation(generation_);
  out.set_generation_unix_nanos(generation_nanos_);
  out.set_source(source_description_);
  out.set_synced(synced_);
  out.set_rejected_objects(metrics_.objects_rejected);
  const int64_t now = NowNanos();
  std::set<std::string> connected;
  for (const auto& [s, st] : sessions_) {
    if (!st.node.empty()) connected.insert(st.node);
  }
  auto acked_of = [&](const std::string& node) -> const NodeAcks* {
    auto it = acks_.find(node);
    return it == acks_.end() ? nullptr : &it->second;
  };
  for (const auto& [node, view] : views_.views()) {
    auto* n = out.add_nodes();
    n->set_node(node);
    n->set_connected(connected.contains(node));
    n->set_generation(view.generation);
    n->set_endpoints(static_cast<uint32_t>(view.endpoints.size()));
    n->set_tables(static_cast<uint32_t>(view.tables.size()));
    if (const NodeAcks* a = acked_of(node)) {
      n->set_acked_generation(a->acked);
      n->set_agent(a->agent);
      n->set_last_error(a->last_error);
    }
    if (n->acked_generation() < view.generation) {
      // Lag: since the first generation the node has not realised was produced.
      int64_t since = generation_nanos_;
      for (const auto& [g, t] : produced_) {
        if (g > n->acked_generation()) {
          since = t;
          break;
        }
      }
      n->set_lag_nanos(std::max<int64_t>(0, now - since));
    }
  }
  // Per policy: the nodes whose tables come from it, and which of them acked its generation.
  std::map<std::pair<std::string, std::string>, std::pair<uint32_t, uint32_t>> per_policy;
  for (const auto& [name, g] : policy_generation_) per_policy[name];
  for (const auto& p : compiler_.Policies()) per_policy[compiler::NameOfRef(p)];
  for (const auto& [node, view] : views_.views()) {
    std::set<std::pair<std::string, std::string>> used;
    for (const auto& [t, users] : view.tables) {
      for (const auto& p : compiler_.TablePolicies(t)) used.insert(p);
    }
    const NodeAcks* a = acked_of(node);
    for (const auto& p : used) {
      auto& [needed, realised] = per_policy[p];
      ++needed;
      auto g = policy_generation_.find(p);
      if (a != nullptr && g != policy_generation_.end() && a->acked >= g->second) ++realised;
    }
  }
  const auto live = compiler_.Policies();
  for (const auto& p : live) {
    const compiler::PolicyName name = compiler::NameOfRef(p);
    auto* ps = out.add_policies();
    ps->set_namespace_(p.namespace_());
    ps->set_kind(p.kind());
    ps->set_name(p.name());
    if (auto g = policy_generation_.find(name); g != policy_generation_.end()) ps->set_generation(g->second);
    ps->set_nodes_needed(per_policy[name].first);
    ps->set_nodes_realised(per_policy[name].second);
  }
  return out;
}

v1::RuleHitsReply ControllerCore::RuleHits(const v1::RuleHitsRequest& request) const {
  hits::HitSums sums;
  int64_t since = 0;
  uint64_t unnamed = 0;
  for (const auto& [node, report] : hit_reports_) {
    for (const v1::RuleHitCount& c : report.rules()) sums.Add(c);
    if (report.since_unix_nanos() > 0 && (since == 0 || report.since_unix_nanos() < since)) {
      since = report.since_unix_nanos();
    }
    unnamed += report.unnamed();
  }
  for (const auto& p : compiler_.RuleInventory()) {
    const std::string kind(tables::KindOf(p.ref));
    for (v1::Direction d : {v1::INGRESS, v1::EGRESS}) {
      const auto& names = d == v1::INGRESS ? p.ref.ingress_rule_names() : p.ref.egress_rule_names();
      for (uint32_t r = 0; r < p.rules[d]; ++r) {
        sums.Declare(kind, p.ref.namespace_(), p.ref.name(), d, r,
                     r < static_cast<uint32_t>(names.size()) ? names.Get(static_cast<int>(r)) : std::string());
      }
    }
  }
  v1::RuleHitsReply out = sums.Reply(request);
  out.set_since_unix_nanos(since);
  out.set_unix_nanos(NowNanos());
  out.set_unnamed(unnamed);
  for (const auto& [node, report] : hit_reports_) out.add_nodes(node);
  return out;
}

}  // namespace netfence::controller
