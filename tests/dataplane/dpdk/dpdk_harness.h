// SPDX-License-Identifier: Apache-2.0
// The DPDK pipeline under test: the process's EAL (initialised once, without hugepages; one
// worker lcore besides the main one), a Datapath with lanes that a test drives by hand, and
// frames turned into mbufs (one segment, or two chained to exercise the multi-segment path).
// Each packet's record is what the XDP program writes to last_decision for the same packet,
// so a test compares the two fast paths field by field.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "dataplane/dpdk/datapath.h"
#include "xdp/include/netfence_abi.h"

struct rte_mbuf;

namespace netfence::dpdktest {

// Initialises the EAL on first use; an error when this process cannot (not root).
const Status& EalAvailable();

// NETFENCE_REQUIRE_DPDK(): skips a test when the EAL cannot start here, except in CI (CI set
// in the environment), where it must and the test fails.
#define NETFENCE_REQUIRE_DPDK()                                                                                      \
  do {                                                                                                               \
    if (!::netfence::dpdktest::EalAvailable().ok()) {                                                                \
      if (std::getenv("CI")) FAIL() << "DPDK unavailable in CI: " << ::netfence::dpdktest::EalAvailable().message(); \
      GTEST_SKIP() << "DPDK unavailable: " << ::netfence::dpdktest::EalAvailable().message();                        \
    }                                                                                                                \
  } while (0)

struct DpdkRun {
  uint8_t action = 0;  // XDP_PASS or XDP_DROP
  nf_decision decision{};
};

// Options of a pipeline that classifies every packet on its own (no conntrack, no events),
// as the XDP tests' StatelessOptions() program does; one lane, nothing forwarded.
dpdk::DatapathOptions StatelessOptions();
// With conntrack and events (a small ring unless said otherwise); one lane.
dpdk::DatapathOptions StatefulOptions(uint32_t event_ring = 4096);

class Harness {
 public:
  static StatusOr<std::unique_ptr<Harness>> Create(dpdk::DatapathOptions options);
  dpdk::Datapath& dp() { return *dp_; }

  // The frames as bursts of at most `burst` through lane 0, received on `port`; with `chain`,
  // every fourth frame of 2+ bytes is split into two segments.
  std::vector<DpdkRun> Run(const std::vector<std::vector<uint8_t>>& frames, uint16_t port = 0, uint32_t burst = 32,
                           bool chain = false);
  DpdkRun RunOne(const std::vector<uint8_t>& frame, uint16_t port = 0);
  // A frame as an mbuf of the pipeline's pool (two segments with `split` > 0).
  rte_mbuf* Mbuf(const std::vector<uint8_t>& frame, size_t split = 0);
  // Every event waiting in the rings.
  std::vector<nf_event> Events();

 private:
  std::unique_ptr<dpdk::Datapath> dp_;
};

}  // namespace netfence::dpdktest
