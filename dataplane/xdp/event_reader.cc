// SPDX-License-Identifier: Apache-2.0
#include "dataplane/xdp/event_reader.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace netfence::xdp {

StatusOr<std::unique_ptr<EventReader>> EventReader::Create(int ring_fd, Handler handler) {
  auto reader = std::unique_ptr<EventReader>(new EventReader(std::move(handler)));
  reader->ring_ = ring_buffer__new(ring_fd, &EventReader::OnEvent, reader.get(), nullptr);
  if (reader->ring_ == nullptr) return Status::Error(std::string("XDP events: ring buffer: ") + std::strerror(errno));
  return reader;
}

EventReader::~EventReader() { ring_buffer__free(ring_); }

int EventReader::OnEvent(void* ctx, void* data, size_t size) {
  auto* self = static_cast<EventReader*>(ctx);
  if (size < sizeof(nf_event)) return 0;  // not ours: skip
  nf_event e;
  std::memcpy(&e, data, sizeof(e));
  self->handler_(e);
  return 0;
}

StatusOr<int> EventReader::Drain() {
  const int n = ring_buffer__consume(ring_);
  if (n < 0) return Status::Error(std::string("XDP events: consume: ") + std::strerror(-n));
  return n;
}

StatusOr<int> EventReader::Poll(int timeout_ms) {
  const int n = ring_buffer__poll(ring_, timeout_ms);
  if (n < 0 && n != -EINTR) return Status::Error(std::string("XDP events: poll: ") + std::strerror(-n));
  return n < 0 ? 0 : n;
}

}  // namespace netfence::xdp
