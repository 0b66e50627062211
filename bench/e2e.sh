#!/usr/bin/env bash
# End-to-end benchmark: kcat, one deltaport worker, the reference Python
# worker and two workers, on the embedded Kafka and the Databricks emulator
# (docs/PERFORMANCE.md). One command from a clean clone:
#   bash bench/e2e.sh [--events N] [--runs ABCD] [--soak SECONDS] [--no-targets] ...
# (bench/e2e.py --help lists every option). Builds a release tree in
# build/bench unless --bin DIR names a built tree; installs what it needs
# (scripts/setup.sh, and gnuplot-nox for the chart, which only this bench
# uses). Prints the table; writes build/bench/e2e/e2e.json and e2e.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -z "$bin" ]; then
  bash scripts/setup.sh >/dev/null
  if ! command -v gnuplot >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "e2e: installing gnuplot-nox (the chart)" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      gnuplot-nox >/dev/null || echo "e2e: gnuplot-nox not installed: no chart" >&2
  fi
  cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DDP_BUILD_TESTS=OFF >/dev/null
  cmake --build build/bench -j2 -- --no-print-directory >/dev/null
  bin=build/bench
fi
echo "e2e: $(uptime)" >&2
# Debian's python3 has python3-confluent-kafka and python3-avro; a python3
# earlier on PATH (pyenv, venv) may not.
exec /usr/bin/python3 bench/e2e.py --bin "$(cd "$bin" && pwd)" "${args[@]}"
