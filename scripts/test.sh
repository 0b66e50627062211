#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test.
#
#   1. scripts/setup.sh                 (apt-get, only what is missing)
#   2. build/asan: DP_SANITIZE=address,undefined, DP_WERROR=ON; every ctest test
#      (labels unit and integration), ctest -j2
#   3. build/valgrind: no sanitizers; the unit-labelled tests under valgrind
# It prints the time per label and ends with ctest's summary of step 2.
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
echo "== unit tests under valgrind =="
(cd build/valgrind && ctest -j "$jobs" -L unit --output-on-failure) || status=1
echo "== every test under ASan+UBSan =="
(cd build/asan && ctest -j "$jobs" --output-on-failure) || status=1
echo "test.sh: total $(( $(date +%s) - t0 )) s"
exit $status
