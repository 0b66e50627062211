#!/usr/bin/env bash
# Memory under hostile input (issue 15 item 2): one worker is fed
# HOSTILE_COUNT (1,000,000) messages that must all be rejected
# (bench/hostile_gen.py: 24 kinds of broken framing, Avro and JSON, unique bad
# event names, oversized messages), in chunks of HOSTILE_CHUNK (20,000). After
# each chunk the script waits until the worker has consumed it and committed
# past it (the partitions keep moving: committed lag 0), then samples the
# worker's RSS (/proc/PID/status VmRSS) and /healthz.
#
#   bash bench/hostile.sh            release build in build/bench, 1,000,000 messages
#   HOSTILE_COUNT=20000 HOSTILE_TARGETS=0 HOSTILE_BIN=build/asan bash bench/hostile.sh
#
# Reports the RSS growth from the first samples at or past 10% of the messages
# (100,000 of 1,000,000) to the last ones (medians of 5 samples each). Fails when a chunk is not consumed and
# committed within HOSTILE_STALL_S (120 s), when /healthz is ever not 200,
# when a message is not rejected (deltaport_events_rejected_total must equal
# the count and event_errors must hold every one), and, with HOSTILE_TARGETS=1
# (default), when the growth is 8 MiB or more. Samples go to
# $HOSTILE_OUT (default build/hostile-samples.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
count=${HOSTILE_COUNT:-1000000}
chunk=${HOSTILE_CHUNK:-20000}
parts=${HOSTILE_PARTITIONS:-32}
targets=${HOSTILE_TARGETS:-1}
stall=${HOSTILE_STALL_S:-120}
bin=${HOSTILE_BIN:-}
out=${HOSTILE_OUT:-$root/build/hostile-samples.csv}
limit_kib=$((8 * 1024))

if [ -z "$bin" ]; then
  bin=$root/build/bench
  cmake -S . -B "$bin" -DCMAKE_BUILD_TYPE=Release -DDP_BUILD_TESTS=OFF >/dev/null
  cmake --build "$bin" -j "${DP_JOBS:-2}" -- --no-print-directory >/dev/null
fi
bin=$(cd "$bin" && pwd)
dp=$bin/src/deltaport
work=$(mktemp -d "${TMPDIR:-/tmp}/dp-hostile-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${HOSTILE_KEEP:-0}" = 1 ]; then echo "hostile: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "hostile: FAIL: $*" >&2; echo "hostile: worker log: $(tail -5 "$work/worker.log" 2>/dev/null)" >&2; exit 1; }

"$bin/tools/kafka-mock/deltaport-kafka-mock" --brokers 1 --topic "hostile:$parts" \
  --bootstrap-file "$work/bs" --control "$work/ctl" >/dev/null 2>"$work/kafka.log" &
pids+=($!)
"$bin/tools/dbx-emulator/deltaport-dbx-emulator" --client hostile-sp:hostile-secret \
  --state-dir "$work/emu" >"$work/emu.out" 2>"$work/emu.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/bs" ] && grep -q LISTENING "$work/emu.out" && break; sleep 0.1; done
bs=$(cat "$work/bs")
emu=$(sed -n 's/^LISTENING //p' "$work/emu.out")
[ -n "$bs" ] && [ -n "$emu" ] || fail "the embedded Kafka or the emulator did not start"

cat >"$work/worker.json" <<JSON
{"kafka": {"bootstrap_servers": "$bs", "topics": ["hostile"], "group_id": "hostile-bench",
  "properties": {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                 "fetch.wait.max.ms": 10, "reconnect.backoff.max.ms": 500}},
 "schemas": {"dir": "$root/schemas"},
 "flush": {"max_events": 10000, "max_age_ms": 1000},
 "databricks": {"host": "$emu", "allow_insecure_http": true, "warehouse_id": "emulator-wh",
  "catalog": "main", "schema": "hostile", "volume": "staging", "create_schema": true,
  "auth": "oauth", "client_id": "hostile-sp", "statement_wait_timeout_s": 10},
 "http": {"listen": "127.0.0.1:0"},
 "log": {"level": "info"}, "worker": {"shutdown_timeout_ms": 20000}}
JSON
export DELTAPORT_DATABRICKS_CLIENT_SECRET=hostile-secret DELTAPORT_WORKER_ID=hostile-worker
"$dp" run --config "$work/worker.json" 2>"$work/worker.log" &
wpid=$!
pids+=($wpid)
port=""
for _ in $(seq 200); do
  port=$(sed -n 's/.*readyz on 127.0.0.1:0 (port \([0-9]*\)).*/\1/p' "$work/worker.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the worker did not serve its HTTP port"

metric() {  # metric NAME: the sum of every sample of NAME
  curl -s "http://127.0.0.1:$port/metrics" |
    awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}
lag_open() {  # partitions whose committed lag is not known to be 0 (missing ones count)
  curl -s "http://127.0.0.1:$port/metrics" |
    awk -v parts="$parts" '$1 ~ /^deltaport_kafka_consumer_lag[{]/ { n++; if ($NF != 0) bad++ }
      END { print (parts - n) + bad }'
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$wpid/status"; }

echo "elapsed_s,produced,consumed,rejected,partitions_lagging,rss_kib,healthz" >"$out"
t0=$(date +%s)
base_rss=""; base_at=0; peak=0; bad_health=0
warm=$((count / 10))
for ((start = 0; start < count; start += chunk)); do
  n=$((count - start < chunk ? count - start : chunk))
  /usr/bin/python3 "$root/bench/hostile_gen.py" --bootstrap "$bs" --topic hostile \
    --partitions "$parts" --start "$start" --count "$n" || fail "producing failed"
  produced=$((start + n))
  deadline=$(( $(date +%s) + stall ))
  while :; do
    kill -0 "$wpid" 2>/dev/null || fail "the worker exited"
    consumed=$(metric deltaport_kafka_messages_consumed_total)
    lag=$(lag_open)
    [ "$consumed" -ge "$produced" ] && [ "$lag" -eq 0 ] && break
    [ "$(date +%s)" -lt "$deadline" ] ||
      fail "chunk ending at $produced not consumed and committed within ${stall}s (consumed $consumed, $lag partition(s) with committed lag)"
    sleep 0.2
  done
  health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
  [ "$health" = 200 ] || bad_health=$((bad_health + 1))
  rss=$(rss_kib)
  [ "$rss" -gt "$peak" ] && peak=$rss
  rejected=$(metric deltaport_events_rejected_total)
  echo "$(( $(date +%s) - t0 )),$produced,$consumed,$rejected,$lag,$rss,$health" >>"$out"
  if [ -z "$base_rss" ] && [ "$produced" -ge "$warm" ]; then base_rss=$rss; base_at=$produced; fi
  if (( produced % 100000 == 0 || produced == count )); then
    echo "hostile: $produced rejected-and-committed, RSS $((rss / 1024)) MiB, /healthz $health"
  fi
done

rejected=$(metric deltaport_events_rejected_total)
rss=$(rss_kib)
# Growth: the median of the last 5 samples minus the median of the 5 samples
# from the first one at or past 10% of the messages (one sample moves by a few
# MiB with what the flush and librdkafka's queue hold at that moment).
growth=$(awk -F, -v warm="$warm" 'NR > 1 { r[++n] = $6; if (!b && $2 >= warm) b = n }
  function med(lo, hi,   k, i, j, t, v) { k = 0; for (i = lo; i <= hi; i++) v[++k] = r[i]
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return v[int((k + 1) / 2)] }
  END { hi = b + 4 < n ? b + 4 : n; lo = n - 4 > b ? n - 4 : b; print med(lo, n) - med(b, hi) }' "$out")
kill -TERM "$wpid"
wait "$wpid" || fail "the worker did not exit cleanly after SIGTERM"
pids=("${pids[@]:0:2}")
errors=$("$dp" query --config "$work/worker.json" --tsv \
  "SELECT COUNT(*) FROM main.hostile.event_errors" 2>/dev/null | tail -1)
tables=$("$dp" query --config "$work/worker.json" --tsv "SHOW TABLES IN main.hostile" 2>/dev/null |
  awk -F'\t' '{ for (i = 1; i <= NF; i++) if ($i ~ /^evt_/) print $i }' | tr '\n' ' ')

echo "hostile: $count messages in $(( $(date +%s) - t0 )) s; rejected $rejected; event_errors rows $errors"
echo "hostile: RSS $((base_rss / 1024)) MiB after $base_at, $((rss / 1024)) MiB at the end, peak $((peak / 1024)) MiB; growth $growth KiB (median of the last 5 samples minus median of the 5 from $base_at); /healthz not 200 in $bad_health sample(s); samples in $out"
[ "$rejected" -eq "$count" ] || fail "expected $count rejections, got $rejected"
[ "$errors" = "$count" ] || fail "expected $count event_errors rows, got '$errors'"
[ -z "$tables" ] || fail "a hostile message reached an event table: $tables"
[ "$bad_health" -eq 0 ] || fail "/healthz was not 200 in $bad_health sample(s)"
if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/worker.log" "$work/emu.log" \
     "$work/kafka.log" 2>/dev/null; then
  fail "a sanitizer report in the logs above"
fi
if [ "$targets" = 1 ] && [ "$growth" -ge "$limit_kib" ]; then
  fail "RSS grew by $growth KiB after the first $base_at messages (target: under $limit_kib KiB)"
fi
echo "hostile: OK"
