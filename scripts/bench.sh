#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmarks (not part of CI: timings do not belong in tests). Each prints its figures and,
# at the end, ratios to the peers measured in the same run. Everything is built in Release
# (-O3) into build-release/, whatever state build/ is in (test.sh, demo.sh), with warnings
# reported but not fatal there (CI compiles the loader at -O3 with -Werror).
#
#   scripts/bench.sh [ARGS]                 every benchmark below; ARGS go to the Google
#                                           Benchmark binaries
#   scripts/bench.sh peers [--quick] [...]  only peers_bench (arguments: peers_bench --help);
#                                           writes build/bench-results/peers.json
#
#   compile_bench   full compile of generated clusters (15k / 150k pods), and the incremental
#                   compiler's one change (policy, replica, new identity, namespace) vs it
#   classify_bench  classifier lookups vs a linear scan over the same rules (1k/10k/100k)
#   tiers_bench     ClusterNetworkPolicy tiers: lookups in 1,000 CNPs x 25 rules + 10k NetworkPolicy
#                   rules vs the same 35k rules without tiers; compile and incremental changes
#   diff_bench      netfencectl diff: one policy change on 1.5k / 15k / 150k pods, Flips() over
#                   classes of pods vs every pod pair (FlipsBruteForce; at 15k pods on one port,
#                   one iteration of minutes). DIFF_BENCH_ARGS (e.g. --benchmark_filter=Fast)
#   drop_aggregator_bench  the flow log's drop aggregation per 5-tuple (retries, a flood of
#                   source ports, a port scan) vs a bare per-key count of the same drops
#   tiers_xdp_bench (root) the same tiered table in the XDP program: new-flow ns/packet vs the
#                   same 35k rules untiered and xdp_drop (BPF_PROG_TEST_RUN); TIERS_XDP_BENCH_ARGS
#   xdp_bench       the XDP program vs trivial XDP programs: BPF_PROG_TEST_RUN per packet
#                   (conntrack hit, new flows at 100..100k rules) and live frames over veth
#                   between network namespaces. Needs root; XDP_BENCH_ARGS=--quick for a
#                   smoke run.
#   peers_bench     (root) netfence against xdp_drop/xdp_pass, nftables (linear chain, sets and
#                   verdict maps), iptables-legacy (plain, + ipset) and a Cilium-design XDP
#                   peer: same veth rig, same live-frames generator, same policy, 100..100k
#                   rules. PEERS_BENCH_ARGS (e.g. --quick). Installs nftables, iptables, ipset.
#   flowlog_bench   (root) the flow log on vs off over live frames (established flow, the
#                   pipeline scanning 100k connections), and the rate of new flows logged with
#                   zero loss (FLOWLOG_BENCH_ARGS=--quick for a smoke run)
#   distribution_bench  policy change -> every agent acked, 1/100/1000 simulated agents over
#                   gRPC on loopback, vs full snapshots to all (the peer); bytes on the wire;
#                   one agent with the real XDP program (root). DISTRIBUTION_BENCH_ARGS.
#   dpdk_bench      (root) the DPDK pipeline on one core: conntrack hits, every packet
#                   classified, new connections created at 1k/10k rules vs the same lane passing non-IP frames (no
#                   policy); DPDK_BENCH_ARGS.
#   dpdk_pmd_bench  (root) the real worker on its own lcore between net_ring ports wired in a
#                   loop: Mpps for conntrack hits and classified packets at 10k rules over 512 /
#                   4k / 32k flows, vs the same worker switching non-IP frames and io forwarding;
#                   hugepages when /dev/hugepages is mounted with 600 free; DPDK_PMD_BENCH_ARGS.
#   dpdk_veth_bench (root) real veth frames into netfence-dpdk (af_packet, af_xdp) vs the XDP
#                   program and xdp_drop on the same interface, same generator (live frames, or a
#                   packet socket where the kernel refuses them); DPDK_VETH_BENCH_ARGS (--quick).
#   acl_bench       (root) DPDK's rte_acl_classify vs netfence's burst classifier on the same
#                   rules and keys at 1k/10k/100k rules: ns/packet, build time, memory (both
#                   must decide every key alike first); ACL_BENCH_ARGS.
#   agent latency   (root) CNI ADD -> the pod's tables live over 100 pods, and a manifest
#                   change -> the first new connection with the new verdict (p50/p99), from
#                   the e2e tests that also assert them (tests/e2e/).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build-release
mkdir -p build/bench-results

# The netfilter peers' tools (idempotent, quiet when all is there).
peer_tools() {
  local missing=()
  for p in nftables iptables ipset; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "bench: installing ${missing[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build() {
  NETFENCE_BUILD_DIR=$B NETFENCE_BUILD_TYPE=Release NETFENCE_WERROR=0 NETFENCE_TARGETS="$*" \
    scripts/setup.sh >/dev/null
}

peers() {
  if [ "$(id -u)" != 0 ]; then
    echo "skipped: needs root (loads BPF programs, creates network namespaces)"
    return 0
  fi
  peer_tools
  "$B"/bench/peers_bench --json=build/bench-results/peers.json "$@"
}

if [ "${1:-}" = peers ]; then
  shift
  echo "bench: building peers_bench (Release) in $B/"
  build peers_bench
  peers "$@"
  exit 0
fi

echo "bench: building everything (Release) in $B/"
build
for b in compile_bench classify_bench tiers_bench drop_aggregator_bench; do
  echo "== $b"
  "$B"/bench/$b --benchmark_repetitions="${REPETITIONS:-3}" --benchmark_report_aggregates_only=true "$@"
done
echo "== diff_bench"
# shellcheck disable=SC2086
"$B"/bench/diff_bench ${DIFF_BENCH_ARGS:-}
echo "== distribution_bench"
"$B"/bench/distribution_bench ${DISTRIBUTION_BENCH_ARGS:-}
echo "== xdp_bench"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (loads BPF programs, creates network namespaces)"
else
  # Prints "skipped: ..." and succeeds where BPF is unavailable.
  "$B"/bench/xdp_bench ${XDP_BENCH_ARGS:-}
fi
echo "== tiers_xdp_bench"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (loads BPF programs)"
else
  # shellcheck disable=SC2086
  "$B"/bench/tiers_xdp_bench ${TIERS_XDP_BENCH_ARGS:-}
fi
echo "== peers_bench"
# shellcheck disable=SC2086
peers ${PEERS_BENCH_ARGS:-}
echo "== flowlog_bench"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (loads BPF programs, creates network namespaces)"
else
  "$B"/bench/flowlog_bench ${FLOWLOG_BENCH_ARGS:-}
fi
echo "== dpdk_bench"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (the DPDK EAL)"
elif [ -x "$B"/bench/dpdk_bench ]; then
  "$B"/bench/dpdk_bench --benchmark_repetitions="${REPETITIONS:-3}" --benchmark_report_aggregates_only=true \
    ${DPDK_BENCH_ARGS:-}
else
  echo "skipped: built without DPDK (-DNETFENCE_DPDK=OFF)"
fi
echo "== dpdk_pmd_bench"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (the DPDK EAL)"
elif [ -x "$B"/bench/dpdk_pmd_bench ]; then
  # With hugepages when the machine has them mounted (or NETFENCE_BENCH_HUGE_DIR says where).
  if [ -z "${NETFENCE_BENCH_HUGE_DIR:-}" ] && mountpoint -q /dev/hugepages 2>/dev/null &&
    [ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -ge 600 ]; then
    export NETFENCE_BENCH_HUGE_DIR=/dev/hugepages
  fi
  # shellcheck disable=SC2086
  "$B"/bench/dpdk_pmd_bench ${DPDK_PMD_BENCH_ARGS:-}
else
  echo "skipped: built without DPDK (-DNETFENCE_DPDK=OFF)"
fi
echo "== dpdk_veth_bench"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (the DPDK EAL, network namespaces, XDP)"
elif [ -x "$B"/bench/dpdk_veth_bench ]; then
  # shellcheck disable=SC2086
  "$B"/bench/dpdk_veth_bench ${DPDK_VETH_BENCH_ARGS:-}
else
  echo "skipped: built without DPDK (-DNETFENCE_DPDK=OFF)"
fi
echo "== acl_bench"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (the DPDK EAL)"
elif [ -x "$B"/bench/acl_bench ]; then
  # shellcheck disable=SC2086
  "$B"/bench/acl_bench --benchmark_repetitions="${REPETITIONS:-3}" --benchmark_report_aggregates_only=true \
    ${ACL_BENCH_ARGS:-}
else
  echo "skipped: built without DPDK (-DNETFENCE_DPDK=OFF)"
fi
echo "== agent latency (CNI ADD -> tables live; manifest change -> new verdict)"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (network namespaces, CNI plugins, XDP)"
else
  "$B"/tests/e2e_cni_test --gtest_filter='*Over100Pods*' | grep -E "CNI ADD|whole chain|OK|FAILED"
  "$B"/tests/e2e_lifecycle_test --gtest_filter='*WithOpenConnections*' | grep -E "manifest change|OK|FAILED"
fi
