#!/usr/bin/env bash
# Checks that scripts/lint.sh refuses what it must: a copy of the script runs
# on a small tree without git (the container-build path) that is clean, then
# with one planted problem at a time. Usage: lint_selftest.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: lint_selftest.sh SOURCE_DIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-lint-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
setup() {
  rm -rf "$tmp/t"; mkdir -p "$tmp/t/scripts" "$tmp/t/src" "$tmp/t/docs" "$tmp/t/helm"
  cp "$src/scripts/lint.sh" "$tmp/t/scripts/"
  printf 'int f(void)\n{\n    return 0;\n}\n' > "$tmp/t/src/a.c"
  printf '# Doc\n\nSee docs/SETUP.md and https://example.com/working/ and lifestyle.md.\n' > "$tmp/t/docs/A.md"
}
expect() {  # expect RC WHAT [TEXT]
  local out rc
  out=$(cd "$tmp/t" && bash scripts/lint.sh 2>&1); rc=$?
  if [ "$rc" -ne "$1" ] || { [ -n "${3:-}" ] && ! grep -qF -- "$3" <<<"$out"; }; then
    echo "FAIL: $2: expected exit $1${3:+ and '$3'}, got $rc:"; echo "$out"; fail=1
  else
    echo "ok: $2"
  fi
}
p() { printf '%s' "$@"; }  # keeps the patterns out of this file's own text
setup; expect 0 "a clean tree passes"
setup; echo "see $(p '..' '/shared')/notes" >> "$tmp/t/docs/A.md"; expect 1 "a relative path to the shared notes in a doc" "docs/A.md:4"
setup; echo "# from $(p '/wo' 'rk')/main/x" > "$tmp/t/helm/values.yaml"; expect 1 "an absolute /work path in a chart" "helm/values.yaml:1"
for n in platform-notes delivery-notes databricks-api operations-notes design style; do
  setup; printf '/* as %s says */\n' "$(p "$n" '.md')" >> "$tmp/t/src/a.c"
  expect 1 "the note name $n in C" "src/a.c:5"
done
setup; printf 'int g(void) { char b[4]; sprintf(b, "x"); return 0; }\n' >> "$tmp/t/src/a.c"; expect 1 "a banned call" "banned call"
exit $fail
