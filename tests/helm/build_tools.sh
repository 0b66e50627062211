#!/usr/bin/env bash
# Builds tools/helm-render and tests/helm/chartcheck into OUT_DIR with Debian's
# Go packages, offline (GOPATH mode, docs/PLATFORM.md "Go, for the Helm chart checks"). The Go build cache
# lives in OUT_DIR/go-cache, so a second run takes a second.
# Usage: build_tools.sh SOURCE_DIR OUT_DIR
set -euo pipefail
src=$1 out=$2
if ! command -v go >/dev/null 2>&1; then
  echo "build_tools: FAIL: no 'go' command: install golang-go, golang-github-masterminds-sprig-dev," \
       "golang-gopkg-yaml.v3-dev and golang-github-xeipuuv-gojsonschema-dev (bash scripts/setup.sh does)" >&2
  exit 1
fi
for d in github.com/Masterminds/sprig gopkg.in/yaml.v3 github.com/xeipuuv/gojsonschema; do
  [ -d "/usr/share/gocode/src/$d" ] || {
    echo "build_tools: FAIL: /usr/share/gocode/src/$d missing: run bash scripts/setup.sh" >&2; exit 1; }
done
mkdir -p "$out/go-cache"
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$out/go-cache" GOFLAGS=-mod=mod
unset GOFLAGS
(cd "$src/tools/helm-render" && go build -o "$out/helm-render" .)
(cd "$src/tests/helm/chartcheck" && go build -o "$out/chartcheck" .)
echo "build_tools: built $out/helm-render and $out/chartcheck with $(go version)"
