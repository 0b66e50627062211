#!/usr/bin/env bash
# Checks that scripts/lint.sh refuses what it must: a copy of the script runs
# on a small tree without git (the container-build path) that is clean, then
# with one planted problem at a time. The small tree has a file in each area
# the boundary checks name, and a build directory laid out as CMake's (objects
# under build/src/CMakeFiles/dpcore.dir/ and deltaport.dir/), compiled here with
# cc. Usage: lint_selftest.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: lint_selftest.sh SOURCE_DIR}
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-lint-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
# The pristine tree, made once; setup copies it with its objects' times.
t0=$tmp/pristine
mkdir -p "$t0/scripts" "$t0/docs" "$t0/helm" "$t0/src/core" "$t0/src/kafka" "$t0/src/dbx" \
         "$t0/src/ops" "$t0/src/route" "$t0/src/cli"
cp "$src/scripts/lint.sh" "$t0/scripts/"
cp "$src/.clang-format" "$t0/"
printf 'int f(void)\n{\n    return 0;\n}\n' > "$t0/src/a.c"
printf '# Doc\n\nSee docs/SETUP.md and https://example.com/working/ and lifestyle.md.\n' > "$t0/docs/A.md"
printf 'int dp_core_f(void);\n' > "$t0/src/core/c.h"
printf '#include "core/c.h"\n\nint dp_core_f(void)\n{\n    return 1;\n}\n' > "$t0/src/core/c.c"
printf '#include <stdio.h>\n\nint dp_kafka_f(void)\n{\n    return puts("run `deltaport ddl` first");\n}\n' \
  > "$t0/src/kafka/k.c"
printf '#include "core/c.h"\n\nint dp_dbx_f(void)\n{\n    return dp_core_f();\n}\n' > "$t0/src/dbx/d.c"
printf '#include "core/c.h"\n\nint dp_metrics_f(void)\n{\n    return dp_core_f();\n}\n' > "$t0/src/ops/o.c"
printf '#include <stdio.h>\n\nint dp_q(char *o, int n, const char *s)\n{\n    return snprintf(o, n, "`%%s`", s);\n}\n' \
  > "$t0/src/route/tablename.c"
printf 'int dp_worker_run(void);\n' > "$t0/src/worker.h"
printf '#include "worker.h"\n\nint dp_worker_run(void)\n{\n    return 0;\n}\n' > "$t0/src/worker.c"
printf '#include "worker.h"\n\nint dp_cmd_run(void)\n{\n    return dp_worker_run();\n}\n' > "$t0/src/cli/cmd_run.c"
printf '#include "worker.h"\n\nint main(void)\n{\n    return dp_worker_run();\n}\n' > "$t0/src/main.c"
compile() {  # compile TREE: (re)builds each object missing or older than its source
  local f o
  (cd "$1" && find src -name '*.c' | while read -r f; do
     o=build/src/CMakeFiles/dpcore.dir/${f#src/}.o
     [ "$f" = src/main.c ] && o=build/src/CMakeFiles/deltaport.dir/main.c.o
     if [ ! -f "$o" ] || [ "$f" -nt "$o" ]; then
       mkdir -p "$(dirname "$o")" && "$cc" -c -Isrc -o "$o" "$f" || echo "selftest: cc $f failed"
     fi
   done)
}
compile "$t0"
setup() { rm -rf "$tmp/t"; cp -a "$t0" "$tmp/t"; }
expect() {  # [NOCOMPILE=1] [LINTENV="VAR=x ..."] [ARGS=...] expect RC WHAT [TEXT]
  local out rc
  [ -n "${NOCOMPILE:-}" ] || compile "$tmp/t"
  out=$(cd "$tmp/t" && env -u CI ${LINTENV:-} bash scripts/lint.sh ${ARGS-build} 2>&1); rc=$?
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
setup; printf 'int g(void) { char b[4]; sprintf(b, "x"); return 0; }\n' >> "$tmp/t/src/a.c"; NOCOMPILE=1 expect 1 "a banned call" "banned call"

# The boundaries, in the sources.
setup; sed -i 's|core/c.h|c.h|' "$tmp/t/src/dbx/d.c"; NOCOMPILE=1 expect 1 "a header without its area" 'src/dbx/d.c:1: "c.h"'
setup; sed -i '1i #include "kafka/k.h"' "$tmp/t/src/dbx/d.c"; NOCOMPILE=1 expect 1 "dbx/ includes kafka/" "src/dbx/d.c:1:"
setup; sed -i '1i #include <librdkafka/rdkafka.h>' "$tmp/t/src/dbx/d.c"; NOCOMPILE=1 expect 1 "dbx/ includes librdkafka" "dbx/ never reaches kafka/"
setup; sed -i '1i #include "worker.h"' "$tmp/t/src/kafka/k.c"; expect 1 "worker.h below worker.c" "src/kafka/k.c:1:"
setup; printf 'const char *g(void)\n{\n    return "`";\n}\n' >> "$tmp/t/src/kafka/k.c"
expect 1 "a lone backtick outside tablename.c" 'src/kafka/k.c:9: "`"'
setup; printf 'int g(char *o)\n{\n    return *o = \x27`\x27;\n}\n' >> "$tmp/t/src/kafka/k.c"
expect 1 "a backtick character outside tablename.c" "src/kafka/k.c:9:"
setup; printf 'int g(char *o, const char *s)\n{\n    return sprintf(o, "%%s`", s);\n}\n' >> "$tmp/t/src/kafka/k.c"
expect 1 "a backtick next to a conversion" 'src/kafka/k.c:9: "%s`"'
setup; printf 'const char *g(void)\n{\n    return "SELECT 1 FROM `t`";\n}\n' >> "$tmp/t/src/kafka/k.c"
expect 1 "a backtick in SQL" "identifier built above"
setup; printf '/* "`%%s`" in a comment */\nconst char *g(void)\n{\n    return "see `run`: it starts";\n}\n' >> "$tmp/t/src/kafka/k.c"
expect 0 "a backtick in prose and in a comment"

# The boundaries, in the objects (no include: the declaration is written out).
setup; printf 'int dp_kafka_f(void);\nint dp_dbx_g(void)\n{\n    return dp_kafka_f();\n}\n' >> "$tmp/t/src/dbx/d.c"
expect 1 "a dbx/ object calls kafka/" "src/dbx/d.c: refers to dp_kafka_f"
setup; printf 'int rd_kafka_poll(void);\nint dp_dbx_g(void)\n{\n    return rd_kafka_poll();\n}\n' >> "$tmp/t/src/dbx/d.c"
expect 1 "a dbx/ object calls librdkafka" "src/dbx/d.c: refers to rd_kafka_poll"
setup; printf 'int dp_dbx_f(void);\nint dp_metrics_g(void)\n{\n    return dp_dbx_f();\n}\n' >> "$tmp/t/src/ops/o.c"
expect 1 "an ops/ object calls beyond metrics and health" "src/ops/o.c: refers to dp_dbx_f"
setup; printf 'int dp_worker_run(void);\nint dp_kafka_g(void)\n{\n    return dp_worker_run();\n}\n' >> "$tmp/t/src/kafka/k.c"
expect 1 "an object below worker.c calls it" "src/kafka/k.c: refers to dp_worker_run"
setup; rm "$tmp/t/build/src/CMakeFiles/dpcore.dir/dbx/d.c.o"; NOCOMPILE=1 expect 1 "a missing object" "no object for src/dbx/d.c"
setup; touch -d '+1 minute' "$tmp/t/src/ops/o.c"; NOCOMPILE=1 expect 1 "an object older than its source" "the object of src/ops/o.c is older"
setup; ARGS= expect 0 "no build directory outside CI: skipped" "object checks skipped"
setup; ARGS= LINTENV="CI=true" expect 1 "no build directory under CI=true" "no BUILD_DIR under CI=true"

# The format.
setup; LINTENV="CLANG_FORMAT=$tmp/none/clang-format" expect 0 "clang-format absent outside CI: skipped" "format check skipped"
setup; LINTENV="CI=true CLANG_FORMAT=$tmp/none/clang-format" expect 1 "clang-format absent under CI=true" "needs it under CI=true"
if clang-format --version 2>/dev/null | grep -qE 'version 14\.'; then
  setup; expect 0 "a formatted tree passes the format check" "(format clean)"
  setup; printf 'int g(void) { return 2; }\n' >> "$tmp/t/src/ops/o.c"; expect 1 "a file off .clang-format" "src/ops/o.c:7"
elif [ "${CI:-}" = true ]; then
  echo "FAIL: clang-format 14 is missing under CI=true (scripts/setup.sh installs it)"; fail=1
else
  echo "skip: the format cases: no clang-format 14 here (scripts/setup.sh installs it)"
fi
exit $fail
