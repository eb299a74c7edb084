#!/usr/bin/env bash
# run_interop.sh DRIVER WORKDIR [PYTHON]: ferry_crypto (Alice) against bob.py, an
# independent Python implementation of docs/protocol.md Part 3 (Bob).
set -euo pipefail
driver=$1 work=$2 python=${3:-python3}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
"$driver" start "$work"
"$python" "$here/bob.py" "$work/alice_out.txt" > "$work/bob_out.txt"
grep -qx "bob got: b'hello from alice, message one'" "$work/bob_out.txt"
grep -qx "bob got: b'second'" "$work/bob_out.txt"
replies=$(sed -n 3p "$work/bob_out.txt")
"$driver" finish "$work" $replies > "$work/alice_got.txt"
grep -qx "alice got: reply one from python bob" "$work/alice_got.txt"
grep -qx "alice got: reply two" "$work/alice_got.txt"
# Both implementations compute the same safety number.
[ "$(grep '^safety' "$work/bob_out.txt")" = "$(grep '^safety' "$work/alice_got.txt")" ]
echo "interop ok"
