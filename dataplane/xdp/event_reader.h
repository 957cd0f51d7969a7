// SPDX-License-Identifier: Apache-2.0
// Reads the XDP program's events (new flows, drops, revocations: struct nf_event) from its
// BPF ring buffer: the XDP fast path's EventStream. Events the program could not write because
// the ring was full are counted in ReadCounters()[NF_CNT_EVENTS_LOST].
//
//   auto reader = EventReader::Create(program.map_fd(Map::kEvents), [](const nf_event& e) { ... });
//   reader.value()->Poll(100);   // or Drain()
#pragma once

#include <memory>

#include "common/base/status.h"
#include "dataplane/fastpath/fast_path.h"

struct ring_buffer;  // libbpf

namespace netfence::xdp {

class EventReader : public fastpath::EventStream {
 public:
  // `ring_fd`: the program's BPF_MAP_TYPE_RINGBUF map.
  static StatusOr<std::unique_ptr<EventReader>> Create(int ring_fd, Handler handler);
  ~EventReader() override;
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  StatusOr<int> Drain() override;
  StatusOr<int> Poll(int timeout_ms) override;

 private:
  explicit EventReader(Handler handler) : handler_(std::move(handler)) {}
  static int OnEvent(void* ctx, void* data, size_t size);
  Handler handler_;
  ring_buffer* ring_ = nullptr;
};

}  // namespace netfence::xdp
