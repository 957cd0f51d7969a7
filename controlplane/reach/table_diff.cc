// SPDX-License-Identifier: Apache-2.0
#include "controlplane/reach/table_diff.h"

#include <cstring>

#include "common/tables/wire.h"

namespace netfence::reach {
namespace {

template <typename T>
void Put(const T& v, std::string* out) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename R>
void PutAll(const R& values, std::string* out) {
  Put(static_cast<uint32_t>(values.size()), out);
  for (const auto& v : values) Put(v, out);
}

uint32_t RowWords(const v1::DirectionTable& dt) { return dt.summary_words() + dt.row_words(); }

void PutRow(const v1::RuleTables& t, const v1::DirectionTable& dt, uint32_t row, std::string* out) {
  if (row == tables::kEmptyRow) {
    out->push_back('-');
    return;
  }
  out->push_back('+');
  out->append(reinterpret_cast<const char*>(t.words().data() + row), RowWords(dt) * sizeof(uint64_t));
}

// Everything Match() reads but the identity rows.
void PutBase(const v1::RuleTables& t, const v1::DirectionTable& dt, std::string* out) {
  Put(dt.isolated(), out);
  Put(dt.audit_isolated(), out);
  Put(dt.rule_count(), out);
  Put(dt.row_words(), out);
  Put(dt.summary_words(), out);
  PutAll(dt.rule_flags(), out);
  Put(dt.np_first_bit(), out);
  Put(dt.baseline_first_bit(), out);
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

void PutIdentityRows(const v1::RuleTables& t, const v1::DirectionTable& dt, std::string* out) {
  PutAll(dt.identity_ids(), out);
  for (uint32_t row : dt.identity_rows()) PutRow(t, dt, row, out);
}

// The row a pod identity's peer gets: its own, else the row of pods not listed.
uint32_t RowOf(const v1::DirectionTable& dt, int i) {
  return i < dt.identity_ids_size() ? dt.identity_rows(i) : dt.all_pods_row();
}

// Rows of two tables of the same width.
bool SameRow(const v1::RuleTables& tb, const v1::DirectionTable& db, uint32_t rb, const v1::RuleTables& ta,
             uint32_t ra) {
  if (rb == tables::kEmptyRow || ra == tables::kEmptyRow) return rb == ra;
  return std::memcmp(tb.words().data() + rb, ta.words().data() + ra, RowWords(db) * sizeof(uint64_t)) == 0;
}

}  // namespace

TableDiffer::TableDiffer(const v1::RuleTables& before, const v1::RuleTables& after) {
  before_.tables = &before;
  after_.tables = &after;
  Intern(&before_);
  Intern(&after_);
}

void TableDiffer::Intern(Side* s) {
  const v1::RuleTables& t = *s->tables;
  std::string key;
  for (const v1::DirectionTable& dt : t.tables()) {
    key.clear();
    key.push_back('b');
    PutBase(t, dt, &key);
    s->base.push_back(ids_.emplace(key, static_cast<uint32_t>(ids_.size())).first->second);
    key[0] = 'f';
    PutIdentityRows(t, dt, &key);
    s->full.push_back(ids_.emplace(key, static_cast<uint32_t>(ids_.size())).first->second);
  }
}

const TableDiff& TableDiffer::Diff(uint32_t b, uint32_t a) {
  auto [it, inserted] = cache_.try_emplace({b, a});
  TableDiff& d = it->second;
  if (!inserted) return d;
  if (b == kNoTable || a == kNoTable) {
    d.any_peer = b != a;
    return d;
  }
  if (before_.full[b] == after_.full[a]) return d;
  if (before_.base[b] != after_.base[a]) {
    d.any_peer = true;
    return d;
  }
  // The same base (so the same row width and the same row for pods not listed): merge the
  // sorted identity lists and compare the row each identity gets on each side.
  const v1::RuleTables &tb = *before_.tables, &ta = *after_.tables;
  const v1::DirectionTable &db = tb.tables(static_cast<int>(b)), &da = ta.tables(static_cast<int>(a));
  int i = 0, j = 0;
  while (i < db.identity_ids_size() || j < da.identity_ids_size()) {
    const uint32_t ib = i < db.identity_ids_size() ? db.identity_ids(i) : kNoTable;
    const uint32_t ia = j < da.identity_ids_size() ? da.identity_ids(j) : kNoTable;
    const uint32_t id = std::min(ib, ia);
    const int ri = ib == id ? i : db.identity_ids_size(), rj = ia == id ? j : da.identity_ids_size();
    if (!SameRow(tb, db, RowOf(db, ri), ta, RowOf(da, rj))) d.rows_differ.push_back(id);
    i += ib == id ? 1 : 0;
    j += ia == id ? 1 : 0;
  }
  return d;
}

}  // namespace netfence::reach
