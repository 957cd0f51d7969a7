#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds, and runs every test (unit, differential, conformance,
# BPF, network namespaces, end to end), then the sanitized build: suites under ASan + UBSan and
# every fuzz harness for FUZZ_SECONDS (15) from its seed corpus (scripts/sanitize.sh).
# Exits non-zero on any failure, with the failing tests' output.
set -euo pipefail
cd "$(dirname "$0")/.."
NETFENCE_WERROR="${NETFENCE_WERROR:-1}" scripts/setup.sh
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 600)
SANITIZE_SET=ci scripts/sanitize.sh
