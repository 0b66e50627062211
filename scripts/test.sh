#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test.
#
#   1. scripts/setup.sh                 (apt-get, only what is missing)
#   2. build/asan: DP_SANITIZE=address,undefined, DP_WERROR=ON; every ctest test
#      (labels unit and integration), ctest -j2
#   3. build/valgrind: no sanitizers; the unit-labelled tests under valgrind
#   (the fuzz corpora replay in step 2: label fuzz, tests/fuzz/README.md)
# It prints the time per label, ctest's summary of step 2, and last the list
# of skipped tests with their reasons. A skip is never a pass: under CI=true
# it fails unless the test is on tests/skip-allowlist.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${DP_JOBS:-2}

bash scripts/setup.sh

build() {   # build DIR cmake-args...
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDP_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" -- --no-print-directory >/dev/null || cmake --build "$dir" -j 1
}

t0=$(date +%s)
build build/valgrind -DDP_VALGRIND=ON
build build/asan -DDP_SANITIZE=address,undefined
echo "test.sh: builds took $(( $(date +%s) - t0 )) s"

status=0
# dp_test_skip() appends "binary case: reason" here (tests/support/dp_test.h)
export DP_TEST_SKIP_LOG=$root/build/skipped-tests.txt
rm -f "$DP_TEST_SKIP_LOG"
echo "== unit tests under valgrind =="
(cd build/valgrind && ctest -j "$jobs" -L unit --output-on-failure) || status=1
echo "== every test under ASan+UBSan =="
(cd build/asan && ctest -j "$jobs" --output-on-failure) || status=1
echo "test.sh: total $(( $(date +%s) - t0 )) s"
if [ -s "$DP_TEST_SKIP_LOG" ]; then
  echo "== skipped tests ($(wc -l <"$DP_TEST_SKIP_LOG")): they did not run =="
  sed 's/^/  /' "$DP_TEST_SKIP_LOG"
else
  echo "== skipped tests: none =="
fi
exit $status
