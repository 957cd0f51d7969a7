// Reads the XDP program's events (new flows, drops, revocations: struct nf_event) from its
// BPF ring buffer. The flow log consumes them; events the program could not write because
// the ring was full are counted in XdpProgram::ReadCounters()[NF_CNT_EVENTS_LOST].
//
//   auto reader = EventReader::Create(program, [](const nf_event& e) { ... });
//   reader.value()->Poll(100);   // or watch fd() in an event loop, then Drain()
#pragma once

#include <functional>
#include <memory>

#include "dataplane/common/status.h"
#include "dataplane/xdp/xdp_program.h"
#include "xdp/include/netfence_abi.h"

struct ring_buffer;  // libbpf

namespace netfence::xdp {

class EventReader {
 public:
  using Handler = std::function<void(const nf_event&)>;

  static StatusOr<std::unique_ptr<EventReader>> Create(const XdpProgram& program, Handler handler);
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  // Delivers every event in the ring now; returns how many.
  StatusOr<int> Drain();
  // Waits up to timeout_ms for events and delivers them; returns how many.
  StatusOr<int> Poll(int timeout_ms);
  // Readable when events wait (an epoll fd).
  int fd() const;

 private:
  explicit EventReader(Handler handler) : handler_(std::move(handler)) {}
  static int OnEvent(void* ctx, void* data, size_t size);
  Handler handler_;
  ring_buffer* ring_ = nullptr;
};

}  // namespace netfence::xdp
