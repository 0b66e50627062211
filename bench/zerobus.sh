#!/usr/bin/env bash
# Zerobus inserts per second of the client (bench/zerobus_bench.c) against the
# emulator, with the insert answered after LATENCY_MS (0 and 50 by default)
# and 1 or 8 inserts in flight. Not a test: the emulator writes every insert
# into SQLite under one lock, so at 0 ms this measures the two together; at
# 50 ms it shows what inserts in flight buy against a remote service.
#
#   bash bench/zerobus.sh [INSERTS (400)] [ROWS_PER_INSERT (1000)]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
inserts=${1:-400}
rows=${2:-1000}
bash scripts/setup.sh >/dev/null
cmake -S "$root" -B build/bench -DCMAKE_BUILD_TYPE=Release -DDP_BUILD_TESTS=OFF >/dev/null
cmake --build build/bench -j "$(nproc)" --target deltaport-dbx-emulator zerobus_bench \
  -- --no-print-directory >/dev/null
bin=$root/build/bench
work=$(mktemp -d "${TMPDIR:-/tmp}/deltaport-zbbench.XXXXXX")
emu=
trap '[ -z "$emu" ] || kill "$emu" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for latency in ${LATENCY_MS:-0 50}; do
  for inflight in 1 8; do
    "$bin/tools/dbx-emulator/deltaport-dbx-emulator" --client bench:secret \
      --zerobus-latency-ms "$latency" >"$work/emu.out" 2>"$work/emu.log" &
    emu=$!
    for _ in $(seq 100); do grep -q '^LISTENING ' "$work/emu.out" && break; sleep 0.1; done
    url=$(sed -n 's/^LISTENING //p' "$work/emu.out")
    n=$inserts
    [ "$inflight" -gt 1 ] || [ "$latency" -eq 0 ] || n=$((inserts / 8))
    printf 'latency %3d ms: ' "$latency"
    "$bin/src/zerobus_bench" "$url" bench secret "$n" "$rows" "$inflight"
    kill "$emu"; wait "$emu" 2>/dev/null || true; emu=
  done
done
