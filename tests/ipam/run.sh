#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Process tests of build/bin/azure-vnet-ipam (see run.py). Needs python3 and util-linux flock.
# AZCNI_IPAM_BIN overrides the binary. Extra arguments go to run.py (e.g. -k b10).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
exec python3 "$top/tests/ipam/run.py" --bin "${AZCNI_IPAM_BIN:-$top/build/bin/azure-vnet-ipam}" \
	--data "$top/tests/data" "$@"
