// SPDX-License-Identifier: Apache-2.0
// The interfaces of the calling thread's network namespace, from an rtnetlink RTM_GETLINK dump
// (sysfs would describe the namespace it was mounted in, not the thread's).
#include <linux/if_link.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/base/unique_fd.h"
#include "dataplane/netdev/netdev.h"

namespace netfence::netdev {
namespace {

// Fills `link` from the attributes of one RTM_NEWLINK message.
void ParseLink(const nlmsghdr* h, Link* link) {
  const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
  link->ifindex = info->ifi_index;
  link->up = (info->ifi_flags & IFF_UP) != 0;
  int len = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(*info)));
  for (const rtattr* a = IFLA_RTA(info); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    const void* data = RTA_DATA(a);
    const size_t size = RTA_PAYLOAD(a);
    switch (a->rta_type) {
      case IFLA_IFNAME:
        link->name.assign(static_cast<const char*>(data), strnlen(static_cast<const char*>(data), size));
        break;
      case IFLA_MASTER:
        if (size >= sizeof(uint32_t)) std::memcpy(&link->master, data, sizeof(uint32_t));
        break;
      case IFLA_LINKINFO: {
        int inner = static_cast<int>(size);
        for (const rtattr* k = static_cast<const rtattr*>(data); RTA_OK(k, inner); k = RTA_NEXT(k, inner)) {
          if (k->rta_type != IFLA_INFO_KIND) continue;
          const char* kind = static_cast<const char*>(RTA_DATA(k));
          link->kind.assign(kind, strnlen(kind, RTA_PAYLOAD(k)));
        }
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace

StatusOr<std::vector<Link>> Links() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return Status::Error(std::string("netlink socket: ") + std::strerror(errno));
  struct {
    nlmsghdr h;
    ifinfomsg i;
  } req{};
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 1;
  req.i.ifi_family = AF_UNSPEC;
  if (::send(fd.get(), &req, req.h.nlmsg_len, 0) < 0) {
    return Status::Error(std::string("netlink RTM_GETLINK: ") + std::strerror(errno));
  }
  std::vector<Link> out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(std::string("netlink recv: ") + std::strerror(errno));
    }
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        return Status::Error(std::string("netlink RTM_GETLINK: ") + std::strerror(-e->error));
      }
      if (h->nlmsg_type != RTM_NEWLINK) continue;
      Link link;
      ParseLink(h, &link);
      out.push_back(std::move(link));
    }
  }
}

}  // namespace netfence::netdev
