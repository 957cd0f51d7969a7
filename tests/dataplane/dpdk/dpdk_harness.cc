// SPDX-License-Identifier: Apache-2.0
#include "tests/dataplane/dpdk/dpdk_harness.h"

#include <linux/bpf.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstring>

#include "dataplane/dpdk/eal.h"

namespace netfence::dpdktest {

const Status& EalAvailable() {
  static const Status status = [] {
    if (::geteuid() != 0) return Status::Error("the EAL needs root here (no hugepages: --no-huge)");
    dpdk::EalOptions o;
    o.program = "netfence-dpdk-test";
    o.workers = 1;
    o.memory_mb = 512;
    Status s = dpdk::InitEal(o);
    if (s.ok()) std::atexit([] { dpdk::CleanupEal(); });
    return s;
  }();
  return status;
}

dpdk::DatapathOptions StatelessOptions() {
  dpdk::DatapathOptions o;
  o.conntrack = false;
  o.events = false;
  o.forward = false;
  o.lanes = 1;
  o.mbufs = 4095;
  o.conntrack_entries = 4096;
  o.event_ring = 1024;
  return o;
}

dpdk::DatapathOptions StatefulOptions(uint32_t event_ring) {
  dpdk::DatapathOptions o = StatelessOptions();
  o.conntrack = true;
  o.events = true;
  o.event_ring = event_ring;
  o.conntrack_entries = 65536;
  return o;
}

StatusOr<std::unique_ptr<Harness>> Harness::Create(dpdk::DatapathOptions options) {
  auto dp = dpdk::Datapath::Create(std::move(options));
  if (!dp.ok()) return dp.status();
  auto h = std::make_unique<Harness>();
  h->dp_ = std::move(dp).value();
  return h;
}

rte_mbuf* Harness::Mbuf(const std::vector<uint8_t>& frame, size_t split) {
  auto one = [&](const uint8_t* data, size_t len) -> rte_mbuf* {
    rte_mbuf* m = rte_pktmbuf_alloc(dp_->mempool());
    if (m == nullptr) return nullptr;
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(len));
    if (p == nullptr && len != 0) {
      rte_pktmbuf_free(m);
      return nullptr;
    }
    if (len != 0) std::memcpy(p, data, len);
    return m;
  };
  if (split == 0 || split >= frame.size()) return one(frame.data(), frame.size());
  rte_mbuf* a = one(frame.data(), split);
  rte_mbuf* b = one(frame.data() + split, frame.size() - split);
  if (a == nullptr || b == nullptr || rte_pktmbuf_chain(a, b) != 0) {
    rte_pktmbuf_free(a);
    rte_pktmbuf_free(b);
    return nullptr;
  }
  return a;
}

std::vector<DpdkRun> Harness::Run(const std::vector<std::vector<uint8_t>>& frames, uint16_t port, uint32_t burst,
                                  bool chain) {
  std::vector<DpdkRun> out(frames.size());
  if (burst == 0 || burst > dpdk::kMaxBurst) burst = dpdk::kMaxBurst;
  for (size_t at = 0; at < frames.size(); at += burst) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(burst, frames.size() - at));
    rte_mbuf* pkts[dpdk::kMaxBurst];
    uint8_t actions[dpdk::kMaxBurst];
    nf_decision records[dpdk::kMaxBurst];
    for (uint32_t i = 0; i < n; ++i) {
      const auto& f = frames[at + i];
      const size_t split = chain && (at + i) % 4 == 3 && f.size() >= 2 ? 1 + (at + i) * 7 % (f.size() - 1) : 0;
      pkts[i] = Mbuf(f, split);
      if (pkts[i] == nullptr) {
        ADD_FAILURE() << "no mbuf for frame " << at + i;
        return out;
      }
    }
    std::memset(records, 0, sizeof(records));
    dp_->lane(0).Process(port, pkts, n, actions, records);
    for (uint32_t i = 0; i < n; ++i) out[at + i] = {actions[i], records[i]};
  }
  return out;
}

DpdkRun Harness::RunOne(const std::vector<uint8_t>& frame, uint16_t port) { return Run({frame}, port, 1)[0]; }

std::vector<nf_event> Harness::Events() {
  std::vector<nf_event> out;
  nf_event buf[256];
  for (uint32_t n; (n = dp_->ReadEvents(buf, 256)) > 0;) out.insert(out.end(), buf, buf + n);
  return out;
}

}  // namespace netfence::dpdktest
