// SPDX-License-Identifier: Apache-2.0
// The one check of compiled tables before anything indexes them. Every reader of tables
// that come from elsewhere runs it first: the classifier (netfencectl, DPDK, the test
// oracle), the XDP loader, and an agent applying a controller's update (on each standalone
// table unit, before the unit is assembled into its node's RuleTables). Protobuf does not
// bounds-check repeated fields in release builds, so an index past the end from a buggy or
// hostile controller would otherwise read out of bounds; a refused update leaves the live
// tables as they were.
//
// What it checks, per direction table: row_words and summary_words follow from rule_count,
// one rule_policy and rule_index per rule; rule_policy and isolating_policies index the
// policy list; the dimension arrays have equal lengths; every row lies inside the word
// arena, its summary marks exactly its non-zero words and no bit lies at or past
// rule_count; identity ids strictly ascending; CIDR prefixes of at most 128 bits with their
// host bits clear, strictly ascending by (address, length); port entries TCP/UDP/SCTP,
// first <= last <= 65535, ascending and disjoint per protocol; with ClusterNetworkPolicy tiers
// (rule_flags), one flags word per rule holding only an action, the tier boundaries in order,
// and every bit's action and policy of the tier its position says. Per RuleTables also: the
// ipcache's address bytes and identities agree, and every endpoint names existing tables
// and 16-byte addresses. Limits of one fast path (the XDP program's widest row) are that
// fast path's own check.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/base/status.h"
#include "netfence/v1/distribution.pb.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::tables {

// One direction table against the word arena its row offsets index and the policies its
// indices name. `name` starts every error ("table 3", "table unit 17").
Status ValidateDirectionTable(const v1::DirectionTable& table, std::span<const uint64_t> words,
                              const google::protobuf::RepeatedPtrField<v1::PolicyRef>& policies,
                              const std::string& name);

// A whole RuleTables (what a fast path loads).
Status ValidateRuleTables(const v1::RuleTables& tables);

// A standalone table unit of a NodeUpdate: its rows index its own words, its policy
// indices its own policies.
Status ValidateTableUnit(uint64_t id, const v1::DirectionTable& unit);

}  // namespace netfence::tables
