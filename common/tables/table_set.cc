// SPDX-License-Identifier: Apache-2.0
#include "common/tables/table_set.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "common/tables/validate.h"
#include "common/tables/wire.h"
#include "google/protobuf/util/message_differencer.h"

namespace netfence::tables {
namespace {

using google::protobuf::util::MessageDifferencer;

template <typename K, typename V>
bool SameMaps(const std::map<K, V>& a, const std::map<K, V>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
           return x.first == y.first && MessageDifferencer::Equals(x.second, y.second);
         });
}

uint32_t Relocate(uint32_t row, uint32_t base) { return row == kEmptyRow ? row : row + base; }

// Rows a standalone table stores: the distinct offsets it refers to (identical rows of one
// table are stored once, so each stored row is referred to at least once).
uint64_t StoredRows(const v1::DirectionTable& t) {
  std::vector<uint32_t> offs;
  auto add = [&](uint32_t r) {
    if (r != kEmptyRow) offs.push_back(r);
  };
  if (t.rule_count() == 0) return 0;
  add(t.all_pods_row());
  add(t.other_protocols_row());
  for (uint32_t r : t.identity_rows()) add(r);
  for (uint32_t r : t.cidr_rows()) add(r);
  for (uint32_t r : t.port_rows()) add(r);
  std::sort(offs.begin(), offs.end());
  return static_cast<uint64_t>(std::unique(offs.begin(), offs.end()) - offs.begin());
}

}  // namespace

PolicyKey KeyOf(const v1::PolicyRef& p) { return {!p.kind().empty(), p.kind(), p.namespace_(), p.name()}; }

std::string AddrBytes(const IpAddr& a) { return std::string(a.bytes.begin(), a.bytes.end()); }

std::optional<IpAddr> AddrFromBytes(const std::string& b) {
  if (b.size() != 16) return std::nullopt;
  IpAddr a;
  std::copy(b.begin(), b.end(), a.bytes.begin());
  return a;
}

bool TableSet::operator==(const TableSet& o) const {
  return SameMaps(identities, o.identities) && SameMaps(ipcache, o.ipcache) && SameMaps(endpoints, o.endpoints) &&
         SameMaps(tables, o.tables);
}

v1::RuleTables Assemble(const TableSet& set, uint64_t generation, std::span<const v1::PolicyRef> policies,
                        bool fast_path_ipcache) {
  v1::RuleTables out;
  out.set_generation(generation);

  // Policies: the ones asked for and the ones the tables name, sorted (PolicyOrder).
  std::map<PolicyKey, const v1::PolicyRef*> refs;
  for (const auto& p : policies) refs.try_emplace(KeyOf(p), &p);
  for (const auto& [id, t] : set.tables) {
    for (const auto& p : t.policies()) refs.try_emplace(KeyOf(p), &p);
  }
  std::map<PolicyKey, uint32_t> policy_index;
  for (const auto& [key, ref] : refs) {
    policy_index.emplace(key, out.policies_size());
    *out.add_policies() = *ref;
  }

  for (const auto& [id, identity] : set.identities) *out.add_identities() = identity;
  std::set<uint32_t> told_apart;
  bool all_pods = false;
  if (fast_path_ipcache) {
    for (const auto& [name, e] : set.endpoints) told_apart.insert(e.identity());
    for (const auto& [id, t] : set.tables) {
      told_apart.insert(t.identity_ids().begin(), t.identity_ids().end());
      all_pods |= t.all_pods_row() != kEmptyRow;
    }
  }
  std::string* addrs = out.mutable_ipcache_addrs();
  addrs->reserve(16 * set.ipcache.size());
  for (const auto& [ip, e] : set.ipcache) {
    if (fast_path_ipcache && !told_apart.contains(e.identity()) && !(all_pods && e.identity() >= kFirstPodIdentity)) {
      continue;
    }
    addrs->append(ip.bytes.begin(), ip.bytes.end());
    out.add_ipcache_identities(e.identity());
  }

  // Table numbers: in the order the endpoints' identities, ascending, first use them.
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> by_identity;
  for (const auto& [name, e] : set.endpoints)
    by_identity.try_emplace(e.identity(), e.ingress_table(), e.egress_table());
  std::map<uint64_t, uint32_t> table_index;
  std::vector<const v1::DirectionTable*> placed;
  for (const auto& [identity, tables] : by_identity) {
    for (uint64_t id : {tables.first, tables.second}) {
      auto it = set.tables.find(id);
      if (it == set.tables.end() || table_index.contains(id)) continue;
      table_index.emplace(id, static_cast<uint32_t>(placed.size()));
      placed.push_back(&it->second);
    }
  }

  auto* words = out.mutable_words();
  uint64_t rows = 0;
  for (const v1::DirectionTable* unit : placed) {
    auto* t = out.add_tables();
    *t = *unit;
    t->clear_words();
    t->clear_policies();
    const auto base = static_cast<uint32_t>(words->size());
    t->set_all_pods_row(Relocate(t->all_pods_row(), base));
    t->set_other_protocols_row(Relocate(t->other_protocols_row(), base));
    for (auto* field : {t->mutable_identity_rows(), t->mutable_cidr_rows(), t->mutable_port_rows()}) {
      for (uint32_t& r : *field) r = Relocate(r, base);
    }
    auto global = [&](uint32_t local) { return policy_index.at(KeyOf(unit->policies(static_cast<int>(local)))); };
    for (uint32_t& p : *t->mutable_rule_policy()) p = global(p);
    for (uint32_t& p : *t->mutable_isolating_policies()) p = global(p);
    for (uint32_t& p : *t->mutable_audit_isolating_policies()) p = global(p);
    words->Add(unit->words().begin(), unit->words().end());
    rows += StoredRows(*unit);
  }

  for (const auto& [name, e] : set.endpoints) {
    auto* ep = out.add_endpoints();
    ep->set_namespace_(e.namespace_());
    ep->set_name(e.name());
    ep->set_node(e.node());
    for (const auto& ip : e.ips()) ep->add_ips(ip);
    ep->set_identity(e.identity());
    auto in = table_index.find(e.ingress_table());
    auto eg = table_index.find(e.egress_table());
    // An endpoint whose table is missing from the set cannot be enforced: the classifier
    // refuses such tables (index past the end), so Program() keeps the last good ones.
    ep->set_ingress_table(in == table_index.end() ? UINT32_MAX : in->second);
    ep->set_egress_table(eg == table_index.end() ? UINT32_MAX : eg->second);
  }

  auto* st = out.mutable_stats();
  st->set_identities(out.identities_size());
  st->set_endpoints(out.endpoints_size());
  st->set_tables(out.tables_size());
  st->set_policies(out.policies_size());
  st->set_words(out.words_size());
  st->set_rows(rows);
  for (const auto& d : out.tables()) {
    st->set_rules(st->rules() + d.rule_count());
    st->set_identity_entries(st->identity_entries() + d.identity_ids_size());
    st->set_cidr_entries(st->cidr_entries() + d.cidr_lengths_size());
    st->set_port_entries(st->port_entries() + d.port_rows_size());
  }
  return out;
}

v1::NodeUpdate SnapshotOf(const TableSet& set, uint64_t generation, uint64_t endpoints_sequence) {
  v1::NodeUpdate u;
  u.set_snapshot(true);
  u.set_generation(generation);
  u.set_endpoints_sequence(endpoints_sequence);
  for (const auto& [id, i] : set.identities) *u.add_identities() = i;
  for (const auto& [ip, e] : set.ipcache) *u.add_ipcache() = e;
  for (const auto& [id, t] : set.tables) {
    auto* unit = u.add_tables();
    unit->set_id(id);
    *unit->mutable_table() = t;
  }
  for (const auto& [name, e] : set.endpoints) *u.add_endpoints() = e;
  return u;
}

Status ApplyUpdate(const v1::NodeUpdate& u, uint64_t held_generation, TableSet* set) {
  return ApplyUpdate(v1::NodeUpdate(u), held_generation, set);
}

Status ApplyUpdate(v1::NodeUpdate&& u, uint64_t held_generation, TableSet* set) {
  if (!u.snapshot() && u.base_generation() != held_generation) {
    return Status::Error("update " + std::to_string(u.generation()) + " applies on generation " +
                         std::to_string(u.base_generation()) + ", this node holds " + std::to_string(held_generation));
  }
  // Check every address first, so a malformed update changes nothing.
  for (const auto& e : u.ipcache()) {
    if (!AddrFromBytes(e.addr())) {
      return Status::Error("update " + std::to_string(u.generation()) + ": ipcache address of " +
                           std::to_string(e.addr().size()) + " bytes");
    }
  }
  for (const auto& a : u.removed_ipcache()) {
    if (!AddrFromBytes(a)) {
      return Status::Error("update " + std::to_string(u.generation()) + ": removed ipcache address of " +
                           std::to_string(a.size()) + " bytes");
    }
  }
  // And every table unit: Assemble() indexes their rows and policies.
  for (const auto& t : u.tables()) {
    if (Status bad = ValidateTableUnit(t.id(), t.table()); !bad.ok()) {
      return Status::Error("update " + std::to_string(u.generation()) + ": " + bad.message());
    }
  }
  if (u.snapshot()) *set = TableSet{};
  for (uint32_t id : u.removed_identities()) set->identities.erase(id);
  for (const auto& a : u.removed_ipcache()) set->ipcache.erase(*AddrFromBytes(a));
  for (uint64_t id : u.removed_tables()) set->tables.erase(id);
  for (const auto& k : u.removed_endpoints()) set->endpoints.erase({k.namespace_(), k.name()});
  for (auto& i : *u.mutable_identities()) set->identities[i.id()] = std::move(i);
  for (auto& e : *u.mutable_ipcache()) {
    const IpAddr addr = *AddrFromBytes(e.addr());
    set->ipcache[addr] = std::move(e);
  }
  for (auto& t : *u.mutable_tables()) set->tables[t.id()] = std::move(*t.mutable_table());
  for (auto& e : *u.mutable_endpoints()) {
    EndpointName name{e.namespace_(), e.name()};
    set->endpoints[std::move(name)] = std::move(e);
  }
  u.clear_identities();
  u.clear_ipcache();
  u.clear_tables();
  u.clear_endpoints();
  return Status::Ok();
}

}  // namespace netfence::tables
