#!/usr/bin/env bash
# Installs every Debian package Ferry needs to build, run, test and benchmark.
# Idempotent: a second run installs nothing. The single source of truth for
# what a fresh machine (or CI) must have.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # libraries (why each one is here: README, "Dependencies")
  libssl-dev libsodium-dev liburing-dev libsqlite3-dev libprotobuf-dev protobuf-compiler
  libtomlplusplus-dev libcli11-dev libfmt-dev libqrencode-dev
  libgtest-dev libgmock-dev libbenchmark-dev python3-cryptography
  # real peers and tools used by the tests and benchmarks
  haproxy openssl curl iproute2 tshark iperf3 procps psmisc systemd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is right.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
