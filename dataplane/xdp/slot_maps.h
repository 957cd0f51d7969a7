// One generation's table maps, created fresh and filled from compiled tables, ready to be
// put in the idle slot of the outer maps (xdp/include/maps.h). Nothing here touches a live
// map: a failure leaves only maps that are dropped with the SlotMaps.
#pragma once

#include "dataplane/common/status.h"
#include "dataplane/common/unique_fd.h"
#include "dataplane/xdp/map_entries.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::xdp {

struct SlotMaps {
  UniqueFd ipcache, tables, id_rows, cidr_rows, port_rows, words;
};

// Creates the six inner maps sized for `entries` (the entries of `tables`) and fills them.
StatusOr<SlotMaps> CreateSlotMaps(const MapEntries& entries, const v1::RuleTables& tables);

}  // namespace netfence::xdp
