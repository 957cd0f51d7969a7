// SPDX-License-Identifier: Apache-2.0
// The XDP maps' contents computed from compiled rule tables: pure translation and checks,
// no BPF. dataplane/xdp/xdp_program.h writes them into the maps.
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"
#include "netfence/v1/tables.pb.h"
#include "xdp/include/netfence_abi.h"

namespace netfence::xdp {

// An aligned block of ports: the 2^(16 - len) ports starting at `port`.
struct PortPrefix {
  uint16_t port = 0;
  uint8_t len = 16;
  bool operator==(const PortPrefix&) const = default;
};

// The fewest aligned blocks covering exactly [first, last] (first <= last), ascending.
std::vector<PortPrefix> PortPrefixes(uint16_t first, uint16_t last);

template <typename K, typename V>
struct MapEntry {
  K key;
  V value;
};

struct MapEntries {
  std::vector<MapEntry<nf_ip_key, nf_ip_info>> ipcache;
  std::vector<nf_table> tables;  // index = table id
  std::vector<MapEntry<nf_id_key, uint32_t>> id_rows;
  std::vector<MapEntry<nf_cidr_key, uint32_t>> cidr_rows;
  std::vector<MapEntry<nf_port_key, uint32_t>> port_rows;
  // The words arena of a slot: RuleTables.words, then action_words (the Deny, Pass and audit
  // bitmaps of tiered tables, nf_table.deny_words/pass_words/audit_words), then rule_key_words
  // (every table's rule keys, nf_table.rule_keys; common/tables/rule_keys.h). `words` counts all.
  std::vector<uint64_t> action_words;
  std::vector<uint64_t> rule_key_words;
  uint64_t words = 0;
};

// The slot's whole words arena: `tables`' words followed by entries.action_words.
std::vector<uint64_t> Arena(const v1::RuleTables& tables, const MapEntries& entries);

// Checks the tables the way Classifier::Load does, plus what the LPM maps need to agree
// with the classifier's interval lookup (canonical prefixes, sorted, distinct) and the program's
// loop bound (summary_words <= NF_MAX_SUMMARY_WORDS), and translates them:
//   ipcache: RuleTables.ipcache (identity) then endpoints' IPs (local, tables); the first
//            entry for an address keeps its identity, the first endpoint its tables;
//   tables, id_rows, cidr_rows (every prefix, holes included), port_rows (ranges split
//   into aligned prefixes); tiered tables (rule_flags: ClusterNetworkPolicy tiers, policies in
//   audit) their tier boundaries, action bitmaps and audit bitmap; every table audit_isolated.
StatusOr<MapEntries> BuildMapEntries(const v1::RuleTables& tables);

}  // namespace netfence::xdp
