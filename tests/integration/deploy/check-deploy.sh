#!/bin/bash
# Keeps the deployment recipes in deploy/ honest where this machine allows:
# there is no container engine, no Helm and no cloud here, so each part checks
# what a recipe shares with the real binary.
#
#   check-deploy.sh PART FERRY_PROXY SOURCE_DIR
#
#   helm_config          the chart's config, rendered as the chart does (defaults,
#                        metrics on, TLS secret, the PROXY-protocol example),
#                        passes `ferry-proxy --check`; published ports reach the
#                        right listeners; the grace period covers the drain
#   container_libs       the Containerfile's runtime packages are exactly the
#                        packages of the libraries `ldd` lists; its build
#                        packages are in scripts/install-deps.sh; cloud-init
#                        installs the same lists
#   container_configure  the Containerfile's cmake configure line works
#   cloud_init           valid YAML (when a YAML parser is present), the embedded
#                        unit is deploy/systemd's, the embedded script parses and
#                        opens exactly the direct ports
#   healthcheck          the image's health check against a live ferry-proxy
#
# Exit 0: passed; 1: failed; 77: skipped (CTest SKIP_RETURN_CODE).
set -euo pipefail

part="${1:?part}"
bin="${2:?ferry-proxy binary}"
src="${3:?source dir}"
work="$(mktemp -d)"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok: $*"; }

# The block scalar (`KEY: |`) that follows the first line containing ANCHOR,
# without its indentation and trailing blank lines: what a YAML parser gives.
yaml_block() {
  awk -v anchor="$2" '
    !seen && index($0, anchor) { seen = 1 }
    seen && !inb && /: \|$/ { inb = 1; ind = -1; next }
    inb {
      if ($0 ~ /^[ \t]*$/) { blank = blank "\n"; next }
      match($0, /^ */)
      if (ind < 0) ind = RLENGTH
      if (RLENGTH < ind) exit
      printf "%s%s\n", blank, substr($0, ind + 1)
      blank = ""
    }' "$1"
}

# "PORT ACCEPT_PROXY" for every [[listener]] of a TOML config.
listeners() {
  awk '
    function flush() { if (inl && port != "") print port, ap }
    /^\[\[listener\]\]/ { flush(); inl = 1; port = ""; ap = 0; next }
    /^\[/ { flush(); inl = 0; next }
    inl && /^listen *=/ { p = $0; sub(/"[ \t]*(#.*)?$/, "", p); sub(/.*:/, "", p); port = p }
    inl && /^accept_proxy *= *true/ { ap = 1 }
    END { flush() }' "$1"
}

# The words of `NAME="..."` (may span lines with backslashes) in FILE.
quoted_list() {
  awk -v name="$2" '
    !inq && index($0, name "=\"") {
      inq = 1; sub(".*" name "=\"", "")
    }
    inq {
      line = $0; done = sub(/".*/, "", line)
      gsub(/\\/, " ", line); printf "%s ", line
      if (done) exit
    }' "$1" | tr -s ' \t' '\n' | sed '/^$/d' | sort -u
}

check_config() {  # FILE WHAT
  "$bin" --check --config "$1" >/dev/null 2>"$work/check.err" ||
    fail "$2 does not load: $(cat "$work/check.err")"
  ok "$2 passes ferry-proxy --check"
}

helm_config() {
  local chart="$src/deploy/helm/ferry-proxy" values example cfg
  values="$chart/values.yaml"
  example="$chart/examples/values-proxy-protocol.yaml"

  # The chart appends [stats] and [tls]; these are the lines it writes.
  local helpers="$chart/templates/_helpers.tpl" line
  for line in '[stats]' 'listen = {{ include "ferry-proxy.statsListen" . | quote }}' '[tls]' \
    'cert = "/run/ferry-tls/cert.pem"' 'key = "/run/ferry-tls/key.pem"' 'key_type = {{ . | quote }}'; do
    grep -qxF -- "$line" "$helpers" || fail "_helpers.tpl no longer writes: $line"
  done
  grep -q 'mountPath: /run/ferry-tls' "$chart/templates/workload.yaml" ||
    fail "workload.yaml no longer mounts /run/ferry-tls"

  yaml_block "$values" "config: |" >"$work/config.toml"
  [ -s "$work/config.toml" ] || fail "no config in values.yaml"
  # The same pattern as the chart's check in _helpers.tpl.
  ! grep -Eq '^\s*(\[\s*(stats|tls)\s*[].]|(stats|tls)\s*\.|stats\s*=|tls\s*=\s*\{)' "$work/config.toml" ||
    fail "values.yaml config defines [stats] or [tls], which the chart writes"

  cfg="$work/default.toml"
  { cat "$work/config.toml"; printf '\n[stats]\nlisten = "127.0.0.1:8199"\n'; } >"$cfg"
  check_config "$cfg" "values.yaml config with the chart's [stats] (default)"
  { cat "$work/config.toml"; printf '\n[stats]\nlisten = "0.0.0.0:8199"\n'; } >"$work/metrics.toml"
  check_config "$work/metrics.toml" "values.yaml config with metrics.enabled"
  # --check loads the files the config names: a key and certificate like the
  # mounted secret stand in for /run/ferry-tls (the lines are checked above).
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=chart \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || fail "openssl req failed"
  chmod 600 "$work/key.pem"
  { cat "$work/config.toml"; printf '\n[stats]\nlisten = "[::]:8199"\n\n[tls]\ncert = "%s"\nkey = "%s"\nkey_type = "rsa-2048"\n' "$work/cert.pem" "$work/key.pem"; } >"$work/tls.toml"
  check_config "$work/tls.toml" "values.yaml config with a TLS secret and keyType"

  # The default Service publishes only listeners that take clients directly.
  listeners "$cfg" >"$work/listeners"
  local port n=0
  # shellcheck disable=SC2013  # port numbers are words
  for port in $(grep -o 'targetPort: [0-9]*' "$values" | awk '{print $2}'); do
    grep -qx "$port 0" "$work/listeners" ||
      fail "values.yaml publishes $port, which is not a listener without accept_proxy"
    n=$((n + 1))
  done
  [ "$n" -ge 5 ] || fail "values.yaml publishes $n ports, expected the 5 direct ones"
  ok "values.yaml publishes $n direct listeners and no accept_proxy one"

  # Behind a PROXY-protocol load balancer: every published port expects one.
  yaml_block "$example" "config: |" >"$work/example.toml"
  printf '\n[stats]\nlisten = "127.0.0.1:8199"\n' >>"$work/example.toml"
  check_config "$work/example.toml" "examples/values-proxy-protocol.yaml config"
  listeners "$work/example.toml" >"$work/example-listeners"
  n=0
  # shellcheck disable=SC2013  # port numbers are words
  for port in $(grep -o 'targetPort: [0-9]*' "$example" | awk '{print $2}'); do
    grep -qx "$port 1" "$work/example-listeners" ||
      fail "the PROXY-protocol example publishes $port, which is not an accept_proxy listener"
    n=$((n + 1))
  done
  [ "$n" -ge 5 ] || fail "the PROXY-protocol example publishes only $n ports"
  ok "the PROXY-protocol example publishes $n accept_proxy listeners only"

  # SIGKILL must not cut the drain: grace > preStop pause + drain_timeout.
  local grace pause drain
  grace="$(awk '/^terminationGracePeriodSeconds:/ {print $2}' "$values")"
  pause="$(awk '/^preStopSleepSeconds:/ {print $2}' "$values")"
  drain="$(awk -F'"' '/^drain_timeout *=/ {print $2}' "$cfg")"
  drain="${drain:-30s}"  # the default when the config does not say
  case "$drain" in
    *ms) drain=$(((${drain%ms} + 999) / 1000)) ;;
    *s) drain="${drain%s}" ;;
    *m) drain=$((${drain%m} * 60)) ;;
    *h) drain=$((${drain%h} * 3600)) ;;
  esac
  [ "$grace" -gt $((pause + drain)) ] ||
    fail "terminationGracePeriodSeconds $grace <= preStop $pause s + drain_timeout $drain s"
  ok "grace period ${grace}s > preStop ${pause}s + drain ${drain}s"
}

# The Debian package that holds a library path (merged /usr: try both names).
package_of() {
  local p cand
  for cand in "$1" "$(readlink -f "$1")"; do
    for p in "$cand" "/usr${cand#/usr}" "${cand#/usr}"; do
      if dpkg-query -S "$p" >/dev/null 2>&1; then
        dpkg-query -S "$p" 2>/dev/null | head -n 1 | sed 's/:.*//'
        return 0
      fi
    done
  done
  return 1
}

container_libs() {
  if ! command -v dpkg-query >/dev/null || ! command -v ldd >/dev/null; then
    echo "SKIP: needs dpkg-query and ldd"
    exit 77
  fi
  local containerfile="$src/deploy/container/Containerfile" lib pkg
  quoted_list "$containerfile" RUNTIME_PACKAGES >"$work/runtime"
  quoted_list "$containerfile" BUILD_PACKAGES >"$work/build"
  [ -s "$work/runtime" ] || fail "no RUNTIME_PACKAGES in the Containerfile"
  [ -s "$work/build" ] || fail "no BUILD_PACKAGES in the Containerfile"

  : >"$work/needed"
  for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    pkg="$(package_of "$lib")" || fail "no Debian package holds $lib"
    echo "$pkg" >>"$work/needed"
  done
  sort -u -o "$work/needed" "$work/needed"
  [ -s "$work/needed" ] || fail "ldd listed no libraries"
  local missing extra
  missing="$(comm -23 "$work/needed" "$work/runtime" | tr '\n' ' ')"
  extra="$(comm -13 "$work/needed" "$work/runtime" | tr '\n' ' ')"
  [ -z "$missing" ] || fail "the Containerfile's RUNTIME_PACKAGES lacks: $missing"
  [ -z "$extra" ] || fail "the Containerfile's RUNTIME_PACKAGES has packages ferry-proxy does not use: $extra"
  ok "runtime packages = packages of ldd's libraries: $(tr '\n' ' ' <"$work/needed")"

  while read -r pkg; do
    grep -qw -- "$pkg" "$src/scripts/install-deps.sh" ||
      fail "build package $pkg is not in scripts/install-deps.sh"
  done <"$work/build"
  ok "build packages are all in scripts/install-deps.sh"

  yaml_block "$src/deploy/cloud-init/ferry-proxy.yaml" "- path: /usr/local/sbin/ferry-install" \
    >"$work/ferry-install"
  quoted_list "$work/ferry-install" RUNTIME_PACKAGES >"$work/ci-runtime"
  quoted_list "$work/ferry-install" BUILD_PACKAGES >"$work/ci-build"
  cmp -s "$work/runtime" "$work/ci-runtime" || fail "cloud-init's RUNTIME_PACKAGES differ from the Containerfile's"
  cmp -s "$work/build" "$work/ci-build" || fail "cloud-init's BUILD_PACKAGES differ from the Containerfile's"
  ok "cloud-init installs the Containerfile's package lists"
}

container_configure() {
  local containerfile="$src/deploy/container/Containerfile" flags
  flags="$(grep -m1 'RUN cmake -S /src -B /build' "$containerfile" | grep -o -- '-[DG] *[A-Za-z_]*=*[A-Za-z0-9_]*' | tr '\n' ' ')"
  [[ "$flags" == *"-DBUILD_TESTING=OFF"* ]] || fail "no BUILD_TESTING=OFF configure line in the Containerfile"
  # shellcheck disable=SC2086  # flags are words
  timeout 120 cmake -S "$src" -B "$work/build" $flags >"$work/configure.log" 2>&1 ||
    fail "the Containerfile's configure (cmake $flags) fails:
$(grep -A4 'CMake Error' "$work/configure.log" | head -n 20)"
  ok "cmake $flags configures"
}

cloud_init() {
  local file="$src/deploy/cloud-init/ferry-proxy.yaml"
  [ "$(head -n 1 "$file")" = "#cloud-config" ] || fail "first line is not #cloud-config"
  if command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$file" <<'PY' || fail "not the cloud-config we expect (above)"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
paths = [f["path"] for f in doc["write_files"]]
assert "/etc/systemd/system/ferry-proxy.service" in paths, paths
assert "/usr/local/sbin/ferry-install" in paths, paths
assert doc["runcmd"] == [["/usr/local/sbin/ferry-install"]], doc["runcmd"]
PY
    ok "valid YAML with write_files and runcmd"
  else
    echo "SKIP part: no YAML parser (python3 with PyYAML) to validate the YAML itself"
  fi

  yaml_block "$file" "- path: /etc/systemd/system/ferry-proxy.service" >"$work/unit"
  diff -u "$src/deploy/systemd/ferry-proxy.service" "$work/unit" >"$work/unit.diff" ||
    fail "the unit in cloud-init differs from deploy/systemd/ferry-proxy.service:
$(head -n 30 "$work/unit.diff")"
  ok "embedded unit is deploy/systemd/ferry-proxy.service"

  yaml_block "$file" "- path: /usr/local/sbin/ferry-install" >"$work/ferry-install"
  bash -n "$work/ferry-install" || fail "ferry-install does not parse"
  local ports
  ports="$(FERRY_PROXY_BIN="$bin" bash "$work/ferry-install" --ports)"
  # The issue's table: the whatsapp profile's listeners without accept_proxy.
  [ "$ports" = "80 443 5222 587 7777 " ] || fail "ferry-install would open [$ports]"
  ok "ferry-install opens $ports(never 8080, 8443, 8222)"
}

# A free loopback port: nothing answers on it (the caller retries if the
# bind still loses a race).
free_port() {
  local p tries=0
  p=$((20000 + (RANDOM % 20000)))
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 50 ] || fail "no free loopback port"
    p=$((20000 + (RANDOM % 20000)))
  done
  echo "$p"
}

# Starts ferry-proxy with one upstream (127.0.0.1:1, where nothing listens)
# and the given health_check_interval; sets $stats. Retries on a lost port race.
start_proxy() {
  local interval="$1" attempt listen log pid
  for attempt in 1 2 3 4 5; do
    stats="127.0.0.1:$(free_port)"
    listen="127.0.0.1:$(free_port)"
    cat >"$work/hc.toml" <<EOF
workers = 1
[stats]
listen = "$stats"
[[listener]]
listen = "$listen"
upstream = "u"
[upstream.u]
servers = ["127.0.0.1:1"]
health_check_interval = "$interval"
EOF
    log="$work/proxy-$interval-$attempt.log"
    "$bin" --config "$work/hc.toml" 2>"$log" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 1 100); do  # up to 10 s
      grep -q 'event=started' "$log" && return 0
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    grep -q 'in use' "$log" || fail "ferry-proxy did not start: $(cat "$log")"
  done
  fail "ferry-proxy could not bind free ports in 5 attempts"
}

healthcheck() {
  local hc="$src/deploy/container/healthcheck.sh"
  [ -x "$hc" ] || fail "$hc is not executable (the image copies its mode)"

  # Checks off: the server counts as up, /healthz is 200.
  start_proxy 0s
  "$hc" "$stats" >/dev/null || fail "healthy proxy: ferry-healthcheck $stats failed"
  "$hc" --alive "$stats" >/dev/null || fail "healthy proxy: ferry-healthcheck --alive failed"
  ok "healthy proxy: ready and alive"

  # Checks every second against a closed port: no server up, /healthz 503.
  start_proxy 1s
  for _ in $(seq 1 100); do  # up to 10 s
    "$hc" "$stats" >/dev/null || break
    sleep 0.1
  done
  "$hc" "$stats" >"$work/hc.out" && fail "upstream down: ferry-healthcheck still says ready"
  grep -q 'no server up' "$work/hc.out" || fail "upstream down: reason not passed on: $(cat "$work/hc.out")"
  "$hc" --alive "$stats" >/dev/null || fail "upstream down: --alive must still pass (no restart for an outage)"
  ok "upstream down: not ready ($(cat "$work/hc.out")), still alive"

  # Nothing listening: neither.
  "$hc" 127.0.0.1:1 >/dev/null && fail "closed port: ferry-healthcheck passed"
  "$hc" --alive 127.0.0.1:1 >/dev/null && fail "closed port: ferry-healthcheck --alive passed"
  ok "no stats endpoint: neither ready nor alive"
}

case "$part" in
  helm_config | container_libs | container_configure | cloud_init | healthcheck) "$part" ;;
  *) fail "unknown part $part" ;;
esac
