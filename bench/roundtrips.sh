#!/usr/bin/env bash
# Databricks round trips of one worker, against the emulator made as slow as a
# warm SQL warehouse: every statement takes STMT_MS (500), every Files API call
# FILES_MS (100), a COPY INTO COPY_MS_PER_MIB (50) more per MiB it loads.
#
#   bash bench/roundtrips.sh [PARTITIONS...]        (default: 16 128 512)
#
# For each partition count: an embedded Kafka topic with EVENTS (100000) events
# of the generator's dozen names already in it, one `deltaport run` worker
# (routing per_event: every name its own table; flush.max_events 1000000,
# max_bytes 128 MiB, max_age_ms 5000, so one flush holds everything), then a
# second batch of EVENTS for a flush whose tables already exist. It counts,
# with the emulator's /_emulator/stats:
#   start-up   statements and Files calls from the process start until every
#              partition is claimed and the worker is ready to route;
#   flush 1    the first flush (it creates its tables and reads their ids);
#   flush 2    a flush in steady state (deletes of retired files apart);
# and times start -> first commit and, for flush 2, cut -> commit against the
# slowest single table's own load (upload + COPY INTO, from sync_runs).
# Targets (issue 10): start-up the same at every partition count; steady
# flush <= tables + 3 statements and <= tables + 3 Files calls; cut -> commit
# <= 3x the slowest table; start -> first commit <= 20 s at 128 partitions.
# LANES (4, the default of databricks.max_concurrent_statements) sets the
# worker's concurrency. Prints a table; RESULTS=FILE also writes it as JSON
# lines. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
events=${EVENTS:-100000}
stmt_ms=${STMT_MS:-500}
files_ms=${FILES_MS:-100}
copy_ms=${COPY_MS_PER_MIB:-50}
lanes=${LANES:-4}
parts_list=("$@")
[ ${#parts_list[@]} -gt 0 ] || parts_list=(16 128 512)

bash scripts/setup.sh >/dev/null
cmake -S "$root" -B build/bench -DCMAKE_BUILD_TYPE=Release -DDP_BUILD_TESTS=OFF >/dev/null
cmake --build build/bench -j "$(nproc)" -- --no-print-directory >/dev/null
bin=$root/build/bench
dp=$bin/src/deltaport

work=$(mktemp -d "${TMPDIR:-/tmp}/deltaport-roundtrips.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] && echo "work directory kept: $work" || rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
wait_for() { # wait_for FILE PATTERN SECONDS
  local i
  for i in $(seq $(( $3 * 10 ))); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "roundtrips: timed out waiting for '$2' in $1" >&2
  return 1
}
# stats FIELD... from the emulator's counters (jq-free: python3 from Debian)
stats() {
  curl -s "$host/_emulator/stats$1" -X "$2" | /usr/bin/python3 -c '
import json,sys
s=json.load(sys.stdin); k=s["statements"]["by_kind"]; f=s["files"]
print(s["statements"]["total"], f["total"]-f.get("delete",0), f.get("delete",0),
      s["oauth_tokens"], " ".join("%s=%d"%(x,k[x]) for x in sorted(k)))'
}

printf '%-10s %-22s %-26s %-26s %-14s %-22s\n' partitions "start-up stmts/files" \
  "flush 1 stmts/files(tables)" "flush 2 stmts/files(tables)" "start->commit" \
  "flush 2 load / slowest"
for parts in "${parts_list[@]}"; do
  dir=$work/p$parts
  mkdir -p "$dir"
  "$bin/tools/kafka-mock/deltaport-kafka-mock" --brokers 1 --topic "events:$parts" \
    --bootstrap-file "$dir/bootstrap" >/dev/null 2>"$dir/kafka.log" &
  pids+=($!)
  "$bin/tools/dbx-emulator/deltaport-dbx-emulator" --port 0 --state-dir "$dir/databricks" \
    --client bench:bench-secret --statement-latency-ms "$stmt_ms" --files-latency-ms "$files_ms" \
    --copy-ms-per-mib "$copy_ms" --request-log "$dir/requests.log" \
    >"$dir/emulator.out" 2>"$dir/emulator.log" &
  pids+=($!)
  for _ in $(seq 100); do
    [ -s "$dir/bootstrap" ] && grep -q '^LISTENING ' "$dir/emulator.out" && break
    sleep 0.1
  done
  bootstrap=$(cat "$dir/bootstrap")
  host=$(sed -n 's/^LISTENING //p' "$dir/emulator.out")
  cat >"$dir/worker.json" <<EOF
{"kafka": {"bootstrap_servers": "$bootstrap", "topics": ["events"], "group_id": "bench",
   "properties": {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                  "fetch.wait.max.ms": 10}},
 "schemas": {"dir": "$root/schemas"},
 "routing": {"mode": "per_event", "stats_refresh_s": 3600},
 "flush": {"max_events": 1000000, "max_bytes": "128MiB", "max_age_ms": 5000,
           "memory_budget_bytes": "512MiB"},
 "databricks": {"host": "$host", "allow_insecure_http": true, "warehouse_id": "emulator-wh",
   "catalog": "main", "schema": "bench", "volume": "staging", "create_schema": true,
   "auth": "oauth", "client_id": "bench", "statement_wait_timeout_s": 10,
   "max_concurrent_statements": $lanes},
 "http": {"listen": "127.0.0.1:0"},
 "log": {"level": "info"}}
EOF
  export DELTAPORT_DATABRICKS_CLIENT_SECRET=bench-secret
  "$dp" produce --bootstrap "$bootstrap" --topic events --count "$events" --seed 3 --quiet
  stats /reset POST >/dev/null
  t0=$(now_ms)
  DELTAPORT_WORKER_ID=bench-1 "$dp" run --config "$dir/worker.json" 2>"$dir/worker.log" &
  wpid=$!
  pids+=($wpid)
  wait_for "$dir/worker.log" "claimed $parts partition(s)" 300
  wait_for "$dir/worker.log" "routing ready" 60
  read -r s0 f0 _ _ k0 < <(stats /reset POST)
  wait_for "$dir/worker.log" "loaded and committed" 600
  t1=$(now_ms)
  read -r s1 f1 d1 _ k1 < <(stats /reset POST)
  tables1=$(grep -c 'rows staged' "$dir/worker.log" || true)
  # Flush 2: the tables exist, their ids are known.
  "$dp" produce --bootstrap "$bootstrap" --topic events --count "$events" --seed 4 --quiet
  wait_for "$dir/worker.log" "flush 2 loaded and committed" 600
  read -r s2 f2 d2 _ k2 < <(stats /reset POST)
  tables2=$(( $(grep -c 'rows staged' "$dir/worker.log" || true) - tables1 ))
  q() { "$dp" query --config "$dir/worker.json" --tsv "$1" 2>/dev/null | tail -n +2; }
  key2=$(grep -o 'flush [0-9a-f]* loaded:' "$dir/worker.log" | tail -1 | cut -d' ' -f2)
  cut2=$(grep '"flush 2 cut' "$dir/worker.log" | sed 's/.*"ts":"\([^"]*\)".*/\1/')
  com2=$(grep '"flush 2 loaded and committed' "$dir/worker.log" | sed 's/.*"ts":"\([^"]*\)".*/\1/')
  load2=$(( $(date -d "$com2" +%s%3N) - $(date -d "$cut2" +%s%3N) ))
  slow2=$(q "SELECT MAX(load_ms) FROM sync_runs WHERE kind = 'file' AND run_key LIKE '${key2}%'")
  kill -TERM $wpid; wait $wpid 2>/dev/null || true
  printf '%-10s %-22s %-26s %-26s %-14s %-22s\n' "$parts" "$s0 / $f0" \
    "$s1 / $f1 ($tables1)" "$s2 / $f2 ($tables2)" "$(( (t1 - t0) ))ms" \
    "${load2}ms / ${slow2}ms"
  echo "           start-up: $k0"
  echo "           flush 1:  $k1; deletes $d1"
  echo "           flush 2:  $k2; deletes $d2"
  if [ -n "${RESULTS:-}" ]; then
    printf '{"partitions":%d,"startup_statements":%d,"startup_files":%d,"flush1_statements":%d,"flush1_files":%d,"flush1_tables":%d,"flush2_statements":%d,"flush2_files":%d,"flush2_tables":%d,"flush2_deletes":%d,"start_to_first_commit_ms":%d,"flush2_load_ms":%d,"slowest_table_ms":%d}\n' \
      "$parts" "$s0" "$f0" "$s1" "$f1" "$tables1" "$s2" "$f2" "$tables2" "$d2" $((t1 - t0)) \
      "$load2" "${slow2:-0}" >>"$RESULTS"
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
done
