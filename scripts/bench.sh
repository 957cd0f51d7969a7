#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmarks (not part of CI: timings do not belong in tests). Each prints its figures and,
# at the end, ratios to the peers measured in the same run.
#   compile_bench   full compile of generated clusters (15k / 150k pods), and the incremental
#                   compiler's one change (policy, replica, new identity, namespace) vs it
#   classify_bench  classifier lookups vs a linear scan over the same rules (1k/10k/100k)
#   tiers_bench     ClusterNetworkPolicy tiers: lookups in 1,000 CNPs x 25 rules + 10k NetworkPolicy
#                   rules vs the same 35k rules without tiers; compile and incremental changes
#   xdp_bench       the XDP program vs trivial XDP programs: BPF_PROG_TEST_RUN per packet
#                   (conntrack hit, new flows at 100..100k rules) and live frames over veth
#                   between network namespaces. Needs root; XDP_BENCH_ARGS=--quick for a
#                   smoke run. Arguments of this script go to the Google Benchmark binaries.
#   flowlog_bench   (root) the flow log on vs off over live frames (established flow, the
#                   pipeline scanning 100k connections), and the rate of new flows logged with
#                   zero loss (FLOWLOG_BENCH_ARGS=--quick for a smoke run)
#   distribution_bench  policy change -> every agent acked, 1/100/1000 simulated agents over
#                   gRPC on loopback, vs full snapshots to all (the peer); bytes on the wire;
#                   one agent with the real XDP program (root). DISTRIBUTION_BENCH_ARGS.
#   agent latency   (root) CNI ADD -> the pod's tables live over 100 pods, and a manifest
#                   change -> the first new connection with the new verdict (p50/p99), from
#                   the e2e tests that also assert them (tests/e2e/).
set -euo pipefail
cd "$(dirname "$0")/.."
NETFENCE_BUILD_TYPE=Release scripts/setup.sh >/dev/null
for b in compile_bench classify_bench tiers_bench; do
  echo "== $b"
  build/bench/$b --benchmark_repetitions="${REPETITIONS:-3}" --benchmark_report_aggregates_only=true "$@"
done
echo "== distribution_bench"
build/bench/distribution_bench ${DISTRIBUTION_BENCH_ARGS:-}
echo "== xdp_bench"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (loads BPF programs, creates network namespaces)"
else
  # Prints "skipped: ..." and succeeds where BPF is unavailable.
  build/bench/xdp_bench ${XDP_BENCH_ARGS:-}
fi
echo "== flowlog_bench"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (loads BPF programs, creates network namespaces)"
else
  build/bench/flowlog_bench ${FLOWLOG_BENCH_ARGS:-}
fi
echo "== agent latency (CNI ADD -> tables live; manifest change -> new verdict)"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (network namespaces, CNI plugins, XDP)"
else
  build/tests/e2e_cni_test --gtest_filter='*Over100Pods*' | grep -E "CNI ADD|whole chain|OK|FAILED"
  build/tests/e2e_lifecycle_test --gtest_filter='*WithOpenConnections*' | grep -E "manifest change|OK|FAILED"
fi
