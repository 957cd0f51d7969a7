// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/record_hub.h"

#include <algorithm>

#include "dataplane/flowlog/time_format.h"

namespace netfence::flowlog {

RecordHub::~RecordHub() = default;

void RecordHub::Write(const EmittedPtr& e) {
  std::vector<std::shared_ptr<Subscription>> wake;
  {
    std::lock_guard lock(mu_);
    history_.push_back(e);
    while (history_.size() > options_.history) {
      evicted_ = true;
      evicted_newest_ns_ = std::max(evicted_newest_ns_, history_.front()->record.time_ns);
      history_.pop_front();
    }
    for (const auto& s : subs_) {
      if (!s->filter.Matches(e->record)) continue;
      if (s->queue.size() >= s->capacity) {
        const int64_t now = WallNowNs();
        if (s->lost++ == 0) s->lost_first_ns = now;
        s->lost_last_ns = now;
        lost_.Add(1, now);
        continue;
      }
      s->queue.push_back(e);
      if (!s->notified) {
        s->notified = true;
        wake.push_back(s);
      }
    }
  }
  for (const auto& s : wake) {
    std::lock_guard lock(s->notify_mu);
    if (!s->closed && s->notify) s->notify();
  }
}

std::shared_ptr<RecordHub::Subscription> RecordHub::Subscribe(FlowFilter filter, bool history, bool live,
                                                              std::function<void()> notify, HistoryInfo* info) {
  auto s = std::make_shared<Subscription>();
  s->filter = std::move(filter);
  s->notify = std::move(notify);
  std::lock_guard lock(mu_);
  if (info != nullptr) {
    info->records = history_.size();
    info->oldest_ns = history_.empty() ? 0 : history_.front()->record.time_ns;
    info->truncated = evicted_ && (!s->filter.since_ns || *s->filter.since_ns <= evicted_newest_ns_);
  }
  if (history) {
    for (const EmittedPtr& e : history_) {
      if (s->filter.Matches(e->record)) s->queue.push_back(e);
    }
  }
  s->capacity = options_.queue + s->queue.size();
  s->notified = !s->queue.empty();  // the caller takes the backlog itself
  if (live) subs_.push_back(s);
  return s;
}

void RecordHub::Unsubscribe(const std::shared_ptr<Subscription>& s) {
  {
    std::lock_guard lock(mu_);
    subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
  }
  std::lock_guard lock(s->notify_mu);
  s->closed = true;
}

EmittedPtr RecordHub::Take(Subscription& s) {
  std::lock_guard lock(mu_);
  if (s.lost > 0) {
    auto lost = std::make_shared<Emitted>();
    lost->record = LostRecord(s.lost, s.lost_first_ns, s.lost_last_ns, "observe-queue", WallNowNs(), options_.node);
    lost->line = ToJson(lost->record);
    s.lost = 0;
    return lost;
  }
  if (s.queue.empty()) {
    s.notified = false;
    return nullptr;
  }
  EmittedPtr e = std::move(s.queue.front());
  s.queue.pop_front();
  return e;
}

size_t RecordHub::subscribers() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

}  // namespace netfence::flowlog
