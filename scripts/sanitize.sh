#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The sanitized build (clang, ASan + UBSan, libFuzzer instrumentation, -O1) in build-san/:
#   1. the unit and differential suites that take outside input or do the table arithmetic,
#      under the sanitizers: any report fails them (SAN_TESTS below; the e2e, BPF and
#      Kubernetes-client suites run in the main build only: clang 14 has no C++20 coroutines
#      with libstdc++, which the Kubernetes client's HTTP code uses);
#   2. every fuzz harness (tests/fuzz/) from its seed corpus for FUZZ_SECONDS each (default
#      15; scripts/fuzz.sh runs them long). New inputs go to a scratch directory, crashes to
#      build-san/fuzz-crashes/ (a crash fails the run; its input is kept there to reproduce).
# scripts/test.sh runs it after the main suites; it installs nothing itself (setup.sh does).
#   SANITIZE_SUITES=0   build and run the fuzz harnesses only
#   FUZZ_SECONDS=0      build the fuzz harnesses, do not run them (scripts/fuzz.sh does)
#   SANITIZE_SET=ci     the suites CI runs (below)
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
SANITIZE_SUITES="${SANITIZE_SUITES:-1}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# CI (SANITIZE_SET=ci, scripts/test.sh) runs the suites that cost the fuzz harnesses' build few
# more objects; SANITIZE_SET=all (the default) adds the flow-log, CNI, agent and distribution ones.
SAN_TESTS=(base_test tables_validate_test http_server_test classifier_test compiler_test incremental_test
  differential_test conformance_test k8s_test source_test protocol_test xdp_map_entries_test)
if [ "${SANITIZE_SET:-all}" = all ]; then
  SAN_TESTS+=(distribution_test flowlog_test flowlog_pipeline_test cni_plugin_test agent_test agent_state_test)
fi
[ "$SANITIZE_SUITES" = 1 ] || SAN_TESTS=()
FUZZERS=(manifest_fuzz cni_fuzz agent_protocol_fuzz node_update_fuzz kube_fuzz flow_record_fuzz xdp_packet_fuzz
  dpdk_parser_fuzz)
cmake -S . -B build-san -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_C_FLAGS=-O1 \
  -DNETFENCE_FUZZ=ON -DNETFENCE_BUILD_BENCH=OFF -DNETFENCE_DPDK=OFF >/dev/null
echo "sanitize: building build-san/ (clang, ASan + UBSan): ${#SAN_TESTS[@]} suites, ${#FUZZERS[@]} fuzzers"
ninja -C build-san "${SAN_TESTS[@]/#/tests/}" "${FUZZERS[@]/#/fuzz/}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
((${#SAN_TESTS[@]})) && echo "sanitize: unit and differential suites under ASan + UBSan"
for t in "${SAN_TESTS[@]}"; do
  if ! out=$(build-san/tests/"$t" --gtest_brief=1 2>&1); then
    echo "$out" | tail -n 60
    echo "sanitize: $t FAILED under ASan + UBSan"
    exit 1
  fi
  echo "  $t: $(echo "$out" | grep -Eo '[0-9]+ tests? from [0-9]+ test suites? ran' | tail -n 1)"
done
[ "$FUZZ_SECONDS" != 0 ] || exit 0
echo "sanitize: fuzz harnesses, ${FUZZ_SECONDS} s each"
crashes=build-san/fuzz-crashes
mkdir -p "$crashes"
failed=0
for name in "${FUZZERS[@]}"; do
  f=build-san/fuzz/$name
  scratch=$(mktemp -d)
  if "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$crashes/$name-" \
      -print_final_stats=1 "$scratch" "tests/fuzz/corpus/$name" >"build-san/$name.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-san/$name.log" | grep -o '[0-9]*$' || echo '?')
    echo "  $name: ok, $runs inputs"
  else
    echo "  $name: FAILED (input kept in $crashes):"
    tail -n 30 "build-san/$name.log"
    failed=1
  fi
  rm -rf "$scratch"
done
exit "$failed"
