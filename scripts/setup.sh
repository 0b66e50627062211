#!/usr/bin/env bash
# Installs, with apt-get, whatever deltaport needs to build, test and run its
# demo that is not on this Debian 12 machine yet. Does nothing when all is there.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git
  librdkafka-dev libavro-dev libcurl4-openssl-dev libjansson-dev libssl-dev
  libmicrohttpd-dev libsqlite3-dev libcunit1-dev libdeflate-dev libsnappy-dev
  kcat valgrind sqlite3 ca-certificates curl
  golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev
  golang-github-xeipuuv-gojsonschema-dev
  python3-confluent-kafka python3-avro python3-requests
  clang libclang-rt-14-dev clang-format
)

missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
# clang and libclang-rt-14-dev: libFuzzer (-fsanitize=fuzzer) for scripts/fuzz.sh;
# the test command replays the fuzz corpora with gcc and needs neither.
# clang-format (14 on Debian 12): the lint test checks every C file against
# .clang-format with it.
# Node.js and npm run the Databricks SDK conformance test; any node >= 18 will do.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
