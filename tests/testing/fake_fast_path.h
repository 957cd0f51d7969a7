// SPDX-License-Identifier: Apache-2.0
// Test doubles for the agent's unit tests, where no BPF program can be loaded and no veth made
// (ctest -L unit runs without root):
//   FakeFastPath  a FastPath that records what it was told and enforces nothing; a test can
//                 make the next Program() fail;
//   FakeDevices   the node's network devices as a table the test writes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/fastpath/fast_path.h"
#include "dataplane/netdev/netdev.h"

namespace netfence::testing {

class FakeFastPath : public fastpath::FastPath {
 public:
  std::string_view name() const override { return "fake"; }

  Status Program(const v1::RuleTables& tables) override;
  uint64_t live_generation() const override { return live_ ? live_->generation() : 0; }
  uint32_t live_epoch() const override { return static_cast<uint32_t>(programmed.size()); }

  Status PlugEndpoint(const fastpath::Port& port, const std::vector<IpAddr>& addresses) override;
  Status PlugUplink(const fastpath::Port& port) override;
  Status Unplug(const fastpath::Port& port) override;
  bool Enforces(const fastpath::Port& port) const override { return endpoints.contains(port.ifindex); }
  Status SetPodCidrs(const std::vector<IpPrefix>& guarded, const std::vector<IpAddr>& exempt) override;

  fastpath::Counters ReadCounters() const override { return {}; }
  fastpath::DropCounts ReadDropReasons() const override { return {}; }
  fastpath::Traffic ReadTraffic() const override { return {}; }
  StatusOr<std::unique_ptr<fastpath::EventStream>> OpenEvents(fastpath::EventStream::Handler) const override;
  Status ReadConntrack(std::vector<fastpath::CtEntry>* out) const override {
    out->clear();
    return Status::Ok();
  }
  uint32_t conntrack_capacity() const override { return 0; }
  Status ReadRuleHits(std::vector<fastpath::RuleHit>* out) const override {
    *out = rule_hits;
    return Status::Ok();
  }
  int64_t rule_hits_since_unix_ns() const override { return 0; }
  Status FlushConntrack() override { return Status::Ok(); }

  // What the agent told it, in order.
  std::vector<uint64_t> programmed;              // generations of successful Program()s
  std::map<int, std::vector<IpAddr>> endpoints;  // ifindex -> addresses, plugged now
  std::map<int, std::string> uplinks;            // ifindex -> name, plugged now
  std::vector<int> unplugged;                    // ifindexes, every Unplug()
  std::vector<IpPrefix> guarded;                 // the last SetPodCidrs()
  std::vector<IpAddr> exempt;
  std::vector<fastpath::RuleHit> rule_hits;  // what ReadRuleHits() returns
  // The next Program() fails with this message (and the live tables stay).
  std::optional<std::string> fail_next_program;
  // The tables live now.
  const v1::RuleTables* live() const { return live_ ? &*live_ : nullptr; }

 private:
  std::optional<v1::RuleTables> live_;
};

class FakeDevices : public netdev::Devices {
 public:
  struct Device {
    int ifindex = 0;
    std::string driver = "veth";
    uint32_t master = 0;  // the bridge's ifindex, for a bridge port
    bool up = true;
  };
  mutable std::map<std::string, Device> devices;
  std::vector<IpAddr> addresses;

  StatusOr<int> IfIndex(const std::string& name) const override;
  StatusOr<std::string> Driver(const std::string& name) const override;
  StatusOr<std::vector<IpAddr>> Addresses() const override { return addresses; }
  StatusOr<std::vector<netdev::Link>> Links() const override;
  // Changes the table (the devices are the test's; const as the interface is).
  Status SetUp(const std::string& name, bool up) const override;
};

}  // namespace netfence::testing
