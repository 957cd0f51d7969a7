// SPDX-License-Identifier: Apache-2.0
#include "dataplane/xdp/map_entries.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <map>
#include <string>
#include <utility>

#include "common/tables/rule_keys.h"
#include "common/tables/validate.h"
#include "common/tables/wire.h"

namespace netfence::xdp {

namespace {

using Addr = std::array<uint8_t, 16>;

Addr AddrAt(const std::string& bytes, size_t i) {
  Addr a;
  std::memcpy(a.data(), bytes.data() + 16 * i, 16);
  return a;
}

Status TableError(int t, const std::string& what) { return Status::Error("table " + std::to_string(t) + ": " + what); }

// One table's map entries. The tables passed tables::ValidateRuleTables() (rows in range,
// summaries exact, prefixes canonical and sorted, port ranges disjoint): only the XDP
// program's own limit is checked here.
Status Translate(const v1::RuleTables& rt, int ti, uint64_t arena_base, MapEntries* out) {
  const v1::DirectionTable& dt = rt.tables(ti);
  const uint32_t table = static_cast<uint32_t>(ti);
  const uint32_t S = dt.summary_words(), W = dt.row_words();
  if (S > NF_MAX_SUMMARY_WORDS) {
    return TableError(ti, std::to_string(dt.rule_count()) + " rules: the XDP program handles at most " +
                              std::to_string(NF_MAX_SUMMARY_WORDS * 64 * 64));
  }
  nf_table t{dt.isolated() ? 1u : 0u, S, W, dt.all_pods_row(), dt.other_protocols_row(), 0, 0, 0, NF_EMPTY_ROW,
             NF_EMPTY_ROW, NF_EMPTY_ROW,
             // The audited decision's isolation (tables of an earlier compiler leave
             // audit_isolated false: isolated stands for both).
             dt.audit_isolated() || dt.isolated() ? 1u : 0u, NF_EMPTY_ROW, 0};
  if (dt.rule_flags_size() > 0) {
    // Tiers (ClusterNetworkPolicy bits, or bits of policies in audit: such a table always has
    // rule_flags): the tier boundaries and, appended to the arena, a bitmap of the rule bits
    // that deny, one of those that pass and one of those in audit (each absent when empty).
    t.tiered = 1;
    t.np_first = dt.np_first_bit();
    t.bl_first = dt.baseline_first_bit();
    std::vector<uint64_t> deny(W, 0), pass(W, 0), audit(W, 0);
    for (int b = 0; b < dt.rule_flags_size(); ++b) {
      const uint32_t flags = dt.rule_flags(b);
      const uint32_t action = flags & tables::kRuleActionMask;
      const uint64_t bit = uint64_t{1} << (b % 64);
      if (action == tables::kRuleDeny) deny[static_cast<size_t>(b) / 64] |= bit;
      if (action == tables::kRulePass) pass[static_cast<size_t>(b) / 64] |= bit;
      if (flags & tables::kRuleAudit) audit[static_cast<size_t>(b) / 64] |= bit;
    }
    auto append = [&](const std::vector<uint64_t>& bitmap) -> uint32_t {
      bool any = false;
      for (uint64_t w : bitmap) any |= w != 0;
      if (!any) return NF_EMPTY_ROW;
      const uint64_t at = arena_base + out->action_words.size();
      out->action_words.insert(out->action_words.end(), bitmap.begin(), bitmap.end());
      return static_cast<uint32_t>(at);
    };
    t.deny_words = append(deny);
    t.pass_words = append(pass);
    t.audit_words = append(audit);
  }
  // The rule bits' keys (rule hit counters), after every action bitmap: the offset into
  // rule_key_words here, made an arena index once the action words are all known.
  if (const std::vector<uint64_t> keys = tables::TableRuleKeys(rt, ti); !keys.empty()) {
    t.rule_keys = static_cast<uint32_t>(out->rule_key_words.size());
    out->rule_key_words.insert(out->rule_key_words.end(), keys.begin(), keys.end());
  }
  out->tables.push_back(t);
  for (int i = 0; i < dt.identity_ids_size(); ++i) {
    out->id_rows.push_back({{table, dt.identity_ids(i)}, dt.identity_rows(i)});
  }
  // An LPM trie ignores host bits and keeps one entry per prefix; the classifier's intervals
  // start at the address as given: they agree on the canonical, distinct prefixes validated.
  for (int i = 0; i < dt.cidr_lengths_size(); ++i) {
    nf_cidr_key k{};
    k.prefixlen = NF_CIDR_TABLE_BITS + dt.cidr_lengths(i);
    k.table_be = htonl(table);
    std::memcpy(k.addr, AddrAt(dt.cidr_addrs(), static_cast<size_t>(i)).data(), 16);
    out->cidr_rows.push_back({k, dt.cidr_rows(i)});
  }
  for (int i = 0; i < dt.port_rows_size(); ++i) {
    const uint32_t proto = dt.port_protocols(i);
    for (const PortPrefix& p :
         PortPrefixes(static_cast<uint16_t>(dt.port_firsts(i)), static_cast<uint16_t>(dt.port_lasts(i)))) {
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

std::vector<uint64_t> Arena(const v1::RuleTables& tables, const MapEntries& entries) {
  std::vector<uint64_t> arena;
  arena.reserve(static_cast<size_t>(tables.words_size()) + entries.action_words.size() + entries.rule_key_words.size());
  arena.assign(tables.words().begin(), tables.words().end());
  arena.insert(arena.end(), entries.action_words.begin(), entries.action_words.end());
  arena.insert(arena.end(), entries.rule_key_words.begin(), entries.rule_key_words.end());
  return arena;
}

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
  // The one check every reader of tables runs first (common/tables/validate.h).
  if (Status bad = tables::ValidateRuleTables(rt); !bad.ok()) return bad;
  MapEntries out;
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
    for (const std::string& ip : ep.ips()) {
      nf_ip_info& info = insert(AddrAt(ip, 0), ep.identity());
      if (!(info.flags & NF_IP_LOCAL_ENDPOINT)) {
        info.flags |= NF_IP_LOCAL_ENDPOINT;
        info.ingress_table = ep.ingress_table();
        info.egress_table = ep.egress_table();
      }
    }
  }
  const auto table_words = static_cast<uint64_t>(rt.words_size());
  for (int ti = 0; ti < rt.tables_size(); ++ti) {
    if (Status s = Translate(rt, ti, table_words, &out); !s.ok()) return s;
  }
  const uint64_t keys_base = table_words + out.action_words.size();
  out.words = keys_base + out.rule_key_words.size();
  if (out.words > NF_EMPTY_ROW)
    return Status::Error("tables: " + std::to_string(out.words) + " words: more than the XDP arena indexes");
  for (nf_table& t : out.tables) {
    if (t.rule_keys != NF_EMPTY_ROW) t.rule_keys = static_cast<uint32_t>(keys_base + t.rule_keys);
  }
  return out;
}

}  // namespace netfence::xdp
