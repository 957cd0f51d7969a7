// Network devices of the calling thread's network namespace, by name: index, driver, up/down.
// Plain ioctls (SIOCGIFINDEX, SIOCETHTOOL, SIOCSIFFLAGS) on a throwaway socket: usable from the
// agent and from the CNI plugin, which both run in the node's namespace.
#pragma once

#include <string>
#include <vector>

#include "dataplane/common/ip.h"
#include "dataplane/common/status.h"

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

}  // namespace netfence::netdev
