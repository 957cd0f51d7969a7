// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness (root: BPF): arbitrary frames through the DPDK pipeline's parser
// (dataplane/dpdk/xdp_parser.h: the XDP program's parsing.h compiled for user space, here
// under ASan + UBSan) and through the XDP program itself (BPF_PROG_TEST_RUN, no tables). The
// two must agree on every frame: the same drop reason for a malformed one, not-IP for the same
// frames, and for an IP packet or a fragment the same flow key.
#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/dpdk/xdp_parser.h"
#include "tests/dataplane/xdp/xdp_harness.h"

namespace {

struct Fixture {
  std::unique_ptr<netfence::xdp::XdpProgram> program;
  std::unique_ptr<netfence::xdptest::Harness> harness;
};

Fixture* Setup() {
  auto* f = new Fixture;
  auto p = netfence::xdp::XdpProgram::Load(netfence::xdptest::StatelessOptions());
  if (!p.ok()) {
    std::fprintf(stderr, "dpdk_parser_fuzz: %s\n", p.status().message().c_str());
    std::abort();
  }
  f->program = std::move(p).value();
  f->harness = std::make_unique<netfence::xdptest::Harness>(*f->program);
  return f;
}

void Disagree(const char* what, int dpdk, uint32_t action, uint32_t reason) {
  std::fprintf(stderr, "dpdk_parser_fuzz: %s: DPDK parser %d, XDP action %u reason %u\n", what, dpdk, action, reason);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = Setup();
  nf_dp_flow flow;
  std::memset(&flow, 0, sizeof(flow));
  const int parsed = nf_dp_parse(data, static_cast<uint32_t>(size), &flow);
  if (size < 14 || size > 4096) return 0;  // test-run refuses frames shorter than Ethernet
  const auto r = f->harness->Run(std::vector<uint8_t>(data, data + size));
  if (!r.ok) return 0;
  const nf_decision& d = r.decision;
  if (parsed == NF_DP_PARSE_NOT_IP) {
    // Not from a pod's port: passed unparsed.
    if (r.action != XDP_PASS || d.path != NF_CNT_PASS_NOT_IP) Disagree("not IP", parsed, r.action, d.drop_reason);
    return 0;
  }
  if (parsed != NF_DP_PARSE_IP && parsed != NF_DP_PARSE_FRAGMENT) {
    if (parsed < 0 || parsed >= NF_DROP_REASONS) Disagree("no such drop reason", parsed, r.action, d.drop_reason);
    if (r.action != XDP_DROP || d.drop_reason != static_cast<uint32_t>(parsed)) {
      Disagree("malformed", parsed, r.action, d.drop_reason);
    }
    return 0;
  }
  // Parsed: without tables the program drops it (no-tables) after reading the same key, but
  // for the link's housekeeping (neighbour discovery), which passes.
  const bool ndp = parsed == NF_DP_PARSE_IP && flow.icmp_kind == NF_DP_ICMP_NDP;
  const bool as_expected = ndp ? r.action == XDP_PASS && d.path == NF_CNT_PASS_NDP
                               : r.action == XDP_DROP && d.drop_reason == NF_DROP_NO_TABLES;
  if (!as_expected || d.parsed != 1) Disagree("parsed", parsed, r.action, d.drop_reason);
  if (std::memcmp(d.src, flow.src, 16) != 0 || std::memcmp(d.dst, flow.dst, 16) != 0 || d.proto != flow.proto) {
    Disagree("addresses or protocol", parsed, r.action, d.drop_reason);
  }
  if (parsed == NF_DP_PARSE_IP && d.dport != flow.dport) Disagree("destination port", parsed, r.action, d.drop_reason);
  return 0;
}
