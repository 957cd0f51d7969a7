#!/usr/bin/env bash
# Benchmarks (not part of CI: timings do not belong in tests). Each prints its figures and,
# at the end, ratios to the peers measured in the same run.
#   compile_bench   full compile of generated clusters (15k / 150k pods)
#   classify_bench  classifier lookups vs a linear scan over the same rules (1k/10k/100k)
set -euo pipefail
cd "$(dirname "$0")/.."
NETFENCE_BUILD_TYPE=Release scripts/setup.sh >/dev/null
for b in compile_bench classify_bench; do
  echo "== $b"
  build/bench/$b --benchmark_repetitions="${REPETITIONS:-3}" --benchmark_report_aggregates_only=true "$@"
done
