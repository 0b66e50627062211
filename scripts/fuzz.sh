#!/usr/bin/env bash
# Runs one fuzz target of tests/fuzz with libFuzzer (tests/fuzz/README.md).
#
#   bash scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#   bash scripts/fuzz.sh --merge TARGET     minimise what the runs found into
#                                           tests/fuzz/corpus/TARGET (to commit)
#   bash scripts/fuzz.sh --list             the targets
#
# Builds build/fuzz with Debian's clang (libFuzzer, ASan, UBSan; everything
# compiled with -fsanitize=fuzzer-no-link so the library code is covered),
# then runs build/fuzz/tests/fuzz_TARGET at nice 19 for SECONDS or
# FUZZ_RUNS executions (default 10,000,000), whichever comes first, on a
# working corpus build/fuzz/corpus/TARGET seeded from the committed one.
# A crash, leak, timeout (FUZZ_TIMEOUT s per input, default 10) or an input
# over 2 GiB of memory stops the run with the input in
# build/fuzz/artifacts/TARGET/ and exit status non-zero; the last lines of the
# log say how many executions ran. One fuzzer at a time on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build/fuzz

targets() { sed -n 's/^set(DP_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz.cmake; }
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage
if [ "$1" = "--list" ]; then targets | tr ' ' '\n'; exit 0; fi
merge=0
if [ "$1" = "--merge" ]; then merge=1; shift; fi
[ $# -ge 1 ] || usage
target=$1; shift
targets | tr ' ' '\n' | grep -qx "$target" || { echo "fuzz.sh: no target '$target' (--list)" >&2; exit 2; }
if [ $merge = 0 ]; then
  [ $# -ge 1 ] || usage
  seconds=$1; shift
  [[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a number" >&2; exit 2; }
fi
command -v clang >/dev/null || { echo "fuzz.sh: clang is missing; run bash scripts/setup.sh" >&2; exit 1; }

cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link -Wno-unknown-warning-option" \
  -DDP_SANITIZE=address,undefined -DDP_FUZZ=ON -DDP_WERROR=OFF >/dev/null
if ! nice -n 19 cmake --build "$build" -j "${DP_JOBS:-2}" --target "fuzz_$target" \
    -- --no-print-directory >"$build/build-$target.log" 2>&1; then
  tail -30 "$build/build-$target.log" >&2
  echo "fuzz.sh: build of fuzz_$target failed (log: $build/build-$target.log)" >&2
  exit 1
fi
bin=$build/tests/fuzz_$target
seeds=$root/tests/fuzz/corpus/$target
work=$build/corpus/$target
mkdir -p "$work" "$build/artifacts/$target"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=0"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

dict=()
case $target in
  emu_sql) dict=(-dict="$root/tests/fuzz/dict/sql.dict") ;;
  emu_avro) dict=(-dict="$root/tests/fuzz/dict/avro.dict") ;;
  *) dict=(-dict="$root/tests/fuzz/dict/json.dict") ;;
esac

if [ $merge = 1 ]; then
  # Minimise the committed corpus plus what the runs found; keep the seed-*
  # files (the readable starting points) and the finding-* files (inputs of
  # fixed findings, named for what they broke), and add the inputs that bring
  # new coverage under libFuzzer's content-hash names.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  nice -n 19 "$bin" -merge=1 -rss_limit_mb=2048 "$tmp" "$seeds" "$work" 2>&1 | tail -3
  find "$seeds" -maxdepth 1 -type f ! -name 'seed-*' ! -name 'finding-*' -delete
  declare -A seen=()
  for f in "$seeds"/seed-* "$seeds"/finding-*; do
    [ -f "$f" ] && seen[$(sha1sum <"$f" | cut -d' ' -f1)]=1
  done
  kept=0
  for f in "$tmp"/*; do
    [ -n "${seen[$(basename "$f")]:-}" ] && continue
    cp "$f" "$seeds/"; kept=$((kept + 1))
  done
  echo "fuzz.sh: $target: corpus = $(ls "$seeds" | wc -l) files ($kept found by fuzzing), $(du -sh "$seeds" | cut -f1)"
  exit 0
fi

echo "fuzz.sh: $target for ${seconds} s or ${FUZZ_RUNS:-10000000} executions, log in $build/fuzz-$target.log"
set +e
nice -n 19 "$bin" -max_total_time="$seconds" -runs="${FUZZ_RUNS:-10000000}" \
  -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$build/artifacts/$target/" "${dict[@]}" "$@" "$work" "$seeds" \
  >"$build/fuzz-$target.log" 2>&1
rc=$?
set -e
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done|#[0-9]+ *DONE)' "$build/fuzz-$target.log" || true
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: $target: FINDING (exit $rc); input in $build/artifacts/$target/:" >&2
  grep -E 'ERROR|SUMMARY|Test unit written' "$build/fuzz-$target.log" | head -5 >&2
fi
exit $rc
