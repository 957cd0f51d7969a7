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
  return FirstOfCommonFamily(PodAddresses(src), PodAddresses(dst), [](const std::string& a) { return IpAddr::Parse(a); });
}

std::vector<IpAddr> ParsedAddresses(const k8s::Pod& pod) {
  std::vector<IpAddr> out;
  for (const auto& a : PodAddresses(pod)) {
    if (auto ip = IpAddr::Parse(a)) out.push_back(*ip);
  }
  return out;
}

std::optional<std::pair<IpAddr, IpAddr>> ProbeAddresses(const std::vector<IpAddr>& src, const std::vector<IpAddr>& dst) {
  return FirstOfCommonFamily(src, dst, [](const IpAddr& a) { return std::optional<IpAddr>(a); });
}

Matrix ComputeMatrix(const k8s::ClusterState& state, const classifier::Classifier& classifier, k8s::Protocol protocol,
                     uint16_t port) {
  Matrix m;
  auto pods = MatrixPods(state);
  for (const auto* p : pods) m.pods.push_back(p->key());
  m.allowed.assign(pods.size(), std::vector<bool>(pods.size(), false));
  for (size_t i = 0; i < pods.size(); ++i) {
    for (size_t j = 0; j < pods.size(); ++j) {
      if (i == j) {
        m.allowed[i][j] = true;
        continue;
      }
      auto addrs = ProbeAddresses(*pods[i], *pods[j]);
      if (!addrs) continue;
      classifier::FlowKey key{addrs->first, addrs->second, static_cast<uint8_t>(protocol), port};
      m.allowed[i][j] = classifier.Classify(key).allowed();
    }
  }
  return m;
}

nlohmann::json Matrix::ToJson() const {
  nlohmann::json j;
  j["pods"] = pods;
  nlohmann::json allowed_j = nlohmann::json::object();
  for (size_t i = 0; i < pods.size(); ++i) {
    nlohmann::json row = nlohmann::json::object();
    for (size_t k = 0; k < pods.size(); ++k) row[pods[k]] = static_cast<bool>(allowed[i][k]);
    allowed_j[pods[i]] = std::move(row);
  }
  j["allowed"] = std::move(allowed_j);
  return j;
}

std::string Matrix::ToTable() const {
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
    for (size_t k = 0; k < pods.size(); ++k) out += allowed[i][k] ? "   ." : "   X";
    out += "\n";
  }
  out += "'.' allowed, 'X' denied\n";
  return out;
}

}  // namespace netfence::reach
