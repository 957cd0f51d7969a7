#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages netfence needs (idempotent, quiet when all is there) and
# builds everything with CMake + Ninja into build/ (binaries in build/bin/).
#   NETFENCE_WERROR=1   treat warnings as errors (test.sh sets it); unset: as build/ was
#                       configured (so test.sh and demo.sh one after the other rebuild nothing)
#   NETFENCE_BUILD_TYPE build type (default RelWithDebInfo)
#   NETFENCE_BUILD_DIR  build directory (default build; scripts/bench.sh uses build-release)
#   NETFENCE_TARGETS    ninja targets to build (default: everything)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libgtest-dev libgmock-dev libbenchmark-dev
  iproute2 libboost-dev containernetworking-plugins
  libssl-dev openssl
  graphviz
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
werror=()
[ -z "${NETFENCE_WERROR:-}" ] || werror=(-DNETFENCE_WERROR="$NETFENCE_WERROR")
dir="${NETFENCE_BUILD_DIR:-build}"
cmake -S . -B "$dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${NETFENCE_BUILD_TYPE:-RelWithDebInfo}" "${werror[@]}" >/dev/null
read -r -a targets <<< "${NETFENCE_TARGETS:-}"
ninja -C "$dir" -j"$(nproc)" "${targets[@]}"
echo "setup: built into $dir/ (binaries in $dir/bin/)"
