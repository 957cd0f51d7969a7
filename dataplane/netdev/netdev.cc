// SPDX-License-Identifier: Apache-2.0
#include "dataplane/netdev/netdev.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/base/unique_fd.h"

namespace netfence::netdev {
namespace {

StatusOr<ifreq> Request(const std::string& name) {
  ifreq req{};
  if (name.empty() || name.size() >= IFNAMSIZ) return Status::Error("invalid interface name '" + name + "'");
  std::memcpy(req.ifr_name, name.data(), name.size());
  return req;
}

Status Ioctl(unsigned long op, ifreq* req, const char* what) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::Error(std::string("socket: ") + std::strerror(errno));
  if (::ioctl(fd.get(), op, req) != 0) {
    return Status::Error(std::string(what) + " of interface '" + req->ifr_name + "': " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<int> IfIndex(const std::string& name) {
  auto req = Request(name);
  if (!req.ok()) return req.status();
  if (Status s = Ioctl(SIOCGIFINDEX, &*req, "index"); !s.ok()) return s;
  return req->ifr_ifindex;
}

StatusOr<std::string> IfName(int ifindex) {
  char buf[IF_NAMESIZE] = {};
  if (::if_indextoname(static_cast<unsigned>(ifindex), buf) == nullptr) {
    return Status::Error("no interface with index " + std::to_string(ifindex) + ": " + std::strerror(errno));
  }
  return std::string(buf);
}

StatusOr<std::string> Driver(const std::string& name) {
  auto req = Request(name);
  if (!req.ok()) return req.status();
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  req->ifr_data = reinterpret_cast<char*>(&info);
  if (Status s = Ioctl(SIOCETHTOOL, &*req, "driver"); !s.ok()) return s;
  return std::string(info.driver, strnlen(info.driver, sizeof(info.driver)));
}

StatusOr<bool> IsUp(const std::string& name) {
  auto req = Request(name);
  if (!req.ok()) return req.status();
  if (Status s = Ioctl(SIOCGIFFLAGS, &*req, "flags"); !s.ok()) return s;
  return (req->ifr_flags & IFF_UP) != 0;
}

Status SetUp(const std::string& name, bool up) {
  auto req = Request(name);
  if (!req.ok()) return req.status();
  if (Status s = Ioctl(SIOCGIFFLAGS, &*req, "flags"); !s.ok()) return s;
  if (up) {
    req->ifr_flags = static_cast<short>(req->ifr_flags | IFF_UP);
  } else {
    req->ifr_flags = static_cast<short>(req->ifr_flags & ~IFF_UP);
  }
  return Ioctl(SIOCSIFFLAGS, &*req, up ? "setting up" : "setting down");
}

StatusOr<std::vector<IpAddr>> Addresses() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return Status::Error(std::string("getifaddrs: ") + std::strerror(errno));
  std::vector<IpAddr> out;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const int family = a->ifa_addr->sa_family;
    if (family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof(text));
    } else if (family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a->ifa_addr)->sin6_addr, text, sizeof(text));
    } else {
      continue;
    }
    if (auto ip = IpAddr::Parse(text)) out.push_back(*ip);
  }
  ::freeifaddrs(list);
  return out;
}

namespace {
class System : public Devices {
 public:
  StatusOr<int> IfIndex(const std::string& name) const override { return netdev::IfIndex(name); }
  StatusOr<std::string> Driver(const std::string& name) const override { return netdev::Driver(name); }
  StatusOr<std::vector<IpAddr>> Addresses() const override { return netdev::Addresses(); }
  StatusOr<std::vector<Link>> Links() const override { return netdev::Links(); }
  Status SetUp(const std::string& name, bool up) const override { return netdev::SetUp(name, up); }
};
}  // namespace

const Devices& SystemDevices() {
  static const System system;
  return system;
}

}  // namespace netfence::netdev
