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

# A refused or hung connection must not hang the probe: every step is bounded.
exec 3<>"/dev/tcp/${host}/${port}" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 || exit 1
IFS=' ' read -r -t 5 version code _ <&3 || exit 1
exec 3<&-
case "$version" in HTTP/1.*) ;; *) exit 1 ;; esac
if [ "$code" = "200" ]; then exit 0; fi
if [ "$alive" = 1 ] && [ "$code" = "503" ]; then exit 0; fi
exit 1
