// SPDX-License-Identifier: Apache-2.0
// What differs, for verdicts, between a table of one compiled state and a table of another
// (Flips() in fast_flips.cc asks it of each pod's egress and ingress table before and after
// a change).
//
// A direction's verdict on a peer is Match(table, peer): the table's "base" (isolation, tiers,
// rule count, the port dimension, the CIDR dimension and the row of pods not listed) and the
// row of the peer's identity. Tables are compared by content: rows by their words, not by
// their offsets in the arena; which policy a bit stands for (decided_by only) is left out.
//   - same content: every peer gets the same verdict;
//   - the same base: only peers whose identity's row differs can get another verdict (the
//     identities listed in `rows_differ`);
//   - otherwise (or a table on one side only): any peer can.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "netfence/v1/tables.pb.h"

namespace netfence::reach {

inline constexpr uint32_t kNoTable = 0xFFFFFFFFu;  // an address that is no endpoint

struct TableDiff {
  bool any_peer = false;             // every peer may get another verdict
  std::vector<uint32_t> rows_differ;  // else: the pod identities that may (sorted)
  bool same() const { return !any_peer && rows_differ.empty(); }
};

class TableDiffer {
 public:
  TableDiffer(const v1::RuleTables& before, const v1::RuleTables& after);

  // Table `b` of the state before against table `a` of the state after (kNoTable: none).
  // Cached per pair.
  const TableDiff& Diff(uint32_t b, uint32_t a);

 private:
  struct Side {
    const v1::RuleTables* tables;
    std::vector<uint32_t> base, full;  // per table: interned content ids
  };
  void Intern(Side* s);

  Side before_, after_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::map<std::pair<uint32_t, uint32_t>, TableDiff> cache_;
};

}  // namespace netfence::reach
