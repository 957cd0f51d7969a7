#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Long fuzzing runs: every harness of tests/fuzz/ (or those named) for FUZZ_SECONDS each
# (default 600), built by scripts/sanitize.sh in build-san/ (clang, ASan + UBSan). New
# inputs are kept in build-san/fuzz-corpus/<harness>/ between runs (copy the interesting
# ones to tests/fuzz/corpus/<harness>/ to seed CI); a crash fails the run and its input is
# kept in build-san/fuzz-crashes/.
#   scripts/fuzz.sh                         every harness, 10 minutes each
#   FUZZ_SECONDS=3600 scripts/fuzz.sh cni_fuzz kube_fuzz
#   build-san/fuzz/cni_fuzz build-san/fuzz-crashes/cni_fuzz-crash-...   reproduce one
# xdp_packet_fuzz loads the XDP program: run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-600}"
ALL=(manifest_fuzz cni_fuzz agent_protocol_fuzz node_update_fuzz kube_fuzz flow_record_fuzz xdp_packet_fuzz)
HARNESSES=("$@")
((${#HARNESSES[@]})) || HARNESSES=("${ALL[@]}")
SANITIZE_SUITES=0 FUZZ_SECONDS=0 scripts/sanitize.sh >/dev/null
mkdir -p build-san/fuzz-crashes
failed=0
for name in "${HARNESSES[@]}"; do
  corpus=build-san/fuzz-corpus/$name
  mkdir -p "$corpus"
  echo "fuzz: $name for ${FUZZ_SECONDS} s (corpus $corpus)"
  if build-san/fuzz/"$name" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="build-san/fuzz-crashes/$name-" "$corpus" "tests/fuzz/corpus/$name" 2>"build-san/$name.log"; then
    echo "  $(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-san/$name.log" | grep -o '[0-9]*$') inputs, no crash"
  else
    echo "  CRASH (input in build-san/fuzz-crashes/):"
    tail -n 40 "build-san/$name.log"
    failed=1
  fi
done
exit "$failed"
