#!/usr/bin/env bash
# Compares the worker's poll-thread path with kcat draining the same topic
# (the goal: one worker on one core at about 60% of kcat's rate).
#   bash bench/worker_speed.sh [EVENTS (1000000)] [PARTITIONS (128)]
# Builds a release tree in build/bench, starts the embedded Kafka, produces
# EVENTS keyed events, checks the broker kept them all, then times
# kcat -C -e, poll_bench --no-work and poll_bench (decode+route+buffer).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}; parts=${2:-128}
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DDP_BUILD_TESTS=OFF >/dev/null
cmake --build build/bench -j2 -- --no-print-directory >/dev/null
b=build/bench
work=$(mktemp -d); trap 'kill $kp 2>/dev/null; rm -rf "$work"' EXIT
$b/tools/kafka-mock/deltaport-kafka-mock --brokers 1 --topic events:$parts \
  --bootstrap-file "$work/bs" --control "$work/ctl" >/dev/null 2>&1 &
kp=$!
for _ in $(seq 50); do [ -s "$work/bs" ] && break; sleep 0.1; done
bs=$(cat "$work/bs")
$b/src/deltaport produce --bootstrap "$bs" --topic events --count "$n" --seed 3
marks=$($b/tools/kafka-mock/deltaport-kafka-mock ctl "$work/ctl" watermarks events)
low=0; for pm in ${marks#OK }; do l=${pm#*=}; low=$((low + ${l%%:*})); done
[ "$low" -eq 0 ] || { echo "the broker dropped $low records: use more partitions" >&2; exit 1; }
s=$(date +%s.%N)
kcat -C -b "$bs" -t events -e -q -o beginning >/dev/null
e=$(date +%s.%N)
awk -v n="$n" -v s="$s" -v e="$e" 'BEGIN { printf "kcat: %d messages in %.2f s = %.0f events/s (wall, incl. start-up)\n", n, e - s, n / (e - s) }'
taskset -c 0 $b/src/poll_bench "$bs" events schemas "$n" --no-work
taskset -c 0 $b/src/poll_bench "$bs" events schemas "$n"
