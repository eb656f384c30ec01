#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The metrics textfile (cni/metrics.h) on a simulated node: off unless configured; with
# AZURE_CNI_METRICS_DIR (or the config's "metricsDir") each call adds to <dir>/azure_cni.prom,
# which Prometheus's own Python client parses (the exposition format); calls by command and CNI
# error code, the duration histogram, lock waits, source reads and the pool gauges add up to
# what was done, also across 20 parallel ADDs (no lost update); no temp file is left.
# All inside network namespaces this script creates and removes (prefix "met").
# Usage: tests/linux/metrics.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build}
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
# shellcheck source=tests/lib/node.sh
. "$top/tests/lib/node.sh"
B=$bdir/bin
[ -x "$B/azure-vnet" ] || { echo "FAIL: build $B first"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }
# Debian's python3 with python3-prometheus-client (ci/deps.sh); not a pyenv one without it
PY=/usr/bin/python3
$PY -c 'import prometheus_client.parser' 2>/dev/null || { echo "FAIL: python3-prometheus-client is missing"; exit 1; }

netns_suite_begin met
CONF='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"transparent","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
M=$WORK/metrics
mkdir -p "$M"

# call CMD N [env...]: azure-vnet for pod N with $CONF; exit code in $rc
call() {
	local cmd=$1 n=$2
	shift 2
	env "$@" CNI_COMMAND="$cmd" CNI_CONTAINERID="$(printf 'beef%08d' "$n")" \
		CNI_NETNS="/var/run/netns/${P}p$n" CNI_IFNAME=eth0 \
		timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF" >/dev/null 2>&1
	rc=$?
}
# sample NAME LABELS-JSON: the value of that sample in $M/azure_cni.prom, parsed by
# prometheus_client ("" when absent; "PARSE ERROR" when the file does not parse)
sample() {
	$PY - "$M/azure_cni.prom" "$1" "$2" <<'EOF'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
path, name, labels = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
try:
    fams = list(text_string_to_metric_families(open(path).read()))
except Exception as e:
    print("PARSE ERROR", e); sys.exit(0)
for f in fams:
    for s in f.samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            print(int(s.value) if s.value == int(s.value) else s.value); sys.exit(0)
EOF
}
export -f sample
export PY M

node_setup metrics 10.243 40
for i in 1 2 3 4; do ip netns add "${P}p$i"; done
call ADD 1
check "metrics are off unless configured: no file" test ! -e "$M/azure_cni.prom"
export AZURE_CNI_METRICS_DIR=$M
call ADD 2
call ADD 3
call DEL 3
CONF_BAD=$CONF
CONF='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"bogus","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
call ADD 4
CONF=$CONF_BAD
check "the file parses as the Prometheus text format" bash -c "! sample azure_cni_calls_total '{}' | grep -q 'PARSE ERROR'"
check "ADD ok counted: 2" test "$(sample azure_cni_calls_total '{"program":"azure-vnet","command":"ADD","code":"0"}')" = 2
check "DEL ok counted: 1" test "$(sample azure_cni_calls_total '{"program":"azure-vnet","command":"DEL","code":"0"}')" = 1
check "the bad ADD counted under its code (7)" test "$(sample azure_cni_calls_total '{"program":"azure-vnet","command":"ADD","code":"7"}')" = 1
check "the ADD histogram counts 3 calls, +Inf bucket too" \
	bash -c "[ \"\$(sample azure_cni_call_duration_seconds_count '{\"command\":\"ADD\"}')\" = 3 ] && [ \"\$(sample azure_cni_call_duration_seconds_bucket '{\"command\":\"ADD\",\"le\":\"+Inf\"}')\" = 3 ]"
check "lock acquisitions counted (state, ipam, owner)" \
	bash -c "for l in state ipam owner; do v=\$(sample azure_cni_lock_acquisitions_total \"{\\\"lock\\\":\\\"\$l\\\"}\"); [ -n \"\$v\" ] && [ \"\$v\" -ge 1 ] || exit 1; done"
# within queryInterval (10 s) of the last read an ADD allocates from the state alone: one with
# queryInterval 0 reads the source
CONF_Q=$CONF
CONF=$(jq -c '.ipam.queryInterval = "0"' <<<"$CONF")
call ADD 4
CONF=$CONF_Q
check "source reads counted" test "$(sample azure_cni_ipam_source_reads_total '{"result":"ok"}')" = 1
# pods 1 (before metrics were on), 2 and 4 hold addresses; 40 in the pool
check "pool gauges: 40 total, 3 in use, 37 free" \
	test "$(sample azure_cni_ipam_addresses '{"family":"IPv4","state":"total"}') $(sample azure_cni_ipam_addresses '{"family":"IPv4","state":"in_use"}') $(sample azure_cni_ipam_addresses '{"family":"IPv4","state":"free"}')" = "40 3 37"

# 20 parallel ADDs: every one counted
for i in $(seq 10 29); do ip netns add "${P}p$i"; done
for i in $(seq 10 29); do call ADD "$i" & done
wait
check "20 parallel ADDs: 23 ADDs counted in all, none lost" \
	test "$(sample azure_cni_calls_total '{"program":"azure-vnet","command":"ADD","code":"0"}')" = 23
check "no temp file left in the metrics directory" bash -c "[ -z \"\$(ls '$M' | grep -v '^azure_cni\\.prom\\(\\.lock\\)\\?\$')\" ]"

# the config's metricsDir, when the environment does not set one
unset AZURE_CNI_METRICS_DIR
M2=$WORK/metrics2
mkdir -p "$M2"
CONF=$(jq -c --arg d "$M2" '.metricsDir = $d' <<<"$CONF")
call DEL 2
check "the config's metricsDir is used" grep -q 'azure_cni_calls_total{program="azure-vnet",command="DEL",code="0"} 1' "$M2/azure_cni.prom"
node_drop
suite_end
