#!/usr/bin/env bash
# run-fuzzer.sh FUZZER SECONDS WORKDIR [SEED_CORPUS]
# Runs one libFuzzer target for a bounded time. New inputs go to WORKDIR so the
# committed seed corpus stays as it is; a crash leaves its input in WORKDIR.
set -euo pipefail
fuzzer=$1 seconds=$2 work=$3 seeds=${4:-}
mkdir -p "$work/corpus" "$work/artifacts"
dirs=("$work/corpus")
[ -n "$seeds" ] && [ -d "$seeds" ] && dirs+=("$seeds")
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -malloc_limit_mb=512 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "${dirs[@]}"
