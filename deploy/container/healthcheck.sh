#!/bin/bash
# Asks ferry-proxy's stats endpoint how it is, from inside its own network
# namespace: the stats address is loopback-only by default, so a container
# health check or a Kubernetes exec probe can reach it where nothing outside
# can. Uses bash's /dev/tcp so the image needs no HTTP client.
#
#   ferry-healthcheck [--alive] [HOST:PORT]     (default 127.0.0.1:8199)
#
# Without --alive: exit 0 only on "200 ok" from /healthz (every upstream has a
# server up and the proxy is not draining): "send me traffic".
# With --alive: exit 0 on any HTTP answer (200 or 503): "the process is
# serving", so an upstream outage never gets the proxy restarted.
set -u
alive=0
if [ "${1:-}" = "--alive" ]; then
  alive=1
  shift
fi
addr="${1:-127.0.0.1:8199}"
host="${addr%:*}"
port="${addr##*:}"
host="${host#[}"
host="${host%]}"

# Loopback refuses at once; the read is bounded; the caller bounds the rest.
if ! exec 3<>"/dev/tcp/${host}/${port}"; then
  echo "no stats endpoint at ${addr}"
  exit 1
fi 2>/dev/null
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
status=""
IFS= read -r -t 5 status <&3
body="$(timeout 5 cat <&3 2>/dev/null | sed '1,/^\r\?$/d' | head -c 512)"  # after the headers
exec 3<&-
status="${status%$'\r'}"
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  "HTTP/1."?" 503 "*)
    echo "not ready: ${body//$'\n'/; }"
    [ "$alive" = 1 ] && exit 0
    exit 1
    ;;
esac
echo "unexpected answer from ${addr}: ${status:-nothing}"
exit 1
