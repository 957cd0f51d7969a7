// SPDX-License-Identifier: Apache-2.0
// Large updates travel in parts: a snapshot of a big cluster is megabytes (the ipcache alone
// is 150k entries at 150k pods), more than one gRPC message should carry. Every part repeats
// the update's generation numbers; all but the last say `more`; the receiver applies only
// the reassembled whole.
#pragma once

#include <cstddef>
#include <vector>

#include "netfence/v1/distribution.pb.h"

namespace netfence::tables {

inline constexpr size_t kMaxPartBytes = 1 << 20;

// Splits `update` into parts of about `max_bytes` each (one part if it is small).
std::vector<v1::NodeUpdate> SplitUpdate(v1::NodeUpdate update, size_t max_bytes = kMaxPartBytes);

// Appends `part` to `whole` (start with an empty one); true when `part` completed it.
bool MergeUpdatePart(v1::NodeUpdate&& part, v1::NodeUpdate* whole);

}  // namespace netfence::tables
