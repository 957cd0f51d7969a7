// SPDX-License-Identifier: Apache-2.0
// How `netfencectl flows` prints records: the shapes of its -o flag, with an optional field
// mask (--fields).
//
//   json    the record's line as written (netfence.flow/v1); with a mask, only those fields
//   jsonpb  the record as netfence.v1.Flow in protobuf's JSON mapping (the converter is
//           injected: this library does not link protobuf)
//   table   one line per record for a person; with a mask, one column per field
//   csv     RFC 4180, a header row then one row per record; columns: the mask's fields, or
//           the default ones (DefaultCsvFields())
//
//   RecordPrinter p(Shape::kCsv, mask, nullptr);
//   out << p.Header();
//   out << p.Line(&record, line);     // record may be null (a partial line of a masked stream)
//
// In table and csv a field that is an object or a list is written compactly: an endpoint as
// "ns/pod ip:port", labels as "k=v,k=v", policies as "ns/name direction rule N; ...".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "dataplane/flowlog/field_mask.h"
#include "dataplane/flowlog/flow_record.h"

namespace netfence::flowlog {

enum class Shape { kJson, kJsonpb, kTable, kCsv };
std::optional<Shape> ParseShape(std::string_view name);  // "json", "jsonpb", "table", "csv"

// One line per record for a person (the table without a mask), and its header.
std::string TableLine(const FlowRecord& r);
std::string TableHeader();
// "ns/name direction rule N" (or "(isolates)"), joined by "; ".
std::string PolicyText(const std::vector<PolicyRef>& policies);
// "ns/pod ip:port", or the address alone when it is no pod; "*" when unknown.
std::string EndpointText(const Endpoint& e);

std::vector<std::string> DefaultCsvFields();

class RecordPrinter {
 public:
  using Jsonpb = std::function<StatusOr<std::string>(std::string_view line)>;
  RecordPrinter(Shape shape, FieldMask mask, Jsonpb jsonpb);

  // What comes before the records ("" for the JSON shapes), newline included.
  std::string Header() const;
  // One record, newline included; an error when the jsonpb converter refused it.
  StatusOr<std::string> Line(const FlowRecord* record, std::string_view line) const;

 private:
  Shape shape_;
  FieldMask mask_;
  std::vector<std::string> columns_;
  Jsonpb jsonpb_;
};

}  // namespace netfence::flowlog
