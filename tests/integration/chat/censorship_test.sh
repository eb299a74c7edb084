#!/usr/bin/env bash
# The censorship test: chatting while the direct route to the server is
# blocked, through ferry-proxy, with nothing readable on the way.
#
#   client 10.77.1.2 ── 10.77.1.1 censor 10.77.2.1 ── 10.77.2.2 proxy
#                                       10.77.3.1 ── 10.77.3.2 server
#
# The censor routes between the client and the rest and blackholes every
# packet from the client's network to the server's address (policy routing,
# `ip rule ... blackhole`). The proxy runs the product's own command,
# `ferry-proxy --profile ferry --upstream 10.77.3.2:7001 --public-host 10.77.2.2`
# (TLS on 443, plain on 5222, PROXY v2 to the server).
#
# Asserts, as issue 5 point 5 lists them:
#   (a) a direct send fails with one clear line;
#   (b) alice sends 1,000 messages (TLS, then plain) while bob is offline;
#       bob receives all of them, in order, exactly once;
#   (c) neither the capture at the proxy nor the server's database holds a
#       message text or a long-term private key;
#   (d) a client stream captured at the proxy and replayed is refused;
#   (e) the proxy killed (-9) and restarted mid-conversation loses nothing;
#   (f) the proxy's /metrics counted the relayed connections.
#
# Needs root (network namespaces); exits 77 (CTest: skipped) otherwise.
# usage: censorship_test.sh BIN_DIR
set -euo pipefail

BIN=${1:?usage: censorship_test.sh BIN_DIR}
SKIP=77
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for network namespaces"; exit $SKIP; }
for tool in ip tshark curl; do
  command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit $SKIP; }
done
for b in ferry ferry-server ferry-proxy chat_secret_scan; do
  [ -x "$BIN/$b" ] || { echo "FAIL: $BIN/$b not built"; exit 1; }
done

TAG=fc$$  # unique names: several runs may share the machine
NS_C=$TAG-client NS_X=$TAG-censor NS_P=$TAG-proxy NS_S=$TAG-server
WORK=$(mktemp -d /tmp/ferry-censor-XXXXXX)
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  # Anything else still running inside our namespaces was started by us.
  for ns in $NS_C $NS_X $NS_P $NS_S; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  done
  for ns in $NS_C $NS_X $NS_P $NS_S; do ip netns del "$ns" 2>/dev/null; done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
step() { echo "== $*"; }
# (Background processes are started with `ip netns exec` itself, never via
# this function, so that $! is the process and not a subshell.)
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds (bounded).
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.05
  done
}

# ---------------------------------------------------------------- network
step "network namespaces"
for ns in $NS_C $NS_X $NS_P $NS_S; do
  ip netns add "$ns" || { echo "SKIP: cannot create network namespaces"; exit $SKIP; }
  in_ns "$ns" ip link set lo up
done
link() {  # link NS_A IF_A ADDR_A NS_B IF_B ADDR_B
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  in_ns "$1" ip addr add "$3" dev "$2"
  in_ns "$4" ip addr add "$6" dev "$5"
  in_ns "$1" ip link set "$2" up
  in_ns "$4" ip link set "$5" up
}
link $NS_C c0 10.77.1.2/24 $NS_X x1 10.77.1.1/24
link $NS_P p0 10.77.2.2/24 $NS_X x2 10.77.2.1/24
link $NS_S s0 10.77.3.2/24 $NS_X x3 10.77.3.1/24
in_ns $NS_C ip route add default via 10.77.1.1
in_ns $NS_P ip route add default via 10.77.2.1
in_ns $NS_S ip route add default via 10.77.3.1
in_ns $NS_X sysctl -qw net.ipv4.ip_forward=1
# The censor: everything from the client's network to the server vanishes.
in_ns $NS_X ip rule add from 10.77.1.0/24 to 10.77.3.2 blackhole priority 100

# --------------------------------------------------------------- services
step "server, capture, proxy"
ip netns exec $NS_S "$BIN/ferry-server" --listen 10.77.3.2:7000 --proxy-listen 10.77.3.2:7001 \
  --data "$WORK/srv" --per-ip-new-per-second 0 >"$WORK/link" 2>"$WORK/server.log" &
SERVER_PID=$!
PIDS+=($SERVER_PID)
wait_for 15 grep -q chat_server_ready "$WORK/server.log" || fail "server did not start"
LINK=$(head -1 "$WORK/link")
echo "server link: $LINK"

# Everything the proxy's interfaces carry, for (c) and (d). Two captures:
# the first is read for (d) while the second goes on.
start_capture() {  # start_capture NAME
  ip netns exec $NS_P tshark -q -i p0 -i lo -w "$WORK/$1.pcapng" >"$WORK/$1.log" 2>&1 &
  TSHARK_PID=$!
  PIDS+=($TSHARK_PID)
  wait_for 20 grep -q "Capturing on" "$WORK/$1.log" || fail "tshark did not start"
}
stop_capture() {
  kill -INT $TSHARK_PID
  wait $TSHARK_PID 2>/dev/null || true
}
start_capture capture1

start_proxy() {
  ip netns exec $NS_P "$BIN/ferry-proxy" --profile ferry --upstream 10.77.3.2:7001 \
    --public-host 10.77.2.2 >"$WORK/proxy.out" 2>>"$WORK/proxy.log" &
  PROXY_PID=$!
  PIDS+=($PROXY_PID)
  wait_for 15 in_ns $NS_P curl -sf http://127.0.0.1:8199/healthz || fail "proxy did not start"
}
start_proxy
wait_for 5 grep -q "ferry://proxy?" "$WORK/proxy.out" || fail "proxy printed no link"
PROXY_LINK=$(grep -o "ferry://proxy?[^ ]*" "$WORK/proxy.out" | head -1)
echo "proxy link: $PROXY_LINK"
[ "$PROXY_LINK" = "ferry://proxy?host=10.77.2.2&port=443&tls=1" ] || fail "unexpected link $PROXY_LINK"

ferry() { in_ns $NS_C "$BIN/ferry" --timeout 10 --home "$WORK/$1" "${@:2}"; }
# (bash's dynamic scope: stats_grew sees server_counter's `before`)
stats_grew() { [ "$(grep -c chat_server_stats "$WORK/server.log" || true)" -gt "$before" ]; }
server_counter() {  # server_counter NAME: a fresh value, via SIGUSR1
  local before end
  before=$(grep -c chat_server_stats "$WORK/server.log" || true)
  end=$((SECONDS + 20))
  # Ask again every second: signals sent close together may merge into one.
  until stats_grew; do
    [ $SECONDS -lt $end ] || { tail -3 "$WORK/server.log" >&2; fail "no stats from the server"; }
    kill -USR1 $SERVER_PID
    wait_for 1 stats_grew || true
  done
  grep chat_server_stats "$WORK/server.log" | tail -1 | grep -o " $1=[0-9]*" | cut -d= -f2
}

# -------------------------------------------------------------- accounts
step "register through the proxy (alice: TLS link, bob: plain, dave: TLS)"
ferry alice register alice --server "$LINK" --proxy "$PROXY_LINK" >/dev/null
ferry bob register bob --server "$LINK" --proxy 10.77.2.2:5222 >/dev/null
ferry dave register dave --server "$LINK" --proxy "tls://10.77.2.2:443" >/dev/null

# -------------------------------------------------------------------- (a)
step "(a) the direct route is blocked: a clear error"
set +e
in_ns $NS_C "$BIN/ferry" --timeout 3 --home "$WORK/dave" send bob "direct attempt" --proxy none \
  2>"$WORK/direct.err"
rc=$?
set -e
cat "$WORK/direct.err"
[ $rc -eq 3 ] || fail "(a) direct send exited $rc, not 3"
[ "$(wc -l <"$WORK/direct.err")" -eq 1 ] || fail "(a) more than one line of error"
grep -q "server unreachable: 10.77.3.2:7000" "$WORK/direct.err" || fail "(a) unclear error"

# ------------------------------------------------------------ (b) and (e)
MARK=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
text() { printf 'msg %04d %s' "$1" "$MARK"; }
for i in $(seq 1 1000); do text "$i"; echo; done >"$WORK/texts"

# send FIRST LAST [ferry args]: one `ferry send` per message. Outcome codes
# go to $WORK/codes: 0 stored, 3 kept in the outbox (proxy down).
send_range() {
  local first=$1 last=$2
  shift 2
  in_ns $NS_C bash -c '
    bin=$1 home=$2 mark=$3 first=$4 last=$5; shift 5
    for i in $(seq "$first" "$last"); do
      t=$(printf "msg %04d %s" "$i" "$mark")
      "$bin/ferry" --timeout 10 --home "$home" send bob "$t" "$@" 2>>"$home.err"
      echo "$i $?"
    done' _ "$BIN" "$WORK/alice" "$MARK" "$first" "$last" "$@" >>"$WORK/codes"
}

step "(b) alice sends 1..500 through TLS (the remembered link)"
send_range 1 500
step "(b) alice switches to plain and sends 501..650"
send_range 501 650 --proxy 10.77.2.2:5222

step "(e) the proxy is killed mid-conversation"
kill -9 $PROXY_PID
wait $PROXY_PID 2>/dev/null || true
send_range 651 660
step "(e) the proxy restarts; the outbox empties first"
start_proxy
send_range 661 1000

grep -v " 0$" "$WORK/codes" | grep -v " 3$" && fail "a send failed in an unexpected way"
down=$(awk '$1>=651 && $1<=660 && $2==3' "$WORK/codes" | wc -l)
[ "$down" -eq 10 ] || fail "(e) expected 10 sends to wait in the outbox, got $down"
up=$(awk '$2==0' "$WORK/codes" | wc -l)
[ "$up" -eq 990 ] || fail "(b) expected 990 sends stored at once, got $up"

# -------------------------------------------------------------------- (d)
step "(d) replay a captured plain client stream through the proxy"
stop_capture
start_capture capture2
# The first client connection on the plain port: its bytes, in order.
stream=$(tshark -r "$WORK/capture1.pcapng" -Y "tcp.dstport==5222 && tcp.len>0" -T fields \
  -e tcp.stream 2>/dev/null | head -1)
[ -n "$stream" ] || fail "(d) no plain client stream captured"
tshark -r "$WORK/capture1.pcapng" -Y "tcp.stream==$stream && tcp.dstport==5222 && tcp.len>0" \
  -T fields -e tcp.payload 2>/dev/null | tr -d ':\n' >"$WORK/replay.hex"
[ -s "$WORK/replay.hex" ] || fail "(d) empty capture"
# hex -> bytes with bash's printf (no xxd needed)
printf '%b' "$(sed 's/../\\x&/g' "$WORK/replay.hex")" >"$WORK/replay.bin"
before_replay=$(server_counter closed_decrypt_failed)
in_ns $NS_C bash -c 'exec 3<>/dev/tcp/10.77.2.2/5222; cat "$1" >&3; timeout 10 cat <&3 >/dev/null' \
  _ "$WORK/replay.bin" || true
replay_refused() { [ "$(server_counter closed_decrypt_failed)" -gt "$before_replay" ]; }
wait_for 10 replay_refused || fail "(d) the replayed stream was not refused"
echo "replayed $(stat -c %s "$WORK/replay.bin") bytes: refused (closed_decrypt_failed went up)"

# -------------------------------------------------------------------- (b)
step "(b) bob comes online and receives"
ferry bob receive --proxy "$PROXY_LINK" >"$WORK/bob.out" 2>"$WORK/bob.err" ||
  fail "bob's receive failed: $(cat "$WORK/bob.err")"
sed 's/^/alice: /' "$WORK/texts" >"$WORK/expected"
if ! cmp -s "$WORK/bob.out" "$WORK/expected"; then
  diff "$WORK/expected" "$WORK/bob.out" | head -20
  fail "(b) bob did not get the 1000 messages in order exactly once"
fi
ferry bob receive >"$WORK/bob2.out"
[ ! -s "$WORK/bob2.out" ] || fail "(b) a second receive printed messages again"
echo "bob received 1000/1000 in order, once"

# -------------------------------------------------------------------- (f)
step "(f) the proxy's metrics"
accepted=$(in_ns $NS_P curl -sf http://127.0.0.1:8199/metrics |
  awk '/^ferry_connections_accepted_total/ {s+=$2} END {print s+0}')
# Since its restart the proxy relayed sends 661..1000, the replay and bob.
[ "${accepted%.*}" -ge 342 ] || fail "(f) the proxy counted $accepted connections, expected >= 342"
echo "proxy counted $accepted accepted connections since its restart"
# And the server saw them all come through the proxy (3 registrations, 990
# sends that went at once, the replay, 2 receives), none directly.
via_proxy=$(server_counter accepted_via_proxy)
[ "$via_proxy" -ge 996 ] || fail "(f) the server saw $via_proxy proxied connections"
[ "$(server_counter accepted_direct)" -eq 0 ] || fail "a client reached the server directly"

# -------------------------------------------------------------------- (c)
step "(c) no text and no private key at the proxy or in the server's database"
stop_capture
kill -9 $SERVER_PID  # as a crash would leave it: WAL included
wait $SERVER_PID 2>/dev/null || true
"$BIN/chat_secret_scan" --home "$WORK/alice" --home "$WORK/bob" --home "$WORK/dave" \
  --server-key "$WORK/srv/server.key" --texts "$WORK/texts" -- \
  "$WORK"/capture*.pcapng "$WORK"/srv/server.db* || fail "(c) found secrets"
# The scan must be able to find what it looks for (no test that cannot fail).
printf 'x%sx' "$(text 7)" >"$WORK/canary"
if "$BIN/chat_secret_scan" --texts "$WORK/texts" -- "$WORK/canary" >/dev/null; then
  fail "(c) the scanner misses a planted text"
fi

echo "PASS: censorship test (a)-(f)"
