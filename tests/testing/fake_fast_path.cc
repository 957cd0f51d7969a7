// SPDX-License-Identifier: Apache-2.0
#include "tests/testing/fake_fast_path.h"

namespace netfence::testing {

Status FakeFastPath::Program(const v1::RuleTables& tables) {
  if (fail_next_program) {
    std::string message = *std::exchange(fail_next_program, std::nullopt);
    return Status::Error(message);
  }
  live_ = tables;
  programmed.push_back(tables.generation());
  return Status::Ok();
}

Status FakeFastPath::PlugEndpoint(const fastpath::Port& port, const std::vector<IpAddr>& addresses) {
  endpoints[port.ifindex] = std::vector<IpAddr>(addresses.begin(), addresses.end());
  return Status::Ok();
}

Status FakeFastPath::PlugUplink(const fastpath::Port& port) {
  uplinks[port.ifindex] = port.name;
  return Status::Ok();
}

Status FakeFastPath::Unplug(const fastpath::Port& port) {
  endpoints.erase(port.ifindex);
  uplinks.erase(port.ifindex);
  unplugged.push_back(port.ifindex);
  return Status::Ok();
}

Status FakeFastPath::SetPodCidrs(const std::vector<IpPrefix>& g, const std::vector<IpAddr>& e) {
  guarded.assign(g.begin(), g.end());
  exempt.assign(e.begin(), e.end());
  return Status::Ok();
}

StatusOr<std::unique_ptr<fastpath::EventStream>> FakeFastPath::OpenEvents(fastpath::EventStream::Handler) const {
  return Status::Error("the fake fast path has no events");
}

StatusOr<int> FakeDevices::IfIndex(const std::string& name) const {
  auto it = devices.find(name);
  if (it == devices.end()) return Status::Error("no interface " + name);
  return it->second.ifindex;
}

StatusOr<std::string> FakeDevices::Driver(const std::string& name) const {
  auto it = devices.find(name);
  if (it == devices.end()) return Status::Error("no interface " + name);
  return it->second.driver;
}

StatusOr<std::vector<netdev::Link>> FakeDevices::Links() const {
  std::vector<netdev::Link> out;
  for (const auto& [name, d] : devices) {
    out.push_back({.name = name, .ifindex = d.ifindex, .kind = d.driver, .master = d.master, .up = d.up});
  }
  return out;
}

Status FakeDevices::SetUp(const std::string& name, bool up) const {
  auto it = devices.find(name);
  if (it == devices.end()) return Status::Error("no interface " + name);
  it->second.up = up;
  return Status::Ok();
}

}  // namespace netfence::testing
