// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/snapshot.h"

#include <algorithm>
#include <cstring>

namespace netfence::dpdk {

bool PortPolicy::Owns(const uint8_t* addr) const {
  for (uint32_t i = 0; i < n_addrs && i < NF_IFACE_MAX_ADDRS; ++i) {
    if (std::memcmp(addrs[i].data(), addr, 16) == 0) return true;
  }
  return false;
}

void PodCidrGuard::Set(const std::vector<IpPrefix>& guarded, const std::vector<IpAddr>& exempt) {
  entries_.clear();
  for (const IpPrefix& p : guarded) {
    Entry e{};
    std::memcpy(e.prefix, p.addr.bytes.data(), 16);
    e.len = p.len;
    e.guarded = true;
    entries_.push_back(e);
  }
  // An exempt address replaces a guarded /128 of the same address, as a map update would.
  for (const IpAddr& a : exempt) {
    auto same = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
      return e.len == 128 && std::memcmp(e.prefix, a.bytes.data(), 16) == 0;
    });
    if (same != entries_.end()) {
      same->guarded = false;
      continue;
    }
    Entry e{};
    std::memcpy(e.prefix, a.bytes.data(), 16);
    e.len = 128;
    e.guarded = false;
    entries_.push_back(e);
  }
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.len > b.len; });
}

namespace {
bool PrefixContains(const uint8_t* prefix, uint8_t len, const uint8_t* addr) {
  const uint8_t full = len / 8, rest = len % 8;
  if (std::memcmp(prefix, addr, full) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (prefix[full] & mask) == (addr[full] & mask);
}
}  // namespace

bool PodCidrGuard::Unregistered(const uint8_t* addr, bool local_endpoint) const {
  if (local_endpoint || entries_.empty()) return false;
  for (const Entry& e : entries_) {
    if (PrefixContains(e.prefix, e.len, addr)) return e.guarded;
  }
  return false;
}

void Snapshot::IndexPorts() {
  n_rx_ports = 0;
  for (uint16_t p = 0; p < kMaxPorts; ++p) {
    if (ports[p].active) rx_ports[n_rx_ports++] = p;
  }
}

SnapshotPublisher::SnapshotPublisher(Rcu* rcu) : rcu_(rcu), owned_(std::make_unique<Snapshot>()) {
  live_.store(owned_.get(), std::memory_order_release);
}

SnapshotPublisher::~SnapshotPublisher() = default;

Snapshot SnapshotPublisher::Copy() const {
  std::lock_guard lock(mu_);
  return *live_.load(std::memory_order_relaxed);
}

void SnapshotPublisher::Publish(std::unique_ptr<Snapshot> next) {
  live_.store(next.get(), std::memory_order_release);
  std::unique_ptr<Snapshot> previous = std::move(owned_);
  owned_ = std::move(next);
  rcu_->Synchronize();  // no worker reads `previous` any more
}

}  // namespace netfence::dpdk
