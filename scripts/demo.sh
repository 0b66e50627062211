#!/usr/bin/env bash
# The README's demo command: embedded Kafka (librdkafka's mock cluster) + the
# local Databricks emulator + a pool of 3 deltaport workers in one consumer
# group. Produces 200,000 events (0.1% of them invalid), checks the broker
# dropped none, runs the pool until everything is loaded, and ends with a
# table of what landed where. Leaves nothing running.
#
# Environment: DEMO_EVENTS (200000), DEMO_WORKERS (3), DEMO_PARTITIONS (32),
# DEMO_TIMEOUT seconds (600), DEMO_KEEP=1 keeps the work directory,
# DEMO_SINK (warehouse | zerobus): with zerobus the event rows go through the
# emulator's Zerobus Ingest endpoint (rows visible DEMO_VISIBILITY_MS, 2000,
# after their acknowledgement), the tables read are the views over the raw
# tables, and the raw duplicates are counted.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
events=${DEMO_EVENTS:-200000}
nworkers=${DEMO_WORKERS:-3}
partitions=${DEMO_PARTITIONS:-32}
timeout_s=${DEMO_TIMEOUT:-600}
sink=${DEMO_SINK:-warehouse}
visibility_ms=${DEMO_VISIBILITY_MS:-2000}
case "$sink" in
  warehouse | zerobus) ;;
  *) echo "demo: DEMO_SINK must be warehouse or zerobus, not '$sink'" >&2; exit 2 ;;
esac

bash scripts/setup.sh
echo "demo: building (release, build/demo)"
cmake -S "$root" -B build/demo -DCMAKE_BUILD_TYPE=Release -DDP_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo -j "$(nproc)" -- --no-print-directory >/dev/null
bin=$root/build/demo

work=$(mktemp -d "${TMPDIR:-/tmp}/deltaport-demo.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "demo: work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# 1. Embedded Kafka and the Databricks emulator, both on free loopback ports.
"$bin/tools/kafka-mock/deltaport-kafka-mock" --brokers 3 --topic "events:$partitions" \
  --bootstrap-file "$work/bootstrap" --control "$work/kafka.sock" >/dev/null 2>"$work/kafka.log" &
pids+=($!)
"$bin/tools/dbx-emulator/deltaport-dbx-emulator" --port 0 --state-dir "$work/databricks" \
  --client deltaport-demo:demo-secret --request-log "$work/requests.log" \
  --zerobus-visibility-ms "$visibility_ms" >"$work/emulator.out" 2>"$work/emulator.log" &
pids+=($!)
for _ in $(seq 100); do
  [ -s "$work/bootstrap" ] && grep -q '^LISTENING ' "$work/emulator.out" && break
  sleep 0.1
done
bootstrap=$(cat "$work/bootstrap")
host=$(sed -n 's/^LISTENING //p' "$work/emulator.out")
[ -n "$bootstrap" ] && [ -n "$host" ] || { echo "demo: Kafka or the emulator did not start" >&2; exit 1; }
echo "demo: Kafka at $bootstrap, Databricks emulator at $host"

export DELTAPORT_KAFKA_BOOTSTRAP_SERVERS=$bootstrap
export DELTAPORT_DATABRICKS_HOST=$host
export DELTAPORT_DATABRICKS_CLIENT_SECRET=demo-secret
export DELTAPORT_SINK=$sink
if [ "$sink" = zerobus ]; then
  # The emulator serves Zerobus Ingest on its own port too (docs/EMULATOR.md).
  export DELTAPORT_DATABRICKS_ZEROBUS_ENDPOINT=$host
  export DELTAPORT_DATABRICKS_WORKSPACE_ID=1234567890123456
  echo "demo: sink zerobus: event rows through Zerobus Ingest, visible ${visibility_ms} ms after their acknowledgement"
fi
config=$root/config/demo.json
query() { "$bin/src/deltaport" query --config "$config" --tsv "$1" | tail -n +2; }

# 2. Produce, then check that the broker kept every record.
"$bin/src/deltaport" produce --topic events --count "$events" --invalid-every 1000 --seed 7
marks=$("$bin/tools/kafka-mock/deltaport-kafka-mock" ctl "$work/kafka.sock" watermarks events)
produced=0; dropped=0
for pm in ${marks#OK }; do
  lo=${pm#*=}; lo=${lo%%:*}; hi=${pm##*:}
  produced=$((produced + hi)); dropped=$((dropped + lo))
done
echo "demo: broker holds $produced records in $partitions partitions; low watermarks sum to $dropped"
[ "$dropped" -eq 0 ] || { echo "demo: the mock broker dropped $dropped records (5 MiB cap)" >&2; exit 1; }

# 3. The pool.
for i in $(seq "$nworkers"); do
  DELTAPORT_WORKER_ID=demo-worker-$i "$bin/src/deltaport" run --config "$config" \
    2>"$work/worker-$i.log" &
  pids+=($!)
done
echo "demo: $nworkers workers started in consumer group deltaport-demo"
start=$(date +%s); t0_ms=$(date +%s%3N); loaded=0
while :; do
  sleep 2
  loaded=$(query "SELECT COALESCE(SUM(rows), 0) FROM sync_runs WHERE status = 'LOADED'" 2>/dev/null || echo 0)
  elapsed=$(( $(date +%s) - start ))
  printf 'demo: %6d s  loaded %7s / %d\n' "$elapsed" "${loaded:-0}" "$produced"
  [ "${loaded:-0}" -ge "$produced" ] && break
  if [ "$elapsed" -ge "$timeout_s" ]; then
    echo "demo: timed out after $timeout_s s; worker logs in $work" >&2; DEMO_KEEP=1; exit 1
  fi
done
for p in "${pids[@]:2}"; do kill "$p" 2>/dev/null || true; done
for p in "${pids[@]:2}"; do wait "$p" 2>/dev/null || true; done
pids=("${pids[@]:0:2}")
load_ms=$(( $(date +%s%3N) - t0_ms ))

# 3b. Zerobus acknowledges durability before the rows are in their tables:
# wait until the views show every loaded row.
tables=$(query "SHOW TABLES" | cut -f2 | grep -E '^(evt_|event_errors$)' | sort)
if [ "$sink" = zerobus ]; then
  while :; do
    visible=0
    for t in $tables; do visible=$((visible + $(query "SELECT COUNT(*) FROM $t"))); done
    [ "$visible" -ge "$produced" ] && break
    if [ $(( $(date +%s) - start )) -ge "$timeout_s" ]; then
      echo "demo: timed out waiting for the rows to become visible ($visible of $produced)" >&2
      DEMO_KEEP=1; exit 1
    fi
    echo "demo: waiting for Zerobus rows to become visible: $visible / $produced"
    sleep 1
  done
fi

# 4. What landed where, and the exactly-once check over every row's lineage.
total=0; rejected=0
: >"$work/lineage"
printf '\n%-28s %10s\n' "table" "rows"
printf '%-28s %10s\n' "----------------------------" "----------"
for t in $tables; do
  n=$(query "SELECT COUNT(*) FROM $t")
  printf '%-28s %10d\n' "$t" "$n"
  query "SELECT _kafka_topic, _kafka_partition, _kafka_offset FROM $t" >>"$work/lineage"
  if [ "$t" = event_errors ]; then rejected=$n; else total=$((total + n)); fi
done
unique=$(sort -u "$work/lineage" | wc -l)
rows=$(wc -l <"$work/lineage")
printf '%-28s %10s\n' "----------------------------" "----------"
printf '%-28s %10d\n' "produced" "$produced" "loaded" "$total" "rejected (event_errors)" "$rejected"
printf '%-28s %10d\n' "distinct (partition, offset)" "$unique"
if [ "$sink" = zerobus ]; then
  raw=0
  for t in $tables; do
    [ "$t" = event_errors ] || raw=$((raw + $(query "SELECT COUNT(*) FROM raw_$t")))
  done
  # Each loaded flush logs its inserts ("..., N Zerobus inserts, ...").
  inserts=$(cat "$work"/worker-*.log | grep -o '[0-9]* Zerobus inserts' | awk '{s += $1} END {print s + 0}')
  printf '%-28s %10d\n' "raw rows (before the views)" "$raw" "raw duplicates" "$((raw - total))"
  printf '%-28s %10d\n' "Zerobus inserts" "${inserts:-0}"
  echo "demo: $((inserts * 1000 / (load_ms > 0 ? load_ms : 1))) Zerobus inserts/s over the $((load_ms / 1000)) s the pool ran"
fi
if [ $((total + rejected)) -eq "$produced" ] && [ "$unique" -eq "$rows" ] && [ "$rows" -eq "$produced" ]; then
  echo "demo: OK: every produced event is in exactly one table (loaded + rejected = produced, no duplicates)"
else
  echo "demo: MISMATCH: loaded + rejected != produced, or duplicates found (logs in $work)" >&2
  DEMO_KEEP=1; exit 1
fi
