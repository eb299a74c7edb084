#!/usr/bin/env bash
# The relay benchmark of issue 3: the same workloads through no relay, a
# minimal epoll relay (the floor: ferry-bare-relay), HAProxy with WhatsApp's
# settings, HAProxy with 16 KiB buffers + splice, and ferry-proxy (on epoll
# alone, and as shipped: plain connections through io_uring), all in
# front of the same upstream; one table of medians with ferry's ratio to each.
# See bench/README.md for what each row means.
#
#   bench/relay.sh                          # every workload, every relay
#   bench/relay.sh pingpong bulk            # some workloads
#   RELAYS="haproxy-whatsapp ferry" RUNS=5 bench/relay.sh
#
# Workloads: pingpong (= pingpong100 pingpong1000), bulk, memory,
# tls (= tls-ecdsa tls-default), connect.
# Environment: BUILD (build dir, default build), RUNS (3), DURATION (5 s
# measured per run), WARMUP (1 s), RELAYS, HOLD_CONNECTIONS (8000),
# BASE_PORT (24100: uses BASE_PORT..BASE_PORT+5), NO_BUILD=1, JOBS (2),
# KEEP_TMP=1 (keep configs, logs and raw results), RESULTS_TSV (copy the raw
# per-run values there), FROM_TSV (only print the table from such a file),
# SHOW_RANGE=1 (min–max beside each median), MAX_LOAD (wait for a load
# average below it first), FERRY_PROXY, HAPROXY.
#
# The relay's CPU per operation comes from /proc/PID/stat (utime + stime of
# all its threads) over the measured window, divided by the operations done:
# the load generator and the upstream share the same cores, so this is
# steadier than throughput. Every process started here is stopped on exit,
# and every run is bounded by timeout(1).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
[[ $BUILD = /* ]] || BUILD=$REPO/$BUILD
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
RELAYS=${RELAYS:-"none bare haproxy-whatsapp haproxy-splice ferry-epoll ferry"}
HOLD_CONNECTIONS=${HOLD_CONNECTIONS:-8000}
BASE_PORT=${BASE_PORT:-24100}
JOBS=${JOBS:-2}
CONNECT_CONCURRENCY=${CONNECT_CONCURRENCY:-32}
TLS_CONCURRENCY=${TLS_CONCURRENCY:-16}
FD_LIMIT=20000
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
FERRY_PROXY_GIVEN=${FERRY_PROXY:+1}
FERRY_PROXY=${FERRY_PROXY:-$BUILD/bin/ferry-proxy}
LOADGEN=$BUILD/bin/ferry-loadgen
BARE_RELAY=$BUILD/bin/ferry-bare-relay
ECHO=$BUILD/bin/ferry-echo
# HAProxy's maxconn: it reserves 2 descriptors per connection (+ 2 per pipe
# with splice) and refuses to start when that exceeds the limit, so WhatsApp's
# 27500 cannot run here; 9000 fits and is above the 8000 held connections.
HAPROXY_MAXCONN=${HAPROXY_MAXCONN:-9000}
# No server process may outlive the script by more than this.
PROCESS_MAX_SECONDS=${PROCESS_MAX_SECONDS:-3600}

ECHO_PORT=$BASE_PORT
IPERF_PORT=$((BASE_PORT + 1))
PLAIN_PORT=$((BASE_PORT + 2))
TLS_PORT=$((BASE_PORT + 3))
BULK_PORT=$((BASE_PORT + 4))
STATS_PORT=$((BASE_PORT + 5))

log() { printf '%s relay.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# ---------------------------------------------------------------- workloads
expand_workloads() {
  local w
  for w in "$@"; do
    case $w in
      pingpong) echo pingpong100 pingpong1000 ;;
      tls) echo tls-ecdsa tls-default ;;
      pingpong100 | pingpong1000 | bulk | memory | tls-ecdsa | tls-default | connect) echo "$w" ;;
      all) echo pingpong100 pingpong1000 bulk memory tls-ecdsa tls-default connect ;;
      *) die "unknown workload '$w' (pingpong pingpong100 pingpong1000 bulk memory tls tls-ecdsa tls-default connect)" ;;
    esac
  done
}
if (($# == 0)); then set -- all; fi
WORKLOADS=$(expand_workloads "$@" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ')
for r in $RELAYS; do
  case $r in none | bare | haproxy-whatsapp | haproxy-splice | ferry-epoll | ferry) ;; *) die "unknown relay '$r'" ;; esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"

# ---------------------------------------------------------------- processes
TMP=$(mktemp -d /tmp/ferry-relay-bench.XXXXXX)
chmod 700 "$TMP"
declare -a STARTED=() # timeout(1) wrappers of every background process

cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${STARTED[@]}"; do
    # timeout -k 5 turns a TERM it received into a KILL 5 s later.
    for _ in $(seq 1 70); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  if [[ ${KEEP_TMP:-0} = 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

# start_bg NAME CMD... : runs CMD under timeout(1) with the fd limit, output to
# $TMP/NAME.log; sets BG_WRAPPER (what to stop) and BG_PID (the process itself,
# whose /proc entries are read).
start_bg() {
  local name=$1
  shift
  (ulimit -n "$FD_LIMIT" 2>/dev/null; exec timeout -k 5 "$PROCESS_MAX_SECONDS" "$@") \
    >"$TMP/$name.log" 2>&1 &
  BG_WRAPPER=$!
  STARTED+=("$BG_WRAPPER")
  BG_PID=
  for _ in $(seq 1 100); do
    BG_PID=$(pgrep -P "$BG_WRAPPER" | head -1)
    [[ -n $BG_PID ]] && return 0
    kill -0 "$BG_WRAPPER" 2>/dev/null || break
    sleep 0.05
  done
  log "$name did not start: $(tail -3 "$TMP/$name.log" | tr '\n' ' ')"
  return 1
}

stop_bg() {
  local wrapper=$1
  [[ -n $wrapper ]] || return 0
  kill -TERM "$wrapper" 2>/dev/null
  for _ in $(seq 1 80); do kill -0 "$wrapper" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$wrapper" 2>/dev/null
  wait "$wrapper" 2>/dev/null
  local kept=()
  local pid
  for pid in "${STARTED[@]}"; do [[ $pid = "$wrapper" ]] || kept+=("$pid"); done
  STARTED=("${kept[@]}")
}

port_listening() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

wait_port() { # PORT SECONDS
  local deadline=$((SECONDS + $2))
  while ((SECONDS <= deadline)); do
    port_listening "$1" && return 0
    sleep 0.05
  done
  return 1
}

cpu_us() { # utime + stime of every thread of PID, microseconds
  local ticks
  ticks=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}') || return 1
  [[ -n $ticks ]] || return 1
  echo $((ticks * 1000000 / CLK_TCK))
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
CLK_TCK=$(getconf CLK_TCK)

kv() { # KEY LINE: the value of KEY in a loadgen result line
  tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print substr($0, length(k) + 2); exit}'
}

# ---------------------------------------------------------------- results
RESULTS=$TMP/results.tsv # relay \t metric \t value, one line per run
: >"$RESULTS"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }
note() { printf '%s\n' "$*" >>"$TMP/notes"; }
: >"$TMP/notes"

# ---------------------------------------------------------------- build
build() {
  [[ ${NO_BUILD:-0} = 1 ]] && return 0
  if [[ ! -f $BUILD/build.ninja && ! -f $BUILD/Makefile ]]; then
    log "configuring $BUILD"
    cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$TMP/cmake.log" 2>&1 ||
      die "cmake configure failed: see $TMP/cmake.log (KEEP_TMP=1 to keep it)"
  fi
  log "building ferry-loadgen ferry-echo ferry-bare-relay in $BUILD"
  cmake --build "$BUILD" --target ferry-loadgen ferry-echo ferry-bare-relay -j "$JOBS" >"$TMP/build.log" 2>&1 ||
    { tail -20 "$TMP/build.log" >&2; die "build failed"; }
  if [[ " $RELAYS " = *" ferry"* && -z ${FERRY_PROXY_GIVEN:-} ]]; then
    if cmake --build "$BUILD" --target ferry-proxy -j "$JOBS" >"$TMP/build-proxy.log" 2>&1; then
      log "built ferry-proxy"
    else
      log "ferry-proxy did not build (not landed yet?); its column stays empty"
    fi
  fi
}

# ---------------------------------------------------------------- relays
# write_config RELAY TLS_MODE FILE. TLS_MODE ecdsa: every relay serves the same
# ECDSA P-256 certificate. TLS_MODE default: HAProxy serves the RSA-4096 one
# (what WhatsApp's proxy ships), ferry-proxy generates its own (no cert/key).
write_config() {
  local relay=$1 mode=$2 file=$3
  case $relay in
    haproxy-*)
      local template=$REPO/bench/haproxy/${relay#haproxy-}.cfg.in
      local pem=$TMP/ecdsa.pem
      [[ $mode = default ]] && pem=$TMP/rsa.pem
      sed -e "s|@MAXCONN@|$HAPROXY_MAXCONN|g" -e "s|@MAXPIPES@|$((HAPROXY_MAXCONN / 10))|g" -e "s|@PLAIN_PORT@|$PLAIN_PORT|g" \
        -e "s|@TLS_PORT@|$TLS_PORT|g" -e "s|@BULK_PORT@|$BULK_PORT|g" \
        -e "s|@ECHO_PORT@|$ECHO_PORT|g" -e "s|@IPERF_PORT@|$IPERF_PORT|g" \
        -e "s|@TLS_PEM@|$pem|g" "$template" >"$file"
      ;;
    ferry | ferry-epoll)
      {
        echo "# ferry-proxy for bench/relay.sh: 2 workers like HAProxy's nbthread 2,"
        echo "# WhatsApp's timeouts, no PROXY header and no health checks to the bench upstreams."
        echo "workers = 2"
        # ferry-epoll: the same proxy without io_uring, as on a kernel or in a
        # container that refuses it.
        [[ $relay = ferry-epoll ]] && echo "io_uring = \"off\""
        echo "drain_timeout = \"1s\""
        echo "log_level = \"warn\""
        echo "[stats]"
        echo "listen = \"127.0.0.1:$STATS_PORT\""
        echo "[limits]"
        echo "connect_timeout = \"5s\""
        echo "idle_timeout = \"200s\""
        echo "fin_timeout = \"1s\""
        echo "handshake_timeout = \"10s\""
        if [[ $mode = ecdsa ]]; then
          echo "[tls]"
          echo "cert = \"$TMP/ecdsa.crt\""
          echo "key = \"$TMP/ecdsa.key\""
        fi
        echo "[[listener]]"
        echo "listen = \"127.0.0.1:$PLAIN_PORT\""
        echo "upstream = \"echo\""
        echo "[[listener]]"
        echo "listen = \"127.0.0.1:$TLS_PORT\""
        echo "tls = true"
        echo "upstream = \"echo\""
        echo "[[listener]]"
        echo "listen = \"127.0.0.1:$BULK_PORT\""
        echo "upstream = \"iperf\""
        echo "[upstream.echo]"
        echo "servers = [\"127.0.0.1:$ECHO_PORT\"]"
        echo "send_proxy = \"none\""
        echo "health_check_interval = \"0s\""
        echo "[upstream.iperf]"
        echo "servers = [\"127.0.0.1:$IPERF_PORT\"]"
        echo "send_proxy = \"none\""
        echo "health_check_interval = \"0s\""
      } >"$file"
      ;;
  esac
}

RELAY_WRAPPER=
RELAY_PID=
# start_relay RELAY TLS_MODE: fresh relay process, ready when a 16 B echo goes
# through it. For "none" there is no process and the target is the upstream.
start_relay() {
  local relay=$1 mode=$2
  RELAY_WRAPPER=
  RELAY_PID=
  [[ $relay = none ]] && return 0
  local cfg=$TMP/$relay-$mode.cfg
  write_config "$relay" "$mode" "$cfg"
  case $relay in
    haproxy-*)
      "$HAPROXY" -c -q -f "$cfg" >"$TMP/check.log" 2>&1 ||
        { note "$relay: config rejected: $(tail -2 "$TMP/check.log" | tr '\n' ' ')"; return 1; }
      start_bg "$relay" "$HAPROXY" -db -f "$cfg" || return 1
      ;;
    ferry | ferry-epoll)
      [[ -x $FERRY_PROXY ]] || { note "$relay: no binary at $FERRY_PROXY"; return 1; }
      "$FERRY_PROXY" --check --config "$cfg" >"$TMP/check.log" 2>&1 ||
        { note "$relay: config rejected: $(tail -2 "$TMP/check.log" | tr '\n' ' ')"; return 1; }
      start_bg "$relay" "$FERRY_PROXY" --config "$cfg" || return 1
      ;;
    bare) # plain and bulk only: it has no TLS
      [[ -x $BARE_RELAY ]] || { note "bare: no binary at $BARE_RELAY"; return 1; }
      start_bg "$relay" "$BARE_RELAY" --threads 2 --max-seconds "$PROCESS_MAX_SECONDS" \
        --route "127.0.0.1:$PLAIN_PORT=127.0.0.1:$ECHO_PORT" \
        --route "127.0.0.1:$BULK_PORT=127.0.0.1:$IPERF_PORT" || return 1
      ;;
  esac
  RELAY_WRAPPER=$BG_WRAPPER
  RELAY_PID=$BG_PID
  local ready=0
  for _ in $(seq 1 15); do # up to ~15 s, but give up as soon as the relay exits
    kill -0 "$RELAY_PID" 2>/dev/null || break
    if timeout 5 "$LOADGEN" wait --target "127.0.0.1:$PLAIN_PORT" --setup-timeout 1 >/dev/null; then
      ready=1
      break
    fi
  done
  if ((!ready)); then
    note "$relay: not answering on its plain listener: $(tail -2 "$TMP/$relay.log" | tr '\n' ' ')"
    stop_relay
    return 1
  fi
  { [[ $relay = bare ]] || wait_port "$TLS_PORT" 5; } && wait_port "$BULK_PORT" 5 ||
    { note "$relay: TLS or bulk listener missing"; stop_relay; return 1; }
}

stop_relay() {
  stop_bg "$RELAY_WRAPPER"
  RELAY_WRAPPER=
  RELAY_PID=
}

relay_target() { # PORT_KIND: plain|tls
  if [[ $CURRENT_RELAY = none ]]; then echo "127.0.0.1:$ECHO_PORT"; return; fi
  [[ $1 = tls ]] && echo "127.0.0.1:$TLS_PORT" || echo "127.0.0.1:$PLAIN_PORT"
}

# The relay's CPU, and the echo server's: it makes one recv and one send per
# round trip, half of any relay's, so it shows the kernel floor in the same run.
watch_args() {
  local args="--watch-upstream-pid $ECHO_PID"
  [[ -n $RELAY_PID ]] && args+=" --watch-pid $RELAY_PID"
  echo "$args"
}

# run_loadgen NAME ARGS...: one bounded loadgen run; prints its result line.
run_loadgen() {
  local name=$1
  shift
  local limit=$((WARMUP + DURATION + 90))
  local out
  out=$(timeout -k 5 "$limit" "$LOADGEN" "$@" 2>>"$TMP/loadgen-$name.log" | tail -1)
  [[ $out = workload=* ]] || { note "$CURRENT_RELAY $name: loadgen gave no result"; return 1; }
  echo "$out"
}

count_errors() { # relay line
  local e
  e=$(kv errors "$2")
  record "$1" errors "${e:-0}"
  [[ ${e:-0} = 0 ]] || note "$1 $CURRENT_WORKLOAD run $CURRENT_RUN: $(tr ' ' '\n' <<<"$2" | grep -E '^err_' | tr '\n' ' ')"
}

# ---------------------------------------------------------------- measurements
measure_pingpong() { # connections
  local n=$1 line
  line=$(run_loadgen "pingpong$n" pingpong --target "$(relay_target plain)" --connections "$n" \
    --size 512 --duration "$DURATION" --warmup "$WARMUP" $(watch_args)) || return 1
  record "$CURRENT_RELAY" "pp${n}_msgs" "$(kv msgs_per_s "$line")"
  record "$CURRENT_RELAY" "pp${n}_p50" "$(kv p50_us "$line")"
  record "$CURRENT_RELAY" "pp${n}_p99" "$(kv p99_us "$line")"
  [[ -n $RELAY_PID ]] && record "$CURRENT_RELAY" "pp${n}_cpu" "$(kv cpu_us_per_op "$line")"
  record "$CURRENT_RELAY" "pp${n}_echo_cpu" "$(kv upstream_cpu_us_per_op "$line")"
  count_errors "$CURRENT_RELAY" "$line"
  log "  msgs/s=$(kv msgs_per_s "$line") p99_us=$(kv p99_us "$line") cpu_us/rt=$(kv cpu_us_per_op "$line") errors=$(kv errors "$line")"
}

measure_bulk() {
  local port=$BULK_PORT
  [[ $CURRENT_RELAY = none ]] && port=$IPERF_PORT
  start_bg iperf3-server iperf3 -s -1 -p "$IPERF_PORT" || return 1
  local server=$BG_WRAPPER
  wait_port "$IPERF_PORT" 10 || { note "iperf3 -s did not listen"; stop_bg "$server"; return 1; }
  local before after json
  [[ -n $RELAY_PID ]] && before=$(cpu_us "$RELAY_PID")
  json=$(timeout -k 5 $((DURATION + 30)) iperf3 -c 127.0.0.1 -p "$port" -t "$DURATION" -J 2>>"$TMP/iperf3.log")
  [[ -n $RELAY_PID ]] && after=$(cpu_us "$RELAY_PID")
  stop_bg "$server"
  local bps bytes
  bps=$(jq -r '.end.sum_received.bits_per_second // empty' <<<"$json" 2>/dev/null)
  bytes=$(jq -r '.end.sum_received.bytes // empty' <<<"$json" 2>/dev/null)
  if [[ -z $bps || -z $bytes || $bytes = 0 ]]; then
    note "$CURRENT_RELAY bulk run $CURRENT_RUN: iperf3 failed: $(jq -r '.error // "no output"' <<<"$json" 2>/dev/null)"
    record "$CURRENT_RELAY" errors 1
    return 1
  fi
  record "$CURRENT_RELAY" bulk_gbps "$(awk -v b="$bps" 'BEGIN {printf "%.3f", b / 1e9}')"
  if [[ -n $RELAY_PID && -n $before && -n $after ]]; then
    # relay CPU milliseconds per GB (10^9 bytes) carried
    record "$CURRENT_RELAY" bulk_cpu "$(awk -v c=$((after - before)) -v b="$bytes" 'BEGIN {printf "%.1f", c / 1000 / (b / 1e9)}')"
  fi
  record "$CURRENT_RELAY" errors 0
  log "  Gbit/s=$(awk -v b="$bps" 'BEGIN {printf "%.2f", b / 1e9}')"
}

measure_memory() {
  [[ -n $RELAY_PID ]] || return 0
  sleep 0.5
  local base fds_before
  base=$(rss_kib "$RELAY_PID")
  fds_before=$(ls "/proc/$RELAY_PID/fd" 2>/dev/null | wc -l)
  record "$CURRENT_RELAY" start_rss "$base"
  start_bg hold "$LOADGEN" hold --target "$(relay_target plain)" --connections "$HOLD_CONNECTIONS" \
    --duration 300 --setup-timeout 60 || return 1
  local hold=$BG_WRAPPER line=
  for _ in $(seq 1 700); do # up to 70 s for the hold to report
    line=$(grep -m1 'phase=established' "$TMP/hold.log")
    [[ -n $line ]] && break
    kill -0 "$hold" 2>/dev/null || break
    sleep 0.1
  done
  if [[ $(kv status "$line") != ok ]]; then
    note "$CURRENT_RELAY memory run $CURRENT_RUN: hold did not establish: ${line:-no output} $(tail -2 "$TMP/hold.log" | tr '\n' ' ')"
    record "$CURRENT_RELAY" errors 1
    stop_bg "$hold"
    return 1
  fi
  sleep 1 # let the relay settle into idle
  local rss fds
  rss=$(rss_kib "$RELAY_PID")
  fds=$(ls "/proc/$RELAY_PID/fd" 2>/dev/null | wc -l)
  stop_bg "$hold"
  local dropped
  dropped=$(grep -m1 'phase=done' "$TMP/hold.log" | tr ' ' '\n' | awk -F= '$1 == "dropped" {print $2}')
  record "$CURRENT_RELAY" idle_mem "$(((rss - base) * 1024 / HOLD_CONNECTIONS))"
  record "$CURRENT_RELAY" idle_fds "$(awk -v a="$fds" -v b="$fds_before" -v n="$HOLD_CONNECTIONS" 'BEGIN {printf "%.2f", (a - b) / n}')"
  record "$CURRENT_RELAY" errors "${dropped:-0}"
  log "  bytes/conn=$(((rss - base) * 1024 / HOLD_CONNECTIONS)) rss_kib=$base->$rss fds=$fds_before->$fds dropped=${dropped:-?}"
}

measure_tls() { # ecdsa|default
  [[ -n $RELAY_PID ]] || return 0
  local line
  line=$(run_loadgen "tls-$1" tls-handshake --target "$(relay_target tls)" --duration "$DURATION" \
    --warmup "$WARMUP" --concurrency "$TLS_CONCURRENCY" $(watch_args)) || return 1
  record "$CURRENT_RELAY" "tls_$1_rate" "$(kv ops_per_s "$line")"
  record "$CURRENT_RELAY" "tls_$1_cpu" "$(kv cpu_us_per_op "$line")"
  record "$CURRENT_RELAY" "tls_$1_key" "$(kv peer_key "$line")/$(kv tls_version "$line")"
  count_errors "$CURRENT_RELAY" "$line"
  log "  handshakes/s=$(kv ops_per_s "$line") cpu_us=$(kv cpu_us_per_op "$line") key=$(kv peer_key "$line") $(kv tls_version "$line") errors=$(kv errors "$line")"
}

measure_connect() {
  local line
  line=$(run_loadgen connect connect --target "$(relay_target plain)" --duration "$DURATION" \
    --warmup "$WARMUP" --concurrency "$CONNECT_CONCURRENCY" $(watch_args)) || return 1
  record "$CURRENT_RELAY" connect_rate "$(kv ops_per_s "$line")"
  [[ -n $RELAY_PID ]] && record "$CURRENT_RELAY" connect_cpu "$(kv cpu_us_per_op "$line")"
  record "$CURRENT_RELAY" connect_echo_cpu "$(kv upstream_cpu_us_per_op "$line")"
  count_errors "$CURRENT_RELAY" "$line"
  log "  conns/s=$(kv ops_per_s "$line") cpu_us=$(kv cpu_us_per_op "$line") errors=$(kv errors "$line")"
}

# ---------------------------------------------------------------- main
setup_all() {
  build
  [[ -x $LOADGEN && -x $ECHO ]] || die "missing $LOADGEN or $ECHO (build them, or unset NO_BUILD)"

  # ---------------------------------------------------------------- setup
  ulimit -n "$FD_LIMIT" 2>/dev/null || log "warning: cannot set ulimit -n $FD_LIMIT (hard limit $(ulimit -Hn))"
  for p in $ECHO_PORT $IPERF_PORT $PLAIN_PORT $TLS_PORT $BULK_PORT $STATS_PORT; do
    port_listening "$p" && die "port $p is in use; pick another BASE_PORT"
  done
  command -v iperf3 >/dev/null || die "iperf3 is not installed"
  command -v jq >/dev/null || die "jq is not installed"
  [[ -x $HAPROXY ]] || { [[ $RELAYS = *haproxy* ]] && die "no $HAPROXY"; }

  # Certificates: one ECDSA P-256 for the same-certificate comparison, and an
  # RSA-4096 like the one WhatsApp's generate-certs.sh makes. HAProxy wants
  # cert and key in one file; ferry-proxy wants them apart, key not readable by others.
  log "generating certificates"
  (
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=bench-ecdsa.invalid" -keyout "$TMP/ecdsa.key" -out "$TMP/ecdsa.crt" &&
      cat "$TMP/ecdsa.crt" "$TMP/ecdsa.key" >"$TMP/ecdsa.pem" &&
      openssl req -x509 -newkey rsa:4096 -nodes -days 30 \
        -subj "/CN=bench-rsa.invalid" -keyout "$TMP/rsa.key" -out "$TMP/rsa.crt" &&
      cat "$TMP/rsa.crt" "$TMP/rsa.key" >"$TMP/rsa.pem"
  ) >"$TMP/openssl.log" 2>&1 || die "openssl req failed: $(tail -3 "$TMP/openssl.log")"

  start_bg echo "$ECHO" --listen "127.0.0.1:$ECHO_PORT" --threads 1 --max-seconds "$PROCESS_MAX_SECONDS" ||
    die "echo server did not start"
  ECHO_PID=$BG_PID
  timeout 15 "$LOADGEN" wait --target "127.0.0.1:$ECHO_PORT" --setup-timeout 10 >/dev/null ||
    die "echo server not answering: $(tail -3 "$TMP/echo.log")"
}

run_all() {
  # Runs are interleaved (workload, run, relay) so a slow spell on the shared
  # machine hits every relay rather than one.
  if [[ -n ${MAX_LOAD:-} ]]; then
    # Other work on a shared machine skews throughput rows: optionally wait for a quiet spell.
    waited=0
    while awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="$MAX_LOAD" 'BEGIN {exit !(l >= m)}'; do
      ((waited >= ${MAX_LOAD_WAIT:-600})) && { log "load still $(cut -d' ' -f1 /proc/loadavg) after ${waited}s; starting anyway"; break; }
      ((waited % 60 == 0)) && log "waiting for load average < $MAX_LOAD (now $(cut -d' ' -f1 /proc/loadavg))"
      sleep 5
      waited=$((waited + 5))
    done
  fi
  START=$SECONDS
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  log "workloads: $WORKLOADS; relays: $RELAYS; runs: $RUNS; ${DURATION}s measured + ${WARMUP}s warm-up each"
  for CURRENT_WORKLOAD in $WORKLOADS; do
    for CURRENT_RUN in $(seq 1 "$RUNS"); do
      for CURRENT_RELAY in $RELAYS; do
        case $CURRENT_WORKLOAD in
          memory) [[ $CURRENT_RELAY = none ]] && continue ;;
          tls-*) [[ $CURRENT_RELAY = none || $CURRENT_RELAY = bare ]] && continue ;;
        esac
        mode=ecdsa
        [[ $CURRENT_WORKLOAD = tls-default ]] && mode=default
        log "$CURRENT_WORKLOAD run $CURRENT_RUN/$RUNS: $CURRENT_RELAY"
        if ! start_relay "$CURRENT_RELAY" "$mode"; then
          log "  $CURRENT_RELAY did not start (see notes)"
          continue
        fi
        case $CURRENT_WORKLOAD in
          pingpong100) measure_pingpong 100 ;;
          pingpong1000) measure_pingpong 1000 ;;
          bulk) measure_bulk ;;
          memory) measure_memory ;;
          tls-ecdsa) measure_tls ecdsa ;;
          tls-default) measure_tls default ;;
          connect) measure_connect ;;
        esac
        stop_relay
      done
    done
  done
  ELAPSED=$((SECONDS - START))
  LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
}

if [[ -n ${FROM_TSV:-} ]]; then
  # Re-render the table from raw results saved with RESULTS_TSV (no measuring).
  [[ -r $FROM_TSV ]] || die "cannot read $FROM_TSV"
  RESULTS=$FROM_TSV
  # The runs are in the file, not in RUNS: count the values of a measured
  # metric (errors are recorded once per workload and run, so not those).
  RUNS=$(awk -F'\t' '$2 != "errors" {n[$1 FS $2]++} END {m = 0; for (k in n) if (n[k] > m) m = n[k]; print m}' "$RESULTS")
  ELAPSED="?"
  LOAD_BEFORE="?"
  LOAD_AFTER="?"
else
  setup_all
  run_all
fi


# ---------------------------------------------------------------- report
median() { # relay metric -> median of the runs, or empty
  awk -F'\t' -v r="$1" -v m="$2" '$1 == r && $2 == m && $3 != "" {print $3}' "$RESULTS" |
    sort -g | awk '{v[NR] = $1} END {if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
first() { awk -F'\t' -v r="$1" -v m="$2" '$1 == r && $2 == m {print $3; exit}' "$RESULTS"; }
total() { awk -F'\t' -v r="$1" -v m="$2" '$1 == r && $2 == m {s += $3} END {print s + 0}' "$RESULTS"; }
fmt() { [[ -z $2 ]] && { echo "–"; return; }; awk -v v="$2" -v d="$1" 'BEGIN {printf "%.*f", d, v}'; }
ratio() { # a b -> a/b
  [[ -z $1 || -z $2 ]] && { echo "–"; return; }
  awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "–"; else printf (a / b < 1 ? "%.3f×" : "%.2f×"), a / b}'
}
spread() { # relay metric decimals -> " (min–max)" over the runs, with SHOW_RANGE=1
  [[ ${SHOW_RANGE:-0} = 1 ]] || return 0
  awk -F'\t' -v r="$1" -v m="$2" -v d="$3" '$1 == r && $2 == m && $3 != "" {
    if (n == 0 || $3 + 0 < lo) lo = $3 + 0
    if (n == 0 || $3 + 0 > hi) hi = $3 + 0
    n++
  } END {if (n > 1) printf " (%.*f–%.*f)", d, lo, d, hi}' "$RESULTS"
}

# metric | workload | label | decimals | target (issue 3) | how to check it:
# REF:OP:X means ferry's median OP X × REF's median (REF: a relay, or "hap" =
# every HAProxy variant in the run, or "abs" = X itself); OP is le or ge.
ROWS=(
  "pp100_msgs|pingpong100|ping-pong 100 conn × 512 B: msgs/s|0||"
  "pp100_p99|pingpong100|ping-pong 100 conn: p99 round trip, µs|0||"
  "pp100_cpu|pingpong100|relay CPU per round trip, 100 conn, µs|1|≤ 0.6× WhatsApp|haproxy-whatsapp:le:0.6"
  "pp100_echo_cpu|pingpong100|echo server CPU per round trip (1 recv + 1 send), 100 conn, µs|1||"
  "pp1000_msgs|pingpong1000|ping-pong 1000 conn × 512 B: msgs/s|0|≥ 1.5× WhatsApp|haproxy-whatsapp:ge:1.5"
  "pp1000_p50|pingpong1000|ping-pong 1000 conn: p50 round trip, µs|0||"
  "pp1000_p99|pingpong1000|ping-pong 1000 conn: p99 round trip, µs|0|≤ 1× WhatsApp|haproxy-whatsapp:le:1"
  "pp1000_cpu|pingpong1000|relay CPU per round trip, 1000 conn, µs|1|≤ 0.6× WhatsApp|haproxy-whatsapp:le:0.6"
  "pp1000_echo_cpu|pingpong1000|echo server CPU per round trip (1 recv + 1 send), 1000 conn, µs|1||"
  "bulk_gbps|bulk|one bulk stream (iperf3), Gbit/s|2|≥ 1.2× splice|haproxy-splice:ge:1.2"
  "bulk_cpu|bulk|relay CPU per GB carried, ms|0||"
  "idle_mem|memory|memory per idle relayed connection ($HOLD_CONNECTIONS held), bytes|0|≤ 1024 B|abs:le:1024"
  "idle_fds|memory|file descriptors per idle relayed connection|2||"
  "start_rss|memory|relay RSS at start, KiB|0||"
  "tls_ecdsa_rate|tls-ecdsa|TLS handshakes/s, same ECDSA P-256 cert|0||"
  "tls_ecdsa_cpu|tls-ecdsa|relay CPU per TLS handshake, same ECDSA P-256 cert, µs|0|≤ 0.8× HAProxy|hap:le:0.8"
  "tls_default_rate|tls-default|TLS handshakes/s, HAProxy RSA-4096 vs ferry default cert|0||"
  "tls_default_cpu|tls-default|relay CPU per TLS handshake, HAProxy RSA-4096 vs ferry default cert, µs|0|≤ 0.1× HAProxy|hap:le:0.1"
  "connect_rate|connect|new connections/s (connect, 16 B echo, close)|0||"
  "connect_cpu|connect|relay CPU per new connection, µs|1|≤ 0.7× HAProxy|hap:le:0.7"
  "connect_echo_cpu|connect|echo server CPU per new connection (accept, echo, close), µs|1||"
)

# verdict SPEC METRIC -> "met", "missed" or "" (cannot tell from this run)
verdict() {
  local ref op x
  IFS=':' read -r ref op x <<<"$1"
  [[ -n $ref ]] || return 0
  local f
  f=$(median ferry "$2")
  [[ -n $f ]] || return 0
  local refs=()
  case $ref in
    abs) refs=(abs) ;;
    hap) for r in haproxy-whatsapp haproxy-splice; do has_relay "$r" && refs+=("$r"); done ;;
    *) has_relay "$ref" && refs=("$ref") ;;
  esac
  ((${#refs[@]})) || return 0
  local r bound ok=1
  for r in "${refs[@]}"; do
    if [[ $r = abs ]]; then bound=$x; else
      bound=$(median "$r" "$2")
      [[ -n $bound ]] || return 0
      bound=$(awk -v b="$bound" -v x="$x" 'BEGIN {print b * x}')
    fi
    awk -v f="$f" -v b="$bound" -v op="$op" 'BEGIN {exit !((op == "le") ? f <= b : f >= b)}' || ok=0
  done
  ((ok)) && echo met || echo missed
}

declare -A TITLE=([none]="no relay" [bare]="minimal epoll relay (floor)" [haproxy-whatsapp]="HAProxy 2.6, WhatsApp settings (4 KiB)"
  [haproxy-splice]="HAProxy 2.6, 16 KiB + splice" [ferry-epoll]="ferry-proxy, epoll only (io_uring = off)"
  [ferry]="ferry-proxy")
has_relay() { [[ " $RELAYS " = *" $1 "* ]]; }
RATIO_BARE=0
RATIO_WA=0
RATIO_SPLICE=0
has_relay ferry && has_relay bare && RATIO_BARE=1
has_relay ferry && has_relay haproxy-whatsapp && RATIO_WA=1
has_relay ferry && has_relay haproxy-splice && RATIO_SPLICE=1

# One empty cell per ratio column and for the verdict: rows that have no ratio.
empty_cells() {
  local n=$((RATIO_BARE + RATIO_WA + RATIO_SPLICE))
  has_relay ferry && n=$((n + 1))
  ((n)) && printf '|%.0s' $(seq 1 "$n")
  return 0
}

table_rows() { # prints "|"-separated rows: header, then one per metric
  local header="workload (median of $RUNS)"
  [[ ${SHOW_RANGE:-0} = 1 ]] && header="workload (median of $RUNS, min–max)"
  local r
  for r in $RELAYS; do header+="|${TITLE[$r]}"; done
  ((RATIO_BARE)) && header+="|ferry ÷ minimal relay"
  ((RATIO_WA)) && header+="|ferry ÷ HAProxy WhatsApp"
  ((RATIO_SPLICE)) && header+="|ferry ÷ HAProxy splice"
  header+="|target (issue 3)"
  has_relay ferry && header+="|ferry"
  echo "$header"
  local row metric workload label decimals target spec line
  for row in "${ROWS[@]}"; do
    IFS='|' read -r metric workload label decimals target spec <<<"$row"
    [[ " $WORKLOADS " = *" $workload "* ]] || continue
    line=$label
    for r in $RELAYS; do line+="|$(fmt "$decimals" "$(median "$r" "$metric")")$(spread "$r" "$metric" "$decimals")"; done
    local f
    f=$(median ferry "$metric")
    ((RATIO_BARE)) && line+="|$(ratio "$f" "$(median bare "$metric")")"
    ((RATIO_WA)) && line+="|$(ratio "$f" "$(median haproxy-whatsapp "$metric")")"
    ((RATIO_SPLICE)) && line+="|$(ratio "$f" "$(median haproxy-splice "$metric")")"
    line+="|${target:-}"
    has_relay ferry && line+="|$(verdict "$spec" "$metric")"
    echo "$line"
  done
  for mode in ecdsa default; do
    [[ " $WORKLOADS " = *" tls-$mode "* ]] || continue
    line="certificate served (tls-$mode)"
    for r in $RELAYS; do line+="|$(first "$r" "tls_${mode}_key" | sed 's/^$/–/')"; done
    line+=$(empty_cells)
    echo "$line|"
  done
  line="errors, all runs (see notes)"
  for r in $RELAYS; do line+="|$(total "$r" errors)"; done
  line+=$(empty_cells)
  echo "$line|"
}

TABLE=$(table_rows)
echo
if [[ -n ${FROM_TSV:-} ]]; then
  echo "Relay benchmark: rendered from $FROM_TSV"
else
  echo "Relay benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, kernel $(uname -r), ${ELAPSED}s;" \
    "load average before $LOAD_BEFORE, after $LOAD_AFTER"
fi
echo "Command: RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP RELAYS=\"$RELAYS\" bench/relay.sh $WORKLOADS"
echo
column -t -s '|' <<<"$TABLE"
echo
echo "Markdown (for bench/RESULTS.md):"
echo
awk -F'|' '{
  line = "|"
  for (i = 1; i <= NF; i++) line = line " " $i " |"
  print line
  if (NR == 1) {
    line = "|"
    for (i = 1; i <= NF; i++) line = line ((i == 1 || $i ~ /^target/ || $i == "ferry") ? "---|" : "--:|")
    print line
  }
}' <<<"$TABLE"
if [[ -n ${RESULTS_TSV:-} ]]; then
  cp "$RESULTS" "$RESULTS_TSV" && echo && echo "Raw per-run values: $RESULTS_TSV"
fi
if [[ -s $TMP/notes ]]; then
  echo
  echo "Notes:"
  sed 's/^/- /' "$TMP/notes"
fi
