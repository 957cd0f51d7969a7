// SPDX-License-Identifier: Apache-2.0
#include "bench/peer_rules.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <vector>

namespace netfence::bench {
namespace {

std::string V4(const IpAddr& a) {
  std::string s = a.str();
  return s.rfind("::ffff:", 0) == 0 ? s.substr(7) : s;
}

// identity -> its addresses, in the order the peers were given.
std::map<uint32_t, std::vector<std::string>> AddressesByIdentity(const PeerPolicy& policy) {
  std::map<uint32_t, std::vector<std::string>> out;
  for (const PeerPolicy::Peer& p : policy.peers) out[p.identity].push_back(V4(p.addr));
  return out;
}

std::string Chain(size_t endpoint) { return "ep" + std::to_string(endpoint + 1); }

std::string NftLinear(const PeerPolicy& policy) {
  const auto by_id = AddressesByIdentity(policy);
  std::string out = "table inet nfb {\n";
  for (size_t e = 0; e < policy.endpoints.size(); ++e) {
    out += "  chain " + Chain(e) + " {\n";
    for (const PeerPolicy::Allow& a : policy.endpoints[e].ingress) {
      // The port first: the cheaper test that rejects most packets (as for iptables below).
      std::string match;
      if (a.port != 0) match += "tcp dport " + std::to_string(a.port) + " ";
      if (a.identity != 0) {
        auto it = by_id.find(a.identity);
        if (it == by_id.end()) continue;  // an identity without addresses matches nothing
        if (it->second.size() == 1) {
          match += "ip saddr " + it->second[0] + " ";
        } else {
          match += "ip saddr { ";
          for (size_t i = 0; i < it->second.size(); ++i) match += (i ? ", " : "") + it->second[i];
          match += " } ";
        }
      }
      out += "    " + match + "accept\n";
    }
    out += "    drop\n  }\n";
  }
  out += "  chain input {\n    type filter hook input priority filter; policy accept;\n";
  out += "    ct state established,related accept\n";
  for (size_t e = 0; e < policy.endpoints.size(); ++e) {
    out += "    ip daddr " + V4(policy.endpoints[e].addr) + " jump " + Chain(e) + "\n";
  }
  out += "  }\n}\n";
  return out;
}

std::string NftSets(const PeerPolicy& policy) {
  const auto by_id = AddressesByIdentity(policy);
  std::string out = "table inet nfb {\n";
  for (size_t e = 0; e < policy.endpoints.size(); ++e) {
    std::string pairs, peers;  // (address . port) and address-only (L3) elements, each once
    std::set<std::string> seen;
    for (const PeerPolicy::Allow& a : policy.endpoints[e].ingress) {
      auto it = by_id.find(a.identity);
      if (it == by_id.end()) continue;
      for (const std::string& addr : it->second) {
        if (!seen.insert(addr + "/" + std::to_string(a.port)).second) continue;
        if (a.port == 0) {
          peers += (peers.empty() ? "" : ", ") + addr;
        } else {
          pairs += (pairs.empty() ? "" : ", ") + addr + " . " + std::to_string(a.port);
        }
      }
    }
    out += "  set " + Chain(e) + "_pairs {\n    type ipv4_addr . inet_service\n";
    if (!pairs.empty()) out += "    elements = { " + pairs + " }\n";
    out += "  }\n";
    out += "  chain " + Chain(e) + " {\n    ip saddr . tcp dport @" + Chain(e) + "_pairs accept\n";
    if (!peers.empty()) out += "    ip saddr { " + peers + " } accept\n";
    out += "    drop\n  }\n";
  }
  out += "  map endpoints {\n    type ipv4_addr : verdict\n    elements = { ";
  for (size_t e = 0; e < policy.endpoints.size(); ++e) {
    out += (e ? ", " : "") + V4(policy.endpoints[e].addr) + " : jump " + Chain(e);
  }
  out += " }\n  }\n";
  out += "  chain input {\n    type filter hook input priority filter; policy accept;\n";
  out += "    ct state established,related accept\n    ip daddr vmap @endpoints\n  }\n}\n";
  return out;
}

std::string IptChain(size_t endpoint) { return "NFB-EP" + std::to_string(endpoint + 1); }
std::string IpsetName(uint32_t identity) { return "nfb-id" + std::to_string(identity); }

std::string Iptables(const PeerPolicy& policy, bool ipset) {
  const auto by_id = AddressesByIdentity(policy);
  std::string out = "*filter\n:INPUT ACCEPT [0:0]\n";
  for (size_t e = 0; e < policy.endpoints.size(); ++e) out += ":" + IptChain(e) + " - [0:0]\n";
  out += "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n";
  for (size_t e = 0; e < policy.endpoints.size(); ++e) {
    out += "-A INPUT -d " + V4(policy.endpoints[e].addr) + "/32 -j " + IptChain(e) + "\n";
  }
  for (size_t e = 0; e < policy.endpoints.size(); ++e) {
    for (const PeerPolicy::Allow& a : policy.endpoints[e].ingress) {
      const std::string port = a.port ? " -p tcp -m tcp --dport " + std::to_string(a.port) : "";
      if (a.identity == 0) {
        out += "-A " + IptChain(e) + port + " -j ACCEPT\n";
        continue;
      }
      auto it = by_id.find(a.identity);
      if (it == by_id.end()) continue;
      // Matches run in the order written: the port before the set (as Calico orders them).
      if (ipset) {
        out += "-A " + IptChain(e) + port + " -m set --match-set " + IpsetName(a.identity) + " src -j ACCEPT\n";
      } else {
        for (const std::string& addr : it->second)
          out += "-A " + IptChain(e) + " -s " + addr + "/32" + port + " -j ACCEPT\n";
      }
    }
    out += "-A " + IptChain(e) + " -j DROP\n";
  }
  out += "COMMIT\n";
  return out;
}

std::string Ipsets(const PeerPolicy& policy) {
  std::string out;
  for (const auto& [identity, addrs] : AddressesByIdentity(policy)) {
    out += "create " + IpsetName(identity) + " hash:ip family inet\n";
    for (const std::string& a : addrs) out += "add " + IpsetName(identity) + " " + a + "\n";
  }
  return out;
}

// A temporary file holding `text`, removed at destruction.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/nfb-rules-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) return;
    path_ = name;
    const ssize_t n = write(fd, text.data(), text.size());
    ok_ = n == static_cast<ssize_t>(text.size());
    close(fd);
  }
  ~TempFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool ok_ = false;
};

Status LoadFile(const nettest::Netns& ns, const std::string& what, const std::string& text,
                std::vector<std::string> argv) {
  if (text.empty()) return Status::Ok();
  TempFile f(text);
  if (!f.ok()) return Status::Error(what + ": cannot write a temporary rule file");
  argv.push_back(f.path());
  Status s = ns.Exec(argv);
  return s.ok() ? s : Status::Error(what + ": " + s.message());
}

}  // namespace

const char* ShapeName(NetfilterShape shape) {
  switch (shape) {
    case NetfilterShape::kNftLinear:
      return "nftables-linear";
    case NetfilterShape::kNftSets:
      return "nftables-sets";
    case NetfilterShape::kIptables:
      return "iptables-legacy";
    case NetfilterShape::kIptablesIpset:
      return "iptables-legacy+ipset";
  }
  return "?";
}

NetfilterFiles WriteNetfilterRules(NetfilterShape shape, const PeerPolicy& policy) {
  NetfilterFiles f;
  switch (shape) {
    case NetfilterShape::kNftLinear:
      f.nft = NftLinear(policy);
      break;
    case NetfilterShape::kNftSets:
      f.nft = NftSets(policy);
      break;
    case NetfilterShape::kIptables:
      f.iptables = Iptables(policy, false);
      break;
    case NetfilterShape::kIptablesIpset:
      f.ipset = Ipsets(policy);
      f.iptables = Iptables(policy, true);
      break;
  }
  return f;
}

Status LoadNetfilter(const nettest::Netns& ns, const NetfilterFiles& files) {
  if (Status s = ClearNetfilter(ns); !s.ok()) return s;
  if (Status s = LoadFile(ns, "ipset restore", files.ipset, {"ipset", "restore", "-file"}); !s.ok()) return s;
  if (Status s = LoadFile(ns, "iptables-legacy-restore", files.iptables, {"iptables-legacy-restore"}); !s.ok())
    return s;
  return LoadFile(ns, "nft -f", files.nft, {"nft", "-f"});
}

Status ClearNetfilter(const nettest::Netns& ns) {
  if (Status s = ns.Exec({"nft", "flush", "ruleset"}); !s.ok()) return s;
  if (Status s = ns.Exec({"iptables-legacy", "-F"}); !s.ok()) return s;
  if (Status s = ns.Exec({"iptables-legacy", "-X"}); !s.ok()) return s;
  return ns.Exec({"ipset", "destroy"});
}

}  // namespace netfence::bench
