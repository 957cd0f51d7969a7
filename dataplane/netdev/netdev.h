// SPDX-License-Identifier: Apache-2.0
// Network devices of the calling thread's network namespace, by name: index, driver, up/down.
// Plain ioctls (SIOCGIFINDEX, SIOCETHTOOL, SIOCSIFFLAGS) on a throwaway socket: usable from the
// agent and from the CNI plugin, which both run in the node's namespace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"

namespace netfence::netdev {

// The interface index of `name`; an error names the interface when there is none.
StatusOr<int> IfIndex(const std::string& name);
// The interface name of `ifindex`.
StatusOr<std::string> IfName(int ifindex);
// The kernel driver behind the interface ("veth", "bridge", ...), from ethtool.
StatusOr<std::string> Driver(const std::string& name);
// Sets IFF_UP on or off (the CNI plugin downs a pod's veth it could not protect: fail closed).
Status SetUp(const std::string& name, bool up);
// Whether IFF_UP is set.
StatusOr<bool> IsUp(const std::string& name);

// Every IPv4 and IPv6 address of every interface.
StatusOr<std::vector<IpAddr>> Addresses();

// An interface as rtnetlink describes it.
struct Link {
  std::string name;
  int ifindex = 0;
  std::string kind;     // IFLA_INFO_KIND: "veth", "bridge", ... ("" for a physical device)
  uint32_t master = 0;  // the ifindex of the bridge (or bond) it is a port of; 0: none
  bool up = false;
};
// Every interface of the namespace (links.cc).
StatusOr<std::vector<Link>> Links();

// What the agent reads of the node's devices, as an interface: the system's (the functions
// above), or a table a unit test writes (tests/testing/fake_fast_path.h) where no veth can be
// made without root.
class Devices {
 public:
  virtual ~Devices() = default;
  virtual StatusOr<int> IfIndex(const std::string& name) const = 0;
  virtual StatusOr<std::string> Driver(const std::string& name) const = 0;
  virtual StatusOr<std::vector<IpAddr>> Addresses() const = 0;
  virtual StatusOr<std::vector<Link>> Links() const = 0;
  virtual Status SetUp(const std::string& name, bool up) const = 0;
};
// The calling thread's network namespace, through the functions above.
const Devices& SystemDevices();

}  // namespace netfence::netdev
