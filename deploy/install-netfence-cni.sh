#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs netfence-cni on the node (the agent DaemonSet's init container) and appends it to
# the node's CNI conflist as the last plugin; with --remove, takes it out again (when netfence
# is taken off the node; never on an agent restart: the plugin fails closed while the agent is away).
#   HOST_CNI_BIN (/host/opt/cni/bin), HOST_CNI_CONF (/host/etc/cni/net.d), NETFENCE_SOCKET
set -eu
BIN="${HOST_CNI_BIN:-/host/opt/cni/bin}"
CONF_DIR="${HOST_CNI_CONF:-/host/etc/cni/net.d}"
SOCKET="${NETFENCE_SOCKET:-/run/netfence/agent.sock}"
conf=$(ls "$CONF_DIR"/*.conflist 2>/dev/null | sort | head -n 1 || true)
[ -n "$conf" ] || { echo "install-netfence-cni: no *.conflist in $CONF_DIR" >&2; exit 1; }
if [ "${1:-}" = "--remove" ]; then
  jq 'del(.plugins[] | select(.type == "netfence-cni"))' "$conf" > "$conf.tmp" && mv "$conf.tmp" "$conf"
  exit 0
fi
install -m 0755 /usr/local/bin/netfence-cni "$BIN/netfence-cni"
jq --arg s "$SOCKET" 'if any(.plugins[]; .type == "netfence-cni") then . else
    .plugins += [{"type": "netfence-cni", "socket": $s, "timeoutSeconds": 30}] end' "$conf" > "$conf.tmp"
mv "$conf.tmp" "$conf"
echo "install-netfence-cni: netfence-cni appended to $conf"
