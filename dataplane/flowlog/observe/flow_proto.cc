// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/observe/flow_proto.h"

#include <google/protobuf/util/json_util.h>

namespace netfence::flowlog {

StatusOr<v1::Flow> FlowFromLine(std::string_view line) {
  v1::Flow flow;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto s = google::protobuf::util::JsonStringToMessage(std::string(line), &flow, options);
  if (!s.ok()) return Status::Error("not a netfence.v1.Flow: " + std::string(s.message()));
  return flow;
}

StatusOr<std::string> JsonpbLine(std::string_view line) {
  auto flow = FlowFromLine(line);
  if (!flow.ok()) return flow.status();
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  const auto s = google::protobuf::util::MessageToJsonString(*flow, &out, options);
  if (!s.ok()) return Status::Error("netfence.v1.Flow: " + std::string(s.message()));
  return out;
}

}  // namespace netfence::flowlog
