// SPDX-License-Identifier: Apache-2.0
#include "controlplane/reach/matrix.h"

#include <algorithm>
#include <tuple>

namespace netfence::reach {

const std::vector<std::string>& PodAddresses(const k8s::Pod& pod) {
  return pod.host_network && !pod.host_ips.empty() ? pod.host_ips : pod.pod_ips;
}

std::vector<const k8s::Pod*> MatrixPods(const k8s::ClusterState& state) {
  std::vector<const k8s::Pod*> pods;
  for (const auto& p : state.pods) {
    if (!PodAddresses(p).empty() && p.phase != "Succeeded" && p.phase != "Failed") pods.push_back(&p);
  }
  std::sort(pods.begin(), pods.end(), [](const k8s::Pod* a, const k8s::Pod* b) {
    return std::tie(a->meta.ns, a->meta.name) < std::tie(b->meta.ns, b->meta.name);
  });
  return pods;
}

namespace {

// The first source address and the first destination address of its family; `parse` turns an
// element into an optional IpAddr (addresses that do not parse are skipped).
template <typename Addrs, typename Parse>
std::optional<std::pair<IpAddr, IpAddr>> FirstOfCommonFamily(const Addrs& src, const Addrs& dst, Parse parse) {
  for (const auto& s : src) {
    std::optional<IpAddr> sa = parse(s);
    if (!sa) continue;
    for (const auto& d : dst) {
      std::optional<IpAddr> da = parse(d);
      if (da && da->is_v4() == sa->is_v4()) return std::pair(*sa, *da);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::pair<IpAddr, IpAddr>> ProbeAddresses(const k8s::Pod& src, const k8s::Pod& dst) {
  return FirstOfCommonFamily(PodAddresses(src), PodAddresses(dst),
                             [](const std::string& a) { return IpAddr::Parse(a); });
}

std::vector<IpAddr> ParsedAddresses(const k8s::Pod& pod) {
  std::vector<IpAddr> out;
  for (const auto& a : PodAddresses(pod)) {
    if (auto ip = IpAddr::Parse(a)) out.push_back(*ip);
  }
  return out;
}

std::optional<std::pair<IpAddr, IpAddr>> ProbeAddresses(const std::vector<IpAddr>& src,
                                                        const std::vector<IpAddr>& dst) {
  return FirstOfCommonFamily(src, dst, [](const IpAddr& a) { return std::optional<IpAddr>(a); });
}

Matrix ComputeMatrix(const k8s::ClusterState& state, const classifier::Classifier& classifier, k8s::Protocol protocol,
                     uint16_t port) {
  Matrix m;
  auto pods = MatrixPods(state);
  for (const auto* p : pods) m.pods.push_back(p->key());
  m.allowed.assign(pods.size(), std::vector<bool>(pods.size(), false));
  m.audit_allowed = m.allowed;
  for (size_t i = 0; i < pods.size(); ++i) {
    for (size_t j = 0; j < pods.size(); ++j) {
      if (i == j) {
        m.allowed[i][j] = m.audit_allowed[i][j] = true;
        continue;
      }
      auto addrs = ProbeAddresses(*pods[i], *pods[j]);
      if (!addrs) continue;
      classifier::FlowKey key{addrs->first, addrs->second, static_cast<uint8_t>(protocol), port};
      const classifier::Decision d = classifier.Classify(key);
      m.allowed[i][j] = d.allowed();
      m.audit_allowed[i][j] = d.audit_allowed();
    }
  }
  return m;
}

nlohmann::json Matrix::ToJson(bool audit) const {
  nlohmann::json j;
  j["pods"] = pods;
  auto grid = [&](const std::vector<std::vector<bool>>& cells) {
    nlohmann::json out = nlohmann::json::object();
    for (size_t i = 0; i < pods.size(); ++i) {
      nlohmann::json row = nlohmann::json::object();
      for (size_t k = 0; k < pods.size(); ++k) row[pods[k]] = static_cast<bool>(cells[i][k]);
      out[pods[i]] = std::move(row);
    }
    return out;
  };
  j["allowed"] = grid(allowed);
  if (!audit) return j;
  j["audit_allowed"] = grid(audit_allowed);
  nlohmann::json differs = nlohmann::json::array();
  for (size_t i = 0; i < pods.size(); ++i) {
    for (size_t k = 0; k < pods.size(); ++k) {
      if (allowed[i][k] == audit_allowed[i][k]) continue;
      differs.push_back({{"from", pods[i]},
                         {"to", pods[k]},
                         {"allowed", static_cast<bool>(allowed[i][k])},
                         {"audit_allowed", static_cast<bool>(audit_allowed[i][k])}});
    }
  }
  j["audit_differs"] = std::move(differs);
  return j;
}

std::string Matrix::ToTable(bool audit) const {
  // Rows are numbered sources; the columns use the same numbers, so wide names stay readable.
  size_t w = 4;
  for (const auto& p : pods) w = std::max(w, p.size());
  auto pad = [](std::string s, size_t width, bool left) {
    if (s.size() >= width) return s;
    std::string fill(width - s.size(), ' ');
    return left ? s + fill : fill + s;
  };
  std::string out = pad("from \\ to", w + 4, true);
  for (size_t k = 0; k < pods.size(); ++k) out += pad(std::to_string(k + 1), 4, false);
  out += "\n";
  for (size_t i = 0; i < pods.size(); ++i) {
    out += pad(std::to_string(i + 1), 3, false) + " " + pad(pods[i], w, true);
    for (size_t k = 0; k < pods.size(); ++k) {
      const bool differs = audit && allowed[i][k] != audit_allowed[i][k];
      out += differs ? (allowed[i][k] ? "   a" : "   d") : allowed[i][k] ? "   ." : "   X";
    }
    out += "\n";
  }
  out += audit ? "'.' allowed, 'X' denied; 'a' allowed but the policies in audit would deny, 'd' denied but they "
                 "would allow\n"
               : "'.' allowed, 'X' denied\n";
  return out;
}

}  // namespace netfence::reach
