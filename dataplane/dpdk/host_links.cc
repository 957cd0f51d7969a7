// SPDX-License-Identifier: Apache-2.0
#include "dataplane/dpdk/host_links.h"

#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "common/base/unique_fd.h"
#include "dataplane/netdev/netdev.h"

namespace netfence::dpdk {
namespace {

// One rtnetlink request under construction: a header, an ifinfomsg and attributes.
class Request {
 public:
  Request(uint16_t type, uint16_t flags) {
    buf_.resize(NLMSG_SPACE(sizeof(ifinfomsg)));
    header()->nlmsg_type = type;
    header()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  }
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  ifinfomsg* info() { return static_cast<ifinfomsg*>(NLMSG_DATA(header())); }
  void Add(uint16_t type, const void* data, size_t len) {
    const size_t at = buf_.size();
    buf_.resize(at + RTA_SPACE(len));
    auto* rta = reinterpret_cast<rtattr*>(buf_.data() + at);
    rta->rta_type = type;
    rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    if (len != 0) std::memcpy(RTA_DATA(rta), data, len);
    header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  }
  void AddString(uint16_t type, const std::string& s) { Add(type, s.c_str(), s.size() + 1); }
  size_t Begin(uint16_t type) {
    const size_t at = buf_.size();
    Add(type, nullptr, 0);
    return at;
  }
  void End(size_t at) {
    reinterpret_cast<rtattr*>(buf_.data() + at)->rta_len = static_cast<uint16_t>(buf_.size() - at);
    header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  }
  // A nested ifinfomsg (the veth peer's).
  void AddInfo() {
    buf_.resize(buf_.size() + NLMSG_ALIGN(sizeof(ifinfomsg)));
    header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  }
  const std::vector<char>& bytes() const { return buf_; }

 private:
  std::vector<char> buf_;
};

// Sends `req` and returns the reply's messages (the link for RTM_GETLINK), or the kernel's error.
Status Talk(Request& req, const std::string& what, std::vector<char>* reply = nullptr) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return Status::Error(what + ": netlink socket: " + std::strerror(errno));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const auto& b = req.bytes();
  if (::sendto(fd.get(), b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return Status::Error(what + ": netlink send: " + std::strerror(errno));
  }
  std::vector<char> buf(32768);
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) return Status::Error(what + ": netlink receive: " + std::strerror(errno));
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return Status::Ok();
        return Status::Error(what + ": " + std::strerror(-e->error));
      }
      if (reply != nullptr) {
        reply->assign(reinterpret_cast<char*>(h), reinterpret_cast<char*>(h) + h->nlmsg_len);
        // RTM_GETLINK answers with the link, then the ack.
      }
    }
  }
}

}  // namespace

StatusOr<LinkInfo> GetLink(const std::string& name) {
  Request req(RTM_GETLINK, 0);
  req.info()->ifi_family = AF_UNSPEC;
  req.AddString(IFLA_IFNAME, name);
  std::vector<char> reply;
  if (Status s = Talk(req, "interface " + name, &reply); !s.ok()) return s;
  if (reply.size() < NLMSG_SPACE(sizeof(ifinfomsg))) return Status::Error("interface " + name + ": no answer");
  auto* h = reinterpret_cast<nlmsghdr*>(reply.data());
  auto* info = static_cast<ifinfomsg*>(NLMSG_DATA(h));
  LinkInfo out;
  out.ifindex = info->ifi_index;
  int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg)));
  for (auto* a = IFLA_RTA(info); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_MASTER) std::memcpy(&out.master, RTA_DATA(a), sizeof(int));
    if (a->rta_type == IFLA_MTU) std::memcpy(&out.mtu, RTA_DATA(a), sizeof(int));
    if (a->rta_type == IFLA_LINKINFO) {
      int inner = static_cast<int>(RTA_PAYLOAD(a));
      for (auto* k = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(k, inner); k = RTA_NEXT(k, inner)) {
        if (k->rta_type == IFLA_INFO_KIND) out.kind = static_cast<const char*>(RTA_DATA(k));
      }
    }
  }
  return out;
}

Status SetMaster(const std::string& name, int master) {
  auto link = GetLink(name);
  if (!link.ok()) return link.status();
  Request req(RTM_NEWLINK, 0);
  req.info()->ifi_family = AF_UNSPEC;
  req.info()->ifi_index = link->ifindex;
  req.Add(IFLA_MASTER, &master, sizeof(master));
  return Talk(req, master == 0 ? "taking " + name + " off its bridge" : "putting " + name + " on a bridge");
}

Status CreateVethPair(const std::string& name, const std::string& peer) {
  Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  req.info()->ifi_family = AF_UNSPEC;
  req.AddString(IFLA_IFNAME, name);
  const size_t linkinfo = req.Begin(IFLA_LINKINFO);
  req.AddString(IFLA_INFO_KIND, "veth");
  const size_t data = req.Begin(IFLA_INFO_DATA);
  const size_t peer_at = req.Begin(VETH_INFO_PEER);
  req.AddInfo();
  req.AddString(IFLA_IFNAME, peer);
  req.End(peer_at);
  req.End(data);
  req.End(linkinfo);
  return Talk(req, "creating veth pair " + name + "/" + peer);
}

Status DeleteLink(const std::string& name) {
  auto link = GetLink(name);
  if (!link.ok()) return link.status();
  Request req(RTM_DELLINK, 0);
  req.info()->ifi_family = AF_UNSPEC;
  req.info()->ifi_index = link->ifindex;
  return Talk(req, "deleting " + name);
}

Status SetLinkUp(const std::string& name) { return netdev::SetUp(name, true); }

namespace {

Status OffloadsOff(const std::string& name) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::Error(std::string("socket: ") + std::strerror(errno));
  // Checksumming first: TSO depends on it.
  const std::pair<uint32_t, const char*> features[] = {{ETHTOOL_STXCSUM, "tx-checksumming"},
                                                       {ETHTOOL_STSO, "tcp-segmentation-offload"},
                                                       {ETHTOOL_SGSO, "generic-segmentation-offload"},
                                                       {ETHTOOL_SGRO, "generic-receive-offload"}};
  for (const auto& [cmd, what] : features) {
    ethtool_value v{cmd, 0};
    ifreq req{};
    std::snprintf(req.ifr_name, sizeof(req.ifr_name), "%s", name.c_str());
    req.ifr_data = reinterpret_cast<char*>(&v);
    if (::ioctl(fd.get(), SIOCETHTOOL, &req) != 0 && errno != EOPNOTSUPP) {
      return Status::Error("interface " + name + ": turning " + what + " off: " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

}  // namespace

Status DisableOffloads(const std::string& name, const std::string& netns) {
  if (netns.empty()) return OffloadsOff(name);
  // setns() moves only the calling thread: a thread of its own enters the namespace.
  Status result = Status::Ok();
  std::thread t([&] {
    UniqueFd fd(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      result = Status::Error("network namespace " + netns + ": " + std::strerror(errno));
      return;
    }
    if (::setns(fd.get(), CLONE_NEWNET) != 0) {
      result = Status::Error("entering network namespace " + netns + ": " + std::strerror(errno));
      return;
    }
    result = OffloadsOff(name);
  });
  t.join();
  return result;
}

Status SilenceKernel(const std::string& name) {
  // /proc/sys/net resolves in the network namespace of the thread that opens it.
  const std::pair<std::string, const char*> settings[] = {{"/proc/sys/net/ipv4/conf/" + name + "/arp_ignore", "8"},
                                                          {"/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6", "1"}};
  for (const auto& [path, value] : settings) {
    std::ofstream f(path);
    if (!f) {
      if (path.find("ipv6") != std::string::npos) continue;  // a kernel without IPv6
      return Status::Error("interface " + name + ": cannot write " + path);
    }
    f << value;
    if (!f.flush()) return Status::Error("interface " + name + ": writing " + path + " failed");
  }
  return Status::Ok();
}

}  // namespace netfence::dpdk
