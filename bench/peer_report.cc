// SPDX-License-Identifier: Apache-2.0
#include "bench/peer_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

namespace netfence::bench {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Number(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", *v);
  return buf;
}

const PeerResult* Find(const std::vector<PeerResult>& results, const std::string& system, const std::string& kase,
                       std::optional<int> rules) {
  for (const PeerResult& r : results) {
    if (r.system == system && r.kase == kase && r.rules == rules) return &r;
  }
  return nullptr;
}

// Whether the case passes packets (its floor is xdp_pass) or drops them (xdp_drop).
bool Passes(const std::string& kase) { return kase == "established" || kase == "new_allowed"; }

std::string Bytes(std::optional<uint64_t> b) {
  if (!b) return "-";
  char buf[32];
  if (*b >= 1000000) {
    std::snprintf(buf, sizeof(buf), "%.1f MB", static_cast<double>(*b) / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f kB", static_cast<double>(*b) / 1e3);
  }
  return buf;
}

}  // namespace

std::string PeersJson(const std::vector<PeerResult>& results) {
  std::string out = "[\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const PeerResult& r = results[i];
    out += "  {\"system\": " + JsonString(r.system) + ", \"case\": " + JsonString(r.kase) +
           ", \"rules\": " + (r.rules ? std::to_string(*r.rules) : "null") + ", \"mpps\": " + Number(r.mpps) +
           ", \"ns_per_packet\": " + Number(r.ns_per_packet) +
           ", \"map_bytes\": " + (r.map_bytes ? std::to_string(*r.map_bytes) : "null") + "}" +
           (i + 1 < results.size() ? "," : "") + "\n";
  }
  return out + "]\n";
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::Error("cannot write " + path);
  return Status::Ok();
}

void PrintPeerTables(const std::vector<PeerResult>& results) {
  const PeerResult* drop = Find(results, "xdp_drop", "new_denied", std::nullopt);
  const PeerResult* pass = Find(results, "xdp_pass", "new_allowed", std::nullopt);
  std::set<int> sizes;
  for (const PeerResult& r : results) {
    if (r.rules) sizes.insert(*r.rules);
  }
  std::printf("\nFloors (same generator, same CPU): xdp_drop %s Mpps, xdp_pass %s Mpps\n",
              drop ? Number(drop->mpps).c_str() : "-", pass ? Number(pass->mpps).c_str() : "-");
  for (int rules : sizes) {
    std::printf(
        "\n%d rules (x floor: Mpps / the floor's; netfence x: netfence's speed / this system's)\n"
        "  %-22s %-28s %8s %9s %10s %12s %12s\n",
        rules, "system", "case", "Mpps", "ns/pkt", "map bytes", "x floor", "netfence x");
    for (const PeerResult& r : results) {
      if (r.rules != rules) continue;
      std::string floor = "-", vs = "-";
      char buf[32];
      const PeerResult* f = Passes(r.kase) ? pass : drop;
      if (r.mpps && f && f->mpps) {
        std::snprintf(buf, sizeof(buf), "%.2fx %s", *r.mpps / *f->mpps, Passes(r.kase) ? "pass" : "drop");
        floor = buf;
      }
      const PeerResult* nf = Find(results, "netfence", r.kase, rules);
      if (r.system != "netfence" && nf) {
        if (r.mpps && nf->mpps && *r.mpps > 0) {
          std::snprintf(buf, sizeof(buf), "%.2fx", *nf->mpps / *r.mpps);
          vs = buf;
        } else if (!r.mpps && r.ns_per_packet && nf->ns_per_packet && *nf->ns_per_packet > 0) {
          std::snprintf(buf, sizeof(buf), "%.2fx", *r.ns_per_packet / *nf->ns_per_packet);
          vs = buf;
        }
      }
      std::printf("  %-22s %-28s %8s %9s %10s %12s %12s\n", r.system.c_str(), r.kase.c_str(), Number(r.mpps).c_str(),
                  Number(r.ns_per_packet).c_str(), Bytes(r.map_bytes).c_str(), floor.c_str(), vs.c_str());
    }
  }

  std::printf("\nGoals (live frames unless said):\n");
  auto verdict = [](bool ok) { return ok ? "MET" : "NOT MET"; };
  for (int rules : {5000, 10000}) {
    if (!sizes.count(rules)) continue;
    for (const char* kase : {"new_allowed", "new_denied"}) {
      const PeerResult* nf = Find(results, "netfence", kase, rules);
      if (!nf || !nf->mpps) continue;
      struct Goal {
        const char* system;
        double at_least;
      };
      for (const Goal& g : {Goal{"nftables-linear", 100}, Goal{"iptables-legacy", 20},
                            Goal{"iptables-legacy+ipset", 20}, Goal{"nftables-sets", 1.5}}) {
        const PeerResult* p = Find(results, g.system, kase, rules);
        if (!p || !p->mpps || *p->mpps <= 0) continue;
        const double x = *nf->mpps / *p->mpps;
        std::printf("  %6d rules, %-11s netfence %.2f Mpps = %.1fx %s (goal >= %gx): %s\n", rules, kase, *nf->mpps, x,
                    g.system, g.at_least, verdict(x >= g.at_least));
      }
    }
    for (const char* kase : {"prog_run_new_denied", "prog_run_new_allowed", "new_denied", "new_allowed"}) {
      const PeerResult* nf = Find(results, "netfence", kase, rules);
      const PeerResult* cp = Find(results, "cilium-design", kase, rules);
      if (!nf || !cp || !nf->ns_per_packet || !cp->ns_per_packet) continue;
      std::printf("  %6d rules, %-20s netfence %.0f ns/pkt vs Cilium design %.0f (goal <=): %s\n", rules, kase,
                  *nf->ns_per_packet, *cp->ns_per_packet, verdict(*nf->ns_per_packet <= *cp->ns_per_packet));
    }
    const PeerResult* nf = Find(results, "netfence", "new_denied", rules);
    const PeerResult* cp = Find(results, "cilium-design", "new_denied", rules);
    if (nf && cp && nf->map_bytes && cp->map_bytes) {
      std::printf("  %6d rules, policy map memory: netfence %s vs Cilium design %s = 1/%.1f (goal <= 1/10): %s\n",
                  rules, Bytes(nf->map_bytes).c_str(), Bytes(cp->map_bytes).c_str(),
                  static_cast<double>(*cp->map_bytes) / static_cast<double>(std::max<uint64_t>(*nf->map_bytes, 1)),
                  verdict(*nf->map_bytes * 10 <= *cp->map_bytes));
    }
    const PeerResult* est = Find(results, "netfence", "established", rules);
    if (est && est->mpps && pass && pass->mpps) {
      const double x = *est->mpps / *pass->mpps;
      std::printf("  %6d rules, established %.2fx xdp_pass (goal >= 0.9x): %s\n", rules, x, verdict(x >= 0.9));
    }
    const PeerResult* flood = Find(results, "netfence", "denied_flood", rules);
    if (flood && flood->mpps && drop && drop->mpps) {
      const double x = *flood->mpps / *drop->mpps;
      std::printf("  %6d rules, denied flood %.2fx xdp_drop (goal >= 0.8x): %s\n", rules, x, verdict(x >= 0.8));
    }
  }
}

}  // namespace netfence::bench
