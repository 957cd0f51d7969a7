// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/pipeline/pipeline.h"

#include <pthread.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>

#include "common/base/files.h"
#include "dataplane/flowlog/file_sink.h"
#include "dataplane/flowlog/pipeline/drop_records.h"
#include "dataplane/flowlog/time_format.h"

namespace netfence::flowlog {

namespace {
constexpr uint64_t kDeferMaxNs = 1'000'000'000;  // an event waits this long for its generation
constexpr size_t kDeferMax = 65536;
constexpr int kGatherEvents = 256;
}  // namespace

void FileRecordSink::Write(const EmittedPtr& e) { sink_->WriteLine(e->line); }

Pipeline::Pipeline(const fastpath::FastPath& fast_path, PipelineOptions options, std::vector<RecordSink*> sinks)
    : fast_path_(fast_path), options_(std::move(options)), sinks_(std::move(sinks)),
      tracker_({.node = options_.node,
                .close_grace_ns = options_.close_grace_ns,
                .fast_path = std::string(fast_path.name())},
               &history_, [this](FlowRecord&& r) { Emit(std::move(r)); }),
      drops_({.window_ns = options_.drop_window_ns,
              .max_tuples_per_group = options_.drop_max_tuples,
              .max_exact = options_.drop_max_exact,
              .max_folded = options_.drop_max_folded},
             [] { return WallNowNs(); }) {}

StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(const fastpath::FastPath& fast_path, PipelineOptions options,
                                                     std::vector<RecordSink*> sinks) {
  std::unique_ptr<Pipeline> p(new Pipeline(fast_path, std::move(options), std::move(sinks)));
  auto reader = fast_path.OpenEvents([raw = p.get()](const nf_event& e) { raw->OnEvent(e); });
  if (!reader.ok()) return reader.status();
  p->reader_ = std::move(reader).value();
  p->UpdateClock();
  p->ReadHandover();
  // What the datapath lost before us is not ours to report (an earlier agent's, or none).
  p->ring_loss_.ObserveTotal(fast_path.ReadCounters()[NF_CNT_EVENTS_LOST], WallNowNs());
  return p;
}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::OnLive(uint64_t generation, const v1::RuleTables& tables, const tables::TableSet& view) {
  history_.Add({.generation = generation,
                .epoch = fast_path_.live_epoch(),
                .tables = &tables,
                .ipcache = &view.ipcache,
                .identities = &view.identities},
               WallNowNs());
}

Status Pipeline::Start() {
  if (thread_.joinable()) return Status::Ok();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "nf-flowlog");  // for top -H, perf
    Run();
  });
  return Status::Ok();
}

void Pipeline::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Pipeline::UpdateClock() {
  const uint64_t mono = MonoNowNs();
  offset_ = WallNowNs() - static_cast<int64_t>(mono);
  tracker_.set_clock(offset_);
}

void Pipeline::Run() {
  while (!stop_) {
    auto n = reader_->Poll(options_.poll_interval_ms);
    RunRound(false, false);
    // Few events: let more gather in the ring before the next wake-up (the default ring holds
    // ~29k events, a millisecond of them at 29 M/s), so a steady trickle costs one round per
    // millisecond, not one per event.
    if (n.ok() && *n > 0 && *n < kGatherEvents) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Final();
}

void Pipeline::OnEvent(const nf_event& e) {
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.events;
  }
  // A generation the agent made live an instant ago may not be in the history yet.
  if (e.generation != 0 && !history_.Knows(e.generation) && deferred_.size() < kDeferMax) {
    deferred_.push_back({e, MonoNowNs()});
    return;
  }
  if (!deferred_.empty()) {
    deferred_.push_back({e, MonoNowNs()});  // keep the order
    return;
  }
  Process(e);
}

void Pipeline::Process(const nf_event& e) {
  switch (e.kind) {
    case NF_EV_NEW_FLOW:
      tracker_.OnNewFlow(e);
      break;
    case NF_EV_REVOKED:
      tracker_.OnRevoked(e);
      drops_.Add(DropObservationOf(e, history_, static_cast<int64_t>(e.ts_ns) + offset_));
      break;
    case NF_EV_DROP:
      drops_.Add(DropObservationOf(e, history_, static_cast<int64_t>(e.ts_ns) + offset_));
      break;
    default:
      break;
  }
}

void Pipeline::RetryDeferred(bool all) {
  const uint64_t now = MonoNowNs();
  while (!deferred_.empty()) {
    const Deferred& d = deferred_.front();
    const bool known = d.event.generation == 0 || history_.Knows(d.event.generation);
    if (!known && !all && now - d.since_mono < kDeferMaxNs) break;
    const nf_event e = d.event;
    deferred_.pop_front();
    Process(e);
  }
}

void Pipeline::Scan(bool update_tick) {
  const uint64_t read_mono = MonoNowNs();
  Status s = fast_path_.ReadConntrack(&entries_);
  if (!s.ok()) {
    std::lock_guard lock(stats_mu_);
    ++stats_.scan_errors;
    return;
  }
  (void)reader_->Drain();  // every event of an entry just read, and of a revoked one
  RetryDeferred(false);
  const uint64_t now_mono = MonoNowNs();
  if (!adopted_) {
    adopted_ = true;
    if (options_.adopt) {
      tracker_.Adopt(entries_, now_mono, handed_);
      handed_.clear();
      std::lock_guard lock(stats_mu_);
      stats_.conntrack_entries = entries_.size();
      stats_.handed_over = tracker_.stats().handed_over;
      return;
    }
  }
  tracker_.OnScan({.entries = &entries_,
                   .read_mono = read_mono,
                   .now_mono = now_mono,
                   .now_wall = static_cast<int64_t>(now_mono) + offset_,
                   .update_tick = update_tick,
                   .recover = deferred_.empty()});
  std::lock_guard lock(stats_mu_);
  stats_.conntrack_entries = entries_.size();
}

void Pipeline::RunRound(bool scan, bool update_tick) {
  if (finished_) return;
  UpdateClock();
  if (!adopted_) Scan(false);  // before any event: the connections already there
  (void)reader_->Drain();      // a failed read leaves the events in the ring for the next round
  RetryDeferred(false);
  const uint64_t mono = MonoNowNs();
  if (next_scan_mono_ == 0) {
    next_scan_mono_ = mono + static_cast<uint64_t>(options_.scan_interval_ns);
    next_update_mono_ = mono + static_cast<uint64_t>(options_.update_interval_ns);
  }
  if (mono >= next_update_mono_) {
    update_tick = true;
    scan = true;
    next_update_mono_ = mono + static_cast<uint64_t>(options_.update_interval_ns);
  }
  if (scan || mono >= next_scan_mono_) {
    Scan(update_tick);
    next_scan_mono_ = mono + static_cast<uint64_t>(options_.scan_interval_ns);
  }
  const int64_t now = WallNowNs();
  for (const DropAggregate& a : drops_.Poll()) EmitDrop(a, now);
  EmitLoss();
  // A superseded generation is kept until every event and entry of it has been read and every
  // drop aggregate of it closed; flows keep their own copy of what they need.
  const int64_t margin = options_.drop_window_ns + options_.scan_interval_ns + 2'000'000'000;
  const int64_t cutoff = now - margin;
  std::set<uint64_t> waiting;  // generations of events still deferred
  for (const Deferred& d : deferred_) waiting.insert(d.event.generation);
  history_.Retire(cutoff, [&](uint64_t stamp) { return drops_.Holds(stamp) || waiting.contains(stamp); });
  std::lock_guard lock(stats_mu_);
  stats_.flows_active = tracker_.active();
  stats_.generations = history_.size();
  stats_.unattributed = tracker_.stats().unattributed + unattributed_drops_;
  stats_.drops_folded = drops_.stats().folded + drops_.stats().overflowed;
}

void Pipeline::Final() {
  if (finished_) return;
  RunRound(true, false);
  RetryDeferred(true);
  const int64_t now = WallNowNs();
  for (const DropAggregate& a : drops_.FlushAll()) EmitDrop(a, now);
  tracker_.Flush(now);
  EmitLoss();
  WriteHandover();
  finished_ = true;
}

void Pipeline::ReadHandover() {
  if (options_.handover_path.empty()) return;
  std::error_code ec;
  if (!std::filesystem::exists(options_.handover_path, ec)) return;
  auto text = ReadWholeFile(options_.handover_path, "flow-log handover");
  std::filesystem::remove(options_.handover_path, ec);  // read once: stale names never come back
  uint64_t bad = text.ok() ? 0 : 1;
  if (text.ok()) {
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
      auto r = ParseRecord(line);
      if (!r.ok() || r->flow_id == 0) {
        ++bad;
        continue;
      }
      handed_.emplace(r->flow_id, std::move(r).value());
    }
  }
  std::lock_guard lock(stats_mu_);
  stats_.handover_errors += bad;
}

void Pipeline::WriteHandover() {
  if (options_.handover_path.empty() || !options_.adopt) return;
  std::string bytes;
  for (const FlowRecord& r : tracker_.Handover()) {
    AppendJson(r, &bytes);
    bytes.push_back('\n');
  }
  if (!WriteFileAtomically(options_.handover_path, bytes).ok()) {
    std::lock_guard lock(stats_mu_);
    ++stats_.handover_errors;
  }
}

void Pipeline::EmitDrop(const DropAggregate& a, int64_t now) {
  if (a.generation != 0 && !history_.Knows(a.generation)) ++unattributed_drops_;
  Emit(DropRecordOf(a, history_, options_.node, now, fast_path_.name()));
}

void Pipeline::EmitLoss() {
  const int64_t now = WallNowNs();
  ring_loss_.ObserveTotal(fast_path_.ReadCounters()[NF_CNT_EVENTS_LOST], now);
  if (auto r = ring_loss_.TakeRecord(now, options_.node)) Emit(std::move(*r));
  std::lock_guard lock(stats_mu_);
  stats_.ring_lost = ring_loss_.total();
}

void Pipeline::Emit(FlowRecord&& r) {
  auto e = std::make_shared<Emitted>();
  e->record = std::move(r);
  e->line.reserve(1024);  // a start with labels is ~800 bytes: no regrowth
  AppendJson(e->record, &e->line);
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.records[static_cast<size_t>(e->record.event)];
    if (e->record.is_audit()) {
      if (e->record.event == EventKind::kStart) ++stats_.audit_flows;
      if (e->record.event == EventKind::kDrop) stats_.audit_drops += e->record.count;
    }
  }
  const EmittedPtr shared = std::move(e);
  for (RecordSink* s : sinks_) s->Write(shared);
}

Pipeline::Stats Pipeline::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

}  // namespace netfence::flowlog
