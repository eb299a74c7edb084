#!/usr/bin/env bash
# The messenger benchmark (issue 5 point 7): 1,000 connected clients against
# one ferry-server on this machine, using the real protocol (Noise IK,
# protobuf, SQLite WAL with group commit, synchronous=FULL).
#
#   bench/chat/run.sh                      # RUNS=5 of each measurement
#   RUNS=3 CLIENTS=1000 RATE=20000 bench/chat/run.sh
#   BUILD=build-chat NO_BUILD=1 bench/chat/run.sh
#
# Per run, each with a fresh server and data directory:
#   throughput  every client keeps WINDOW sends in flight to the next client:
#               messages/s stored and delivered end to end (closed loop);
#   latency     RATE messages/s in total (open loop): p50/p99 from the send
#               call to the recipient having it, for online recipients;
#   memory      server RSS with CLIENTS idle connected (and receiving) clients
#               minus RSS before they connected, per client (measured in both).
# Prints every run's line, then the medians as a Markdown table.
#
# The load generator shares the 2 cores with the server, as in the issue. The
# machine may be shared: with MAX_LOAD set (default 1.5), each run first waits
# (at most WAIT_LOAD seconds) for the 1-minute load average to drop below it.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
CLIENTS=${CLIENTS:-1000}
RATE=${RATE:-20000}
WINDOW=${WINDOW:-4}
SIZE=${SIZE:-256}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
MAX_LOAD=${MAX_LOAD:-1.5}
WAIT_LOAD=${WAIT_LOAD:-300}
PORT=${PORT:-17900}

if [ "${NO_BUILD:-0}" != 1 ]; then
  [ -f "$BUILD/build.ninja" ] || cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" --target ferry-server ferry-chat-load -j2 >/dev/null
fi
SERVER=$BUILD/bin/ferry-server
LOAD=$BUILD/bin/ferry-chat-load
for b in "$SERVER" "$LOAD"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 1; }; done
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/ferry-chat-bench-XXXXXX)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_quiet() {
  local end=$((SECONDS + WAIT_LOAD))
  while awk -v max="$MAX_LOAD" '{exit !($1 >= max)}' /proc/loadavg; do
    if [ $SECONDS -ge $end ]; then
      echo "# note: load average still $(cut -d' ' -f1 /proc/loadavg) after ${WAIT_LOAD}s; running anyway" >&2
      return
    fi
    sleep 5
  done
}

start_server() {
  rm -rf "$WORK/srv"
  "$SERVER" --listen "127.0.0.1:$PORT" --data "$WORK/srv" --per-ip-connections 0 \
    --per-ip-new-per-second 0 --registrations-per-hour 0 >"$WORK/link" 2>"$WORK/server.log" &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    grep -q chat_server_ready "$WORK/server.log" 2>/dev/null &&
      grep -q "^ferry://server?" "$WORK/srv/server.link" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "server did not start: $(cat "$WORK/server.log")" >&2
  exit 1
}

stop_server() {
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# measure MODE EXTRA_ARGS...: one load generator run on a fresh server.
measure() {
  local mode=$1
  shift
  wait_quiet
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  start_server
  local line
  line=$("$LOAD" --link "$(head -1 "$WORK/srv/server.link")" --clients "$CLIENTS" --server-pid "$SERVER_PID" \
    --mode "$mode" --size "$SIZE" --duration "$DURATION" --warmup "$WARMUP" "$@") || {
    echo "load generator failed; server log:" >&2
    tail -5 "$WORK/server.log" >&2
    exit 1
  }
  stop_server
  echo "$line load_before=$load" | tee -a "$WORK/results"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "# RUNS=$RUNS CLIENTS=$CLIENTS RATE=$RATE WINDOW=$WINDOW SIZE=$SIZE DURATION=$DURATION WARMUP=$WARMUP"
for run in $(seq 1 "$RUNS"); do
  measure throughput --window "$WINDOW" --prefix "t$run"
  measure rate --rate "$RATE" --prefix "r$run"
done

# median FILTER KEY: the median of KEY over the result lines matching FILTER.
median() {
  grep -- "$1" "$WORK/results" | grep -o " $2=[-0-9.]*" | cut -d= -f2 | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

echo
echo "| measure | median of $RUNS | target |"
echo "|---|---|---|"
echo "| messages/s, closed loop (stored and delivered) | $(median mode=throughput delivered_per_s) | >= 20000 |"
echo "| delivered/s at $RATE/s offered | $(median mode=rate delivered_per_s) | $RATE |"
echo "| p50 delivery latency at $RATE/s, ms | $(median mode=rate p50_ms) | |"
echo "| p99 delivery latency at $RATE/s, ms | $(median mode=rate p99_ms) | <= 50 |"
echo "| p99 under the closed loop (saturated), ms | $(median mode=throughput p99_ms) | |"
echo "| server memory per idle connected client, bytes | $(median mode= idle_bytes_per_client) | <= 16384 |"
echo "| server CPU per message (both threads), µs, closed loop | $(median mode=throughput server_cpu_us_per_msg) | |"
echo "| load generator CPU per message, µs, closed loop | $(median mode=throughput load_cpu_us_per_msg) | |"
