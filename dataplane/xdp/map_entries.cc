// SPDX-License-Identifier: Apache-2.0
#include "dataplane/xdp/map_entries.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <map>
#include <string>
#include <utility>

namespace netfence::xdp {

namespace {

using Addr = std::array<uint8_t, 16>;

Addr AddrAt(const std::string& bytes, size_t i) {
  Addr a;
  std::memcpy(a.data(), bytes.data() + 16 * i, 16);
  return a;
}

bool HostBitsZero(const Addr& a, uint32_t len) {
  for (uint32_t bit = len; bit < 128; ++bit) {
    if (a[bit / 8] & (0x80u >> (bit % 8))) return false;
  }
  return true;
}

Status TableError(int t, const std::string& what) { return Status::Error("table " + std::to_string(t) + ": " + what); }

Status CheckAndTranslate(const v1::RuleTables& rt, int ti, MapEntries* out) {
  const v1::DirectionTable& dt = rt.tables(ti);
  const uint64_t nwords = static_cast<uint64_t>(rt.words_size());
  const uint32_t table = static_cast<uint32_t>(ti);
  const uint32_t S = dt.summary_words(), W = dt.row_words();
  if (W != (dt.rule_count() + 63) / 64 || S != (W + 63) / 64 ||
      dt.rule_policy_size() != static_cast<int>(dt.rule_count()) ||
      dt.rule_index_size() != static_cast<int>(dt.rule_count())) {
    return TableError(ti, "inconsistent row sizes");
  }
  if (S > NF_MAX_SUMMARY_WORDS) {
    return TableError(ti, std::to_string(dt.rule_count()) + " rules: the XDP program handles at most " +
                              std::to_string(NF_MAX_SUMMARY_WORDS * 64 * 64));
  }
  for (uint32_t p : dt.rule_policy()) {
    if (p >= static_cast<uint32_t>(rt.policies_size())) return TableError(ti, "rule refers to a missing policy");
  }
  // Tables with ClusterNetworkPolicy tiers need the program to act on each bit's action; this
  // one allows on any matching bit, which would turn a Deny rule into an allow. Refused, so
  // the last good tables stay in force (fail closed) rather than being enforced wrongly.
  if (dt.rule_flags_size() > 0) {
    return TableError(ti, "ClusterNetworkPolicy tiers (rule actions) are not enforced by this XDP program");
  }
  auto row_ok = [&](uint32_t row) { return row == NF_EMPTY_ROW || uint64_t{row} + S + W <= nwords; };
  const int nids = dt.identity_ids_size(), ncidrs = dt.cidr_lengths_size(), nports = dt.port_rows_size();
  if (dt.identity_rows_size() != nids || dt.cidr_rows_size() != ncidrs ||
      dt.cidr_addrs().size() != 16 * static_cast<size_t>(ncidrs) || dt.port_protocols_size() != nports ||
      dt.port_firsts_size() != nports || dt.port_lasts_size() != nports) {
    return TableError(ti, "dimension arrays of unequal length");
  }
  if (!row_ok(dt.all_pods_row()) || !row_ok(dt.other_protocols_row())) return TableError(ti, "row out of range");
  out->tables.push_back({dt.isolated() ? 1u : 0u, S, W, dt.all_pods_row(), dt.other_protocols_row()});

  for (int i = 0; i < nids; ++i) {
    if (!row_ok(dt.identity_rows(i)) || (i > 0 && dt.identity_ids(i - 1) >= dt.identity_ids(i))) {
      return TableError(ti, "identity rows unsorted or out of range");
    }
    out->id_rows.push_back({{table, dt.identity_ids(i)}, dt.identity_rows(i)});
  }
  for (int i = 0; i < ncidrs; ++i) {
    const Addr a = AddrAt(dt.cidr_addrs(), static_cast<size_t>(i));
    const uint32_t len = dt.cidr_lengths(i);
    if (!row_ok(dt.cidr_rows(i)) || len > 128) return TableError(ti, "CIDR row or length out of range");
    // An LPM trie ignores host bits and keeps one entry per prefix; the classifier's
    // intervals start at the address as given. They agree on canonical, distinct prefixes.
    if (!HostBitsZero(a, len)) return TableError(ti, "CIDR prefix " + std::to_string(i) + " has host bits set");
    // The classifier's intervals also need them sorted by (address, length).
    if (i > 0 &&
        std::pair(AddrAt(dt.cidr_addrs(), static_cast<size_t>(i - 1)), dt.cidr_lengths(i - 1)) >= std::pair(a, len)) {
      return TableError(ti, "CIDR prefix " + std::to_string(i) + " out of order or listed twice");
    }
    nf_cidr_key k{};
    k.prefixlen = NF_CIDR_TABLE_BITS + len;
    k.table_be = htonl(table);
    std::memcpy(k.addr, a.data(), 16);
    out->cidr_rows.push_back({k, dt.cidr_rows(i)});
  }
  std::map<uint32_t, uint32_t> last_by_proto;
  for (int i = 0; i < nports; ++i) {
    const uint32_t proto = dt.port_protocols(i), first = dt.port_firsts(i), last = dt.port_lasts(i);
    if (!row_ok(dt.port_rows(i)) || (proto != 6 && proto != 17 && proto != 132) || first > last || last > 65535) {
      return TableError(ti, "malformed or out-of-range port entry");
    }
    auto prev = last_by_proto.find(proto);
    if (prev != last_by_proto.end() && prev->second >= first) return TableError(ti, "overlapping port ranges");
    last_by_proto[proto] = last;
    for (const PortPrefix& p : PortPrefixes(static_cast<uint16_t>(first), static_cast<uint16_t>(last))) {
      nf_port_key k{};
      k.prefixlen = NF_CIDR_TABLE_BITS + 8 + p.len;
      k.table_be = htonl(table);
      k.proto = static_cast<uint8_t>(proto);
      k.port_be[0] = static_cast<uint8_t>(p.port >> 8);
      k.port_be[1] = static_cast<uint8_t>(p.port);
      out->port_rows.push_back({k, dt.port_rows(i)});
    }
  }
  return Status::Ok();
}

}  // namespace

std::vector<PortPrefix> PortPrefixes(uint16_t first, uint16_t last) {
  std::vector<PortPrefix> out;
  uint32_t lo = first;
  const uint32_t hi = last;
  while (lo <= hi) {
    // The largest block aligned at lo that stays inside [lo, hi].
    uint32_t size_bits = 0;
    while (size_bits < 16 && (lo & ((2u << size_bits) - 1)) == 0 && lo + (2u << size_bits) - 1 <= hi) ++size_bits;
    out.push_back({static_cast<uint16_t>(lo), static_cast<uint8_t>(16 - size_bits)});
    lo += 1u << size_bits;
  }
  return out;
}

StatusOr<MapEntries> BuildMapEntries(const v1::RuleTables& rt) {
  MapEntries out;
  if (rt.ipcache_addrs().size() != 16 * static_cast<size_t>(rt.ipcache_identities_size())) {
    return Status::Error("ipcache: " + std::to_string(rt.ipcache_addrs().size()) + " address bytes for " +
                         std::to_string(rt.ipcache_identities_size()) + " identities");
  }
  // The classifier's insertion order: the first entry for an address keeps its identity,
  // the first endpoint with the address gives it its tables.
  std::map<Addr, size_t> index;
  auto insert = [&](const Addr& a, uint32_t identity) -> nf_ip_info& {
    auto [it, fresh] = index.try_emplace(a, out.ipcache.size());
    if (fresh) {
      nf_ip_key k{};
      std::memcpy(k.addr, a.data(), 16);
      out.ipcache.push_back({k, {identity, 0, 0, 0}});
    }
    return out.ipcache[it->second].value;
  };
  for (int i = 0; i < rt.ipcache_identities_size(); ++i) {
    insert(AddrAt(rt.ipcache_addrs(), static_cast<size_t>(i)), rt.ipcache_identities(i));
  }
  for (const v1::Endpoint& ep : rt.endpoints()) {
    if (ep.ingress_table() >= static_cast<uint32_t>(rt.tables_size()) ||
        ep.egress_table() >= static_cast<uint32_t>(rt.tables_size())) {
      return Status::Error("endpoint " + ep.namespace_() + "/" + ep.name() + " refers to a missing table");
    }
    for (const std::string& ip : ep.ips()) {
      if (ip.size() != 16)
        return Status::Error("endpoint " + ep.namespace_() + "/" + ep.name() + " has a malformed address");
      nf_ip_info& info = insert(AddrAt(ip, 0), ep.identity());
      if (!(info.flags & NF_IP_LOCAL_ENDPOINT)) {
        info.flags |= NF_IP_LOCAL_ENDPOINT;
        info.ingress_table = ep.ingress_table();
        info.egress_table = ep.egress_table();
      }
    }
  }
  for (int ti = 0; ti < rt.tables_size(); ++ti) {
    if (Status s = CheckAndTranslate(rt, ti, &out); !s.ok()) return s;
  }
  out.words = static_cast<uint64_t>(rt.words_size());
  return out;
}

}  // namespace netfence::xdp
