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
// Why skipping is exact: when a source's egress table has the same content (the same rows for
// the same identities, prefixes and ports, the same tiers) before and after, and the
// destination has the same identity and address, its egress verdict is the same; likewise for
// ingress. So only pairs whose source is "src-dirty" (egress table content or identity changed)
// or whose destination is "dst-dirty" (ingress table content or identity changed) can flip. A
// pod whose addresses changed is its own class and dirty both ways.
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>

#include "common/tables/wire.h"
#include "controlplane/reach/diff.h"
#include "controlplane/reach/matrix.h"

namespace netfence::reach {
namespace {

__extension__ typedef unsigned __int128 u128;

constexpr uint32_t kNone = 0xFFFFFFFFu;  // no endpoint (no table)

u128 ToU128(const IpAddr& a) { return (u128{a.hi()} << 64) | a.lo(); }

// Interns the content that decides verdicts of each table of both states: equal ids, equal
// verdicts for every (peer identity, peer address, protocol, port). Rows are compared by
// their words, so the layout of the arena does not matter; which policy a bit stands for
// (decided_by) is left out.
class TableContents {
 public:
  std::vector<uint32_t> Ids(const v1::RuleTables& t) {
    std::vector<uint32_t> ids;
    ids.reserve(static_cast<size_t>(t.tables_size()));
    std::string key;
    for (const v1::DirectionTable& dt : t.tables()) {
      key.clear();
      Content(t, dt, &key);
      ids.push_back(ids_.emplace(key, static_cast<uint32_t>(ids_.size())).first->second);
    }
    return ids;
  }

 private:
  template <typename T>
  static void Put(const T& v, std::string* out) {
    out->append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  template <typename R>
  static void PutAll(const R& values, std::string* out) {
    Put(static_cast<uint32_t>(values.size()), out);
    for (const auto& v : values) Put(v, out);
  }
  static void PutRow(const v1::RuleTables& t, const v1::DirectionTable& dt, uint32_t row, std::string* out) {
    if (row == tables::kEmptyRow) {
      out->push_back('-');
      return;
    }
    out->push_back('+');
    const uint32_t words = dt.summary_words() + dt.row_words();
    out->append(reinterpret_cast<const char*>(t.words().data() + row), words * sizeof(uint64_t));
  }
  static void Content(const v1::RuleTables& t, const v1::DirectionTable& dt, std::string* out) {
    Put(dt.isolated(), out);
    Put(dt.rule_count(), out);
    Put(dt.row_words(), out);
    Put(dt.summary_words(), out);
    PutAll(dt.rule_flags(), out);
    Put(dt.np_first_bit(), out);
    Put(dt.baseline_first_bit(), out);
    PutAll(dt.identity_ids(), out);
    for (uint32_t row : dt.identity_rows()) PutRow(t, dt, row, out);
    PutRow(t, dt, dt.all_pods_row(), out);
    Put(static_cast<uint32_t>(dt.cidr_addrs().size()), out);
    out->append(dt.cidr_addrs());
    PutAll(dt.cidr_lengths(), out);
    for (uint32_t row : dt.cidr_rows()) PutRow(t, dt, row, out);
    PutAll(dt.port_protocols(), out);
    PutAll(dt.port_firsts(), out);
    PutAll(dt.port_lasts(), out);
    for (uint32_t row : dt.port_rows()) PutRow(t, dt, row, out);
    PutRow(t, dt, dt.other_protocols_row(), out);
  }

  std::unordered_map<std::string, uint32_t> ids_;
};

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
  std::vector<uint32_t> contents;  // per table: TableContents id
  std::vector<u128> boundaries;

  StateView(const classifier::Classifier& c, TableContents* tc)
      : classifier(&c), contents(tc->Ids(c.tables())), boundaries(CidrBoundaries(c.tables())) {}
};

// One address of a pod in one state.
struct AddrView {
  uint32_t identity = 0;
  uint32_t egress = kNone, ingress = kNone;  // table indexes
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

uint32_t ContentOf(const StateView& s, uint32_t table) { return table == kNone ? kNone : s.contents[table]; }

struct Classes {
  std::vector<std::vector<uint32_t>> members;  // pod indexes, ascending
  std::vector<uint32_t> src_dirty, dst_dirty;  // class indexes
  std::vector<bool> is_src_dirty;
};

Classes Group(const std::vector<std::pair<const k8s::Pod*, const k8s::Pod*>>& pods,
              const std::vector<std::vector<IpAddr>>& addrs, const StateView& b, const StateView& a) {
  Classes c;
  std::map<std::vector<AddrKey>, uint32_t> by_key;
  std::vector<bool> is_dst_dirty;
  for (uint32_t i = 0; i < pods.size(); ++i) {
    const bool moved = PodAddresses(*pods[i].first) != PodAddresses(*pods[i].second);
    std::vector<AddrKey> key;
    bool src_dirty = moved, dst_dirty = moved;
    for (const IpAddr& ip : addrs[i]) {
      AddrKey k{ip.is_v4(), AddrView(b, ip), AddrView(a, ip)};
      const bool identity = k.before.identity != k.after.identity;
      src_dirty |= identity || ContentOf(b, k.before.egress) != ContentOf(a, k.after.egress);
      dst_dirty |= identity || ContentOf(b, k.before.ingress) != ContentOf(a, k.after.ingress);
      key.push_back(k);
    }
    uint32_t cls = static_cast<uint32_t>(c.members.size());
    if (!moved) cls = by_key.emplace(std::move(key), cls).first->second;  // a moved pod: a class of its own
    if (cls == c.members.size()) {
      c.members.emplace_back();
      c.is_src_dirty.push_back(src_dirty);
      is_dst_dirty.push_back(dst_dirty);
      if (src_dirty) c.src_dirty.push_back(cls);
      if (dst_dirty) c.dst_dirty.push_back(cls);
    }
    c.members[cls].push_back(i);
  }
  return c;
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
  TableContents contents;
  const StateView b(before_classifier, &contents), a(after_classifier, &contents);
  std::vector<std::vector<IpAddr>> addrs_b, addrs_a;  // equal unless the pod moved
  addrs_b.reserve(pods.size());
  addrs_a.reserve(pods.size());
  for (const auto& [pb, pa] : pods) {
    addrs_b.push_back(ParsedAddresses(*pb));
    addrs_a.push_back(ParsedAddresses(*pa));
  }
  const Classes classes = Group(pods, addrs_b, b, a);

  std::vector<ClassFlip> class_flips;
  size_t judged = 0;
  auto judge = [&](uint32_t cs, uint32_t cd) {
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
  };
  const uint32_t n = static_cast<uint32_t>(classes.members.size());
  for (uint32_t cs : classes.src_dirty) {
    for (uint32_t cd = 0; cd < n; ++cd) judge(cs, cd);
  }
  for (uint32_t cs = 0; cs < n; ++cs) {
    if (classes.is_src_dirty[cs]) continue;  // judged above
    for (uint32_t cd : classes.dst_dirty) judge(cs, cd);
  }

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
