// SPDX-License-Identifier: Apache-2.0
// What differs between the DPDK pipeline's decision about a packet and the XDP program's
// (BPF_PROG_TEST_RUN) about the same packet: action and every field of the decision record.
#pragma once

#include <string>

#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "tests/dataplane/xdp/xdp_harness.h"

namespace netfence::dpdktest {

// Empty when equal; else one line per differing field ("  xdp ... dpdk ...").
std::string RecordDiff(const DpdkRun& dpdk, const xdptest::RunResult& xdp);

}  // namespace netfence::dpdktest
