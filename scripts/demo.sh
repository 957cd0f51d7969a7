#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The netfence demo: an example cluster (a shop, its monitoring, a developer sandbox)
# compiled to rule tables, its reachability before and after zero-trust policies are
# applied, and why one connection is allowed and another denied; then the same cluster live:
# pods as network namespaces on two nodes plugged by the CNI chain, netfence-agent enforcing,
# the policies applied while connections run, and the live flow log of the database's node
# (netfencectl flows --agent ... --follow) saying which connection was admitted, which one cut
# and by which policies; it ends by drawing who talked to whom (netfencectl flows --graph) into
# build/demo/flows.svg. Finishes by itself and removes what it made (but the picture).
#
#   scripts/demo.sh                     the live part on XDP (the kernel fast path)
#   scripts/demo.sh --dataplane dpdk    the live part on DPDK: a netfence-dpdk per node takes
#                                       the pods' veths and switches them (docs/dpdk.md)
set -euo pipefail
cd "$(dirname "$0")/.."
DATAPLANE=xdp
while (($#)); do
  case "$1" in
    --dataplane) DATAPLANE="${2:-}"; shift 2 ;;
    --dataplane=*) DATAPLANE="${1#*=}"; shift ;;
    -h|--help) sed -n '3,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument '$1' (--dataplane xdp|dpdk, --help)" >&2; exit 2 ;;
  esac
done
case "$DATAPLANE" in
  xdp|dpdk) ;;
  *) echo "demo: --dataplane '$DATAPLANE': xdp or dpdk" >&2; exit 2 ;;
esac
CTL=build/bin/netfencectl
work=$(mktemp -d /tmp/netfence-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "demo: building with scripts/setup.sh (minutes the first time; log in $work/setup.log)" >&2
if ! scripts/setup.sh >"$work/setup.log" 2>&1; then
  cat "$work/setup.log" >&2
  exit 1
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cp examples/cluster/*.yaml "$work/"
say "The cluster (examples/cluster): 3 namespaces, 5 pods, no NetworkPolicy yet"
grep -h "name:" examples/cluster/pods.yaml | sed -n 's/.*name: \([a-z-]*\), namespace: \([a-z]*\).*/  \2\/\1/p'

say "Before: every pod reaches every pod (TCP/8080)"
$CTL matrix --manifests "$work" --protocol TCP --port 8080 -o table

say "Applying examples/policies/shop.yaml: default deny in shop, then frontend -> api -> db, and scraping"
cp examples/policies/*.yaml "$work/"
$CTL compile --manifests "$work"

for port in 80 8080 5432 9090; do
  say "After: TCP/$port"
  $CTL matrix --manifests "$work" --protocol TCP --port "$port" -o table
done

say "Why may the frontend call the api on 8080?"
$CTL explain --manifests "$work" --from shop/frontend --to shop/api --protocol TCP --port 8080

say "Why may the dev sandbox not reach the database?"
$CTL explain --manifests "$work" --from dev/debug --to shop/db --protocol TCP --port 5432

say "A broken policy is rejected with the object and the field, and nothing is evaluated"
cat > "$work/broken.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]
    ports: [{port: 8080, endPort: 80}]
YAML
if $CTL matrix --manifests "$work" --port 80; then echo "unexpected: accepted" >&2; exit 1; fi
echo "(exit status non-zero, as expected)"

say "Now with real packets: the same cluster on two node namespaces, enforced by netfence-agent (${DATAPLANE^^}), with its live flow log"
if [ "$(id -u)" = 0 ]; then
  mkdir -p build/demo
  build/bin/netfence-live-demo --cluster examples/cluster --policies examples/policies --bin-dir build/bin \
    --dataplane "$DATAPLANE" --graph build/demo/flows.svg
  echo "  the picture: $(pwd)/build/demo/flows.svg"
else
  echo "(skipped: the live part needs root for network namespaces and XDP)"
fi
say "Done"
