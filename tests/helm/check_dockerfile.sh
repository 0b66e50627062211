#!/usr/bin/env bash
# Keeps the Dockerfile in step with scripts/setup.sh: every -dev package of
# the build stage is in setup.sh's list; every library package of the runtime
# stage is what a -dev package of setup.sh depends on (dpkg's own Depends),
# and every library -dev package the worker links has its runtime package
# there. Also checks the settled image conventions: Debian 12 bases, numeric
# non-root USER 10001, the entrypoint and command, schemas and example config.
# Usage: check_dockerfile.sh SOURCE_DIR
set -uo pipefail
src=$1
df=$src/Dockerfile
fails=0
fail() { echo "check_dockerfile: FAIL: $*" >&2; fails=$((fails + 1)); }

setup_pkgs=$(sed -n '/^pkgs=(/,/^)/p' "$src/scripts/setup.sh" | tr -s ' \n' '\n' | grep -v -e '^pkgs=(' -e '^)' -e '^$')
# apt-get install lines of one stage (between its FROM and the next FROM).
stage_pkgs() {
  awk -v s="$1" '/^FROM /{cur=($0 ~ (" AS " s "$"))} cur' "$df" |
    sed -n '/apt-get install/,/rm -rf/p' | tr ' \\&' '\n\n\n' |
    grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -v -e '^apt-get$' -e '^install$' -e '^rm$' -e '^useradd$'
}
build=$(stage_pkgs build)
runtime=$(stage_pkgs runtime)
[ -n "$build" ] && [ -n "$runtime" ] || { echo "check_dockerfile: FAIL: no build or runtime stage packages found" >&2; exit 1; }

for p in $build; do
  grep -qx "$p" <<<"$setup_pkgs" || fail "build stage installs $p, which scripts/setup.sh does not"
done
# The library -dev packages the worker links (dpcore's pkg-config modules).
linked="librdkafka-dev libavro-dev libcurl4-openssl-dev libjansson-dev libssl-dev libmicrohttpd-dev libdeflate-dev libsnappy-dev"
for dev in $linked; do
  grep -qx "$dev" <<<"$setup_pkgs" || fail "$dev is not in scripts/setup.sh"
  deps=$(dpkg-query -W -f='${Depends}' "$dev" 2>/dev/null | tr ',|' '\n\n' | sed 's/(.*//; s/:any//; s/ //g')
  [ -n "$deps" ] || { fail "dpkg does not know $dev (run scripts/setup.sh)"; continue; }
  found=""
  for r in $runtime; do grep -qx "$r" <<<"$deps" && found=$r; done
  [ -n "$found" ] && echo "check_dockerfile: $dev -> runtime $found" ||
    fail "no runtime package in the image satisfies $dev (its Depends: $(echo $deps))"
done
for r in $runtime; do
  [ "$r" = ca-certificates ] && { grep -qx ca-certificates <<<"$setup_pkgs" || fail "ca-certificates not in setup.sh"; continue; }
  ok=""
  for dev in $linked; do
    dpkg-query -W -f='${Depends}' "$dev" 2>/dev/null | tr ',|' '\n\n' | sed 's/(.*//; s/:any//; s/ //g' | grep -qx "$r" && ok=1
  done
  [ -n "$ok" ] || fail "runtime package $r is not the runtime of a -dev package in setup.sh"
done

grep -qE '^FROM \$\{DEBIAN_IMAGE\} AS build$' "$df" && grep -qE '^ARG DEBIAN_IMAGE=debian:12-slim$' "$df" ||
  fail "stages must build FROM debian:12-slim (ARG DEBIAN_IMAGE)"
grep -qE '^USER 10001:10001$' "$df" || fail "USER must be numeric 10001:10001 (the chart's runAsUser)"
grep -qxF 'ENTRYPOINT ["/usr/local/bin/deltaport"]' "$df" || fail "ENTRYPOINT must be the deltaport binary (exec form)"
grep -qxF 'CMD ["run", "--config", "/etc/deltaport/config.json"]' "$df" || fail "CMD must be run --config /etc/deltaport/config.json"
grep -q 'share/deltaport/schemas' "$df" || fail "the Avro schemas are not copied"
grep -q 'config/production.example.json' "$df" || fail "the example config is not copied"
grep -q '^HEALTHCHECK' "$df" && fail "no HEALTHCHECK: Kubernetes ignores it (probes are in the chart)"
[ -f "$src/.dockerignore" ] || fail ".dockerignore missing"
[ $fails -eq 0 ] && echo "check_dockerfile: OK" && exit 0
exit 1
