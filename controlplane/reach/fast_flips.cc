// SPDX-License-Identifier: Apache-2.0
// Flips() over classes of pods (diff.h says what a class is and why it is exact).
//
// Why a class is exact: the classifier's verdict on a probe (src address, dst address) is a
// function of the source address's endpoint's egress table, the destination address's
// identity and its interval among the CIDR prefixes of that table, and the same the other way
// round for the destination's ingress table. Two pods whose addresses agree on all of these
// (and on their families, which decide the probe addresses) are judged alike, as a source and
// as a destination, in a state; a class agrees in both states.
//
// Why skipping is exact: a pair's egress verdict is the same before and after when the
// source's egress tables agree on the destination (table_diff.h: the same content, or the
// same base and the same row for the destination's identity) and the destination keeps its
// identity and address; likewise for ingress. So a pair is judged only if
//   - the source is "src-full": its identity or addresses changed, or its egress table
//     differs for any peer;
//   - or the destination is "dst-full" (the same, ingress);
//   - or the source's egress table's row differs for an identity of the destination;
//   - or the destination's ingress table's row differs for an identity of the source.
// A pod whose addresses changed is its own class.
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>

#include "controlplane/reach/diff.h"
#include "controlplane/reach/matrix.h"
#include "controlplane/reach/table_diff.h"

namespace netfence::reach {
namespace {

__extension__ typedef unsigned __int128 u128;

u128 ToU128(const IpAddr& a) { return (u128{a.hi()} << 64) | a.lo(); }

// The boundaries of every CIDR prefix of every table: addresses between two consecutive
// boundaries are in the same prefixes of every table.
std::vector<u128> CidrBoundaries(const v1::RuleTables& t) {
  std::vector<u128> out;
  for (const v1::DirectionTable& dt : t.tables()) {
    for (int i = 0; i < dt.cidr_lengths_size(); ++i) {
      IpAddr a;
      std::memcpy(a.bytes.data(), dt.cidr_addrs().data() + 16 * i, 16);
      const u128 start = ToU128(a);
      const uint32_t len = dt.cidr_lengths(i);
      const u128 last = len == 0 ? ~u128{0} : len >= 128 ? start : start | ((u128{1} << (128 - len)) - 1);
      out.push_back(start);
      if (last != ~u128{0}) out.push_back(last + 1);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// One state as the classes see it.
struct StateView {
  const classifier::Classifier* classifier;
  std::vector<u128> boundaries;

  explicit StateView(const classifier::Classifier& c) : classifier(&c), boundaries(CidrBoundaries(c.tables())) {}
};

// One address of a pod in one state.
struct AddrView {
  uint32_t identity = 0;
  uint32_t egress = kNoTable, ingress = kNoTable;  // table indexes
  uint32_t interval = 0;
  auto operator<=>(const AddrView&) const = default;

  AddrView(const StateView& s, const IpAddr& ip) : identity(s.classifier->IdentityOf(ip)) {
    if (auto ep = s.classifier->EndpointOf(ip)) {
      const v1::Endpoint& e = s.classifier->tables().endpoints(static_cast<int>(*ep));
      egress = e.egress_table();
      ingress = e.ingress_table();
    }
    interval = static_cast<uint32_t>(std::upper_bound(s.boundaries.begin(), s.boundaries.end(), ToU128(ip)) -
                                     s.boundaries.begin());
  }
};

struct AddrKey {
  bool v4;
  AddrView before, after;
  auto operator<=>(const AddrKey&) const = default;
};

void AddSorted(const std::vector<uint32_t>& from, std::vector<uint32_t>* to) {
  to->insert(to->end(), from.begin(), from.end());
  std::sort(to->begin(), to->end());
  to->erase(std::unique(to->begin(), to->end()), to->end());
}

// Classes of pods judged alike, and what of each can change.
struct Classes {
  std::vector<std::vector<uint32_t>> members;  // pod indexes, ascending
  std::vector<bool> src_full, dst_full;
  std::vector<std::vector<uint32_t>> egress_rows, ingress_rows;  // identities whose rows differ
  std::vector<std::vector<uint32_t>> identities;                  // of its addresses, both states
  std::unordered_map<uint32_t, std::vector<uint32_t>> by_identity;  // identity -> classes

  // What the class of a pod with these addresses (`key`; `moved`: other addresses after) can change.
  void Add(const std::vector<AddrKey>& key, bool moved, TableDiffer* differ) {
    const uint32_t cls = static_cast<uint32_t>(members.size());
    members.emplace_back();
    bool sf = moved, df = moved;
    std::vector<uint32_t> eg, in, ids;
    for (const AddrKey& k : key) {
      const bool identity = k.before.identity != k.after.identity;
      const TableDiff& e = differ->Diff(k.before.egress, k.after.egress);
      const TableDiff& i = differ->Diff(k.before.ingress, k.after.ingress);
      sf |= identity || e.any_peer;
      df |= identity || i.any_peer;
      AddSorted(e.rows_differ, &eg);
      AddSorted(i.rows_differ, &in);
      AddSorted({k.before.identity, k.after.identity}, &ids);
    }
    src_full.push_back(sf);
    dst_full.push_back(df);
    for (uint32_t id : ids) by_identity[id].push_back(cls);
    egress_rows.push_back(std::move(eg));
    ingress_rows.push_back(std::move(in));
    identities.push_back(std::move(ids));
  }
};

Classes Group(const std::vector<std::pair<const k8s::Pod*, const k8s::Pod*>>& pods,
              const std::vector<std::vector<IpAddr>>& addrs, const StateView& b, const StateView& a,
              TableDiffer* differ) {
  Classes c;
  std::map<std::vector<AddrKey>, uint32_t> by_key;
  for (uint32_t i = 0; i < pods.size(); ++i) {
    const bool moved = PodAddresses(*pods[i].first) != PodAddresses(*pods[i].second);
    std::vector<AddrKey> key;
    for (const IpAddr& ip : addrs[i]) key.push_back({ip.is_v4(), AddrView(b, ip), AddrView(a, ip)});
    uint32_t cls = static_cast<uint32_t>(c.members.size());
    if (!moved) cls = by_key.emplace(key, cls).first->second;  // a moved pod: a class of its own
    if (cls == c.members.size()) c.Add(key, moved, differ);
    c.members[cls].push_back(i);
  }
  return c;
}

// Calls judge(cs, cd) once for every class pair that can flip (see the top of this file).
template <typename Judge>
void ForEachPairThatCanFlip(const Classes& c, Judge judge) {
  const uint32_t n = static_cast<uint32_t>(c.members.size());
  std::vector<uint32_t> dst_full;
  for (uint32_t cd = 0; cd < n; ++cd) {
    if (c.dst_full[cd]) dst_full.push_back(cd);
  }
  // Destinations whose ingress rows differ for an identity: identity -> those classes.
  std::unordered_map<uint32_t, std::vector<uint32_t>> ingress_by_identity;
  for (uint32_t cd = 0; cd < n; ++cd) {
    if (c.dst_full[cd]) continue;
    for (uint32_t id : c.ingress_rows[cd]) ingress_by_identity[id].push_back(cd);
  }
  std::vector<uint32_t> seen(n, 0);  // seen[cd] == cs + 1: judged for this source
  auto once = [&](uint32_t cs, uint32_t cd) {
    if (c.dst_full[cd] || seen[cd] == cs + 1) return;  // dst-full ones are judged for every source
    seen[cd] = cs + 1;
    judge(cs, cd);
  };
  for (uint32_t cs = 0; cs < n; ++cs) {
    if (c.src_full[cs]) {
      for (uint32_t cd = 0; cd < n; ++cd) judge(cs, cd);
      continue;
    }
    for (uint32_t cd : dst_full) judge(cs, cd);
    for (uint32_t id : c.egress_rows[cs]) {
      if (auto it = c.by_identity.find(id); it != c.by_identity.end()) {
        for (uint32_t cd : it->second) once(cs, cd);
      }
    }
    for (uint32_t id : c.identities[cs]) {
      if (auto it = ingress_by_identity.find(id); it != ingress_by_identity.end()) {
        for (uint32_t cd : it->second) once(cs, cd);
      }
    }
  }
}

struct ClassFlip {
  uint32_t src, dst, port;  // classes, index into ports
  Judgement before, after;
};

}  // namespace

std::vector<Flip> Flips(const k8s::ClusterState& before, const classifier::Classifier& before_classifier,
                        const k8s::ClusterState& after, const classifier::Classifier& after_classifier,
                        const std::vector<ProtoPort>& ports, FlipsStats* stats) {
  const auto pods = PodsInBoth(before, after);
  TableDiffer differ(before_classifier.tables(), after_classifier.tables());
  const StateView b(before_classifier), a(after_classifier);
  std::vector<std::vector<IpAddr>> addrs_b, addrs_a;  // equal unless the pod moved
  addrs_b.reserve(pods.size());
  addrs_a.reserve(pods.size());
  for (const auto& [pb, pa] : pods) {
    addrs_b.push_back(ParsedAddresses(*pb));
    addrs_a.push_back(ParsedAddresses(*pa));
  }
  const Classes classes = Group(pods, addrs_b, b, a, &differ);

  std::vector<ClassFlip> class_flips;
  size_t judged = 0;
  ForEachPairThatCanFlip(classes, [&](uint32_t cs, uint32_t cd) {
    if (cs == cd && classes.members[cs].size() == 1) return;  // a pod always reaches itself
    ++judged;
    const uint32_t ps = classes.members[cs][0], pd = classes.members[cd][0];
    const auto probe_b = ProbeAddresses(addrs_b[ps], addrs_b[pd]);
    const auto probe_a = ProbeAddresses(addrs_a[ps], addrs_a[pd]);
    for (uint32_t k = 0; k < ports.size(); ++k) {
      Judgement jb = JudgeProbe(probe_b, before_classifier, ports[k]);
      Judgement ja = JudgeProbe(probe_a, after_classifier, ports[k]);
      if (jb.allowed != ja.allowed) class_flips.push_back({cs, cd, k, jb, ja});
    }
  });

  if (stats) *stats = {pods.size(), classes.members.size(), judged};

  struct PodFlip {
    uint32_t src, dst, port;
    const ClassFlip* by;
  };
  std::vector<PodFlip> pod_flips;
  for (const ClassFlip& f : class_flips) {
    for (uint32_t s : classes.members[f.src]) {
      for (uint32_t d : classes.members[f.dst]) {
        if (s != d) pod_flips.push_back({s, d, f.port, &f});
      }
    }
  }
  std::sort(pod_flips.begin(), pod_flips.end(), [](const PodFlip& x, const PodFlip& y) {
    return std::tie(x.src, x.dst, x.port) < std::tie(y.src, y.dst, y.port);
  });
  std::vector<Flip> flips;
  flips.reserve(pod_flips.size());
  for (const PodFlip& f : pod_flips) {
    flips.push_back({pods[f.src].first->key(), pods[f.dst].first->key(), ports[f.port], f.by->before, f.by->after});
  }
  return flips;
}

}  // namespace netfence::reach
