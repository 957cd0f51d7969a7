#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the DPDK 22.11 runtime netfence-dpdk needs (Debian 12) and the matching headers,
# without libdpdk-dev's ~220 dependencies (mlx drivers -> rdma-core -> udev -> systemd).
#
#   scripts/install-dpdk.sh [HEADER_DIR]     (default: $NETFENCE_DPDK_HEADERS or /opt/netfence/dpdk)
#
# The runtime libraries come one by one (~30 small packages); the headers are unpacked from
# the libdpdk-dev .deb of exactly the installed runtime version (apt-get download + dpkg-deb):
# HEADER_DIR/usr/include/dpdk and HEADER_DIR/usr/include/x86_64-linux-gnu/dpdk. Only
# usr/include is extracted: the .deb's librte_*.a and dangling librte_*.so symlinks must never
# be linked (cmake/dpdk.cmake links the system's librte_*.so.23, so the PMD plugins load).
# Idempotent: one dpkg-query when everything is there; `apt-get update` only when something is
# missing.
set -euo pipefail

HDR_DIR=$(realpath -m "${1:-${NETFENCE_DPDK_HEADERS:-/opt/netfence/dpdk}}")
PKGS=(
  librte-eal23 librte-kvargs23 librte-telemetry23 librte-ring23 librte-mempool23
  librte-mempool-ring23 librte-mbuf23 librte-net23 librte-meter23 librte-ethdev23
  librte-hash23 librte-rcu23 librte-lpm23 librte-acl23 librte-bus-vdev23 librte-pci23
  librte-bus-pci23 librte-gso23 librte-net-af-packet23 librte-net-af-xdp23
  librte-net-ring23 librte-net-null23 libbsd-dev
)
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

missing=()
declare -A installed=()
while read -r name st; do
  [[ "$st" == "installed" ]] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PKGS[@]}" 2>/dev/null || true)
for p in "${PKGS[@]}"; do
  [[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done

STAMP="$HDR_DIR/.netfence-dpdk-headers"
need_headers=1
if [[ ${#missing[@]} -eq 0 && -f "$STAMP" && -f "$HDR_DIR/usr/include/dpdk/rte_eal.h" ]]; then
  # The headers must be those of the installed runtime, exactly.
  [[ "$(cat "$STAMP")" == "$(dpkg-query -W -f='${Version}' librte-eal23)" ]] && need_headers=0
fi
if [[ ${#missing[@]} -eq 0 && $need_headers -eq 0 ]]; then
  exit 0
fi

$SUDO apt-get update -qq
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing DPDK runtime (${#missing[@]} packages)"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ $need_headers -eq 1 ]]; then
  ver=$(dpkg-query -W -f='${Version}' librte-eal23)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # apt-get download drops to user _apt and writes into the current directory.
  chmod 755 "$tmp"
  if [[ -z "$SUDO" ]] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
  (cd "$tmp" && apt-get download -qq "libdpdk-dev=$ver")
  deb=("$tmp"/libdpdk-dev_*.deb)
  $SUDO rm -rf "$HDR_DIR/usr/include"
  $SUDO mkdir -p "$HDR_DIR"
  dpkg-deb --fsys-tarfile "${deb[0]}" | $SUDO tar -x -C "$HDR_DIR" ./usr/include
  echo "$ver" | $SUDO tee "$STAMP" >/dev/null
  echo "setup: DPDK headers $ver in $HDR_DIR/usr/include"
fi
