#!/usr/bin/env bash
# The repository's lint, run by ctest (test "lint"):
#
# 1. In every C file under src/, tools/, tests/ and bench/: the C calls the
#    code rules ban (strcpy, strcat, sprintf, vsprintf, gets, atoi, atol,
#    strtok) and // comments at the start of a line.
# 2. In every file of the repository (text files; this script excepted, since
#    it names the patterns): references to files outside the repository,
#    which readers do not have: "../shared", absolute paths of a development
#    machine (/work/...), and the names of the team's private notes. What a
#    reader needs belongs in docs/.
#
# 3. The boundaries between the areas of src/ (docs/ARCHITECTURE.md), from
#    the sources' #include lines and string literals:
#    - every quoted #include in src/ names a file by its path from src/
#      ("core/buf.h", never a bare "buf.h"); only worker.h sits at the top;
#    - dbx/ never reaches kafka/: no src/dbx file includes "kafka/..." or
#      librdkafka;
#    - nothing below worker.c includes it: only src/worker.c, src/main.c and
#      src/cli/cmd_run.c include "worker.h";
#    - only route/tablename.c builds an identifier: outside it, no C string
#      or character literal is a lone backtick, puts a backtick next to a
#      printf conversion ("`%s`"), or holds a backtick together with an SQL
#      keyword in capitals ("GRANT ... `x`"). Backticks in prose (messages,
#      help: "run `deltaport ddl`") are fine. src/config/config_out.c is
#      exempt from the conversion rule: it writes Markdown (docs/CONFIGURATION.md),
#      whose code spans are "`%s`", and no SQL.
# 4. The same boundaries on the objects, with nm (given BUILD_DIR, the CMake
#    build tree: its objects of dpcore and deltaport, which must exist and be
#    newer than their sources, so build first):
#    - no dbx/ object refers to a symbol defined by a kafka/ object, nor to
#      rd_kafka_*;
#    - ops/ only reads metrics and health: the dp_* symbols an ops/ object
#      refers to are defined by ops/ or core/ objects, or are dp_reject_name
#      (codec/schema.c: the reject reasons' names, metrics' labels); no ops/
#      object refers to rd_kafka_* or curl_*;
#    - only worker.c, main.c and cli/cmd_run.c refer to what worker.c
#      defines (dp_worker_*).
# 5. The format: clang-format 14 --dry-run --Werror with the repository's
#    .clang-format on every C file of src/, tools/, tests/ and bench/. Without
#    clang-format 14 (or with another version) the check is skipped with a
#    message, except under CI=true, where that is a failure. CLANG_FORMAT names
#    the binary (default clang-format).
#
# Usage: lint.sh [BUILD_DIR]. Without BUILD_DIR the object checks (4) are
# skipped with a message, except under CI=true. ctest's "lint" passes the build
# tree.
#
# Files: git's tracked and new (not ignored) files; without git (a container
# build) every file of the tree but build directories and node_modules.
set -uo pipefail
build=${1:-}
[ -z "$build" ] || build=$(cd "$build" 2>/dev/null && pwd) || { echo "lint: no build directory $1"; exit 1; }
cd "$(dirname "$0")/.."
ci=false; [ "${CI:-}" = true ] && ci=true
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  cfiles=$(git ls-files --cached --others --exclude-standard -- 'src/*.[ch]' 'src/**/*.[ch]' \
           'tools/*.[ch]' 'tools/**/*.[ch]' 'tests/*.[ch]' 'tests/**/*.[ch]' 'bench/*.[ch]')
  allfiles=$(git ls-files --cached --others --exclude-standard | while read -r f; do
               [ -f "$f" ] && echo "$f"; done)
else
  cfiles=$(find src tools tests bench -name '*.[ch]' -not -path '*/node_modules/*' 2>/dev/null | sort)
  allfiles=$(find . -type f -not -path './.git*' -not -path './build/*' -not -path '*/build/*' \
               -not -path '*/node_modules/*' 2>/dev/null | sed 's|^\./||' | sort)
fi
[ -n "$cfiles" ] || { echo "lint: no C files"; exit 1; }
bad=0
if grep -nE '(^|[^_a-zA-Z0-9.>])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok)[[:space:]]*\(' $cfiles; then
  echo "lint: banned call above (use snprintf, strtol with an end pointer, ...)"; bad=1
fi
if grep -nE '^[[:space:]]*//' $cfiles; then
  echo "lint: // comment above (use /* */)"; bad=1
fi

# Outside references: ../shared, /work/ paths, and the notes' names.
notes='platform-notes|delivery-notes|databricks-api|operations-notes|design|style'
outside="\.\./shared|(^|[^A-Za-z0-9_.~-])/work/|(^|[^A-Za-z0-9_-])($notes)\.md"
scan=$(echo "$allfiles" | grep -v -x -e 'scripts/lint.sh')
if echo "$scan" | tr '\n' '\0' | xargs -0 grep -nIE "$outside" --; then
  echo "lint: reference to a file outside the repository above (../shared, /work/..., a private"
  echo "      note): readers do not have it; write what they need into docs/ and point there"
  bad=1
fi

# 3. Boundaries in the sources.
srcfiles=$(echo "$cfiles" | grep -E '^src/')
incl=$(echo "$srcfiles" | tr '\n' '\0' | xargs -0 -r grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' --)
bare=$(echo "$incl" | perl -ne 'if (/^([^:]+):(\d+):\s*#\s*include\s*"([^"]+)"/) {
          my ($f, $l, $p) = ($1, $2, $3);
          print "$f:$l: \"$p\"\n" if $p ne "worker.h" && ($p !~ m{/} || !-f "src/$p") }')
if [ -n "$bare" ]; then
  echo "$bare"
  echo "lint: include above not named by its path from src/ (\"core/buf.h\", not \"buf.h\")"; bad=1
fi
if echo "$incl" | grep -E '^src/dbx/' | grep -E '"kafka/|<librdkafka/'; then
  echo "lint: dbx/ includes kafka/ or librdkafka above: dbx/ never reaches kafka/"; bad=1
fi
if echo "$incl" | grep -E '"worker\.h"' | grep -vE '^(src/worker\.c|src/main\.c|src/cli/cmd_run\.c):'; then
  echo "lint: worker.h included above: only worker.c, main.c and cli/cmd_run.c include it"; bad=1
fi
# String and character literals, comments left out.
idents=$(echo "$srcfiles" | grep -vx 'src/route/tablename.c' | tr '\n' '\0' | xargs -0 -r perl -e '
  my $kw = qr/\b(?:SELECT|INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|GRANT|REVOKE|COPY|FROM|
               WHERE|INTO|TABLE|SCHEMA|CATALOG|VOLUME|PARTITION|ORDER|CAST|QUALIFY|USING)\b/x;
  for my $f (@ARGV) {
    open(my $h, "<", $f) or die "lint: $f: $!\n";
    local $/; my $t = <$h>; close $h;
    my $line = 1;
    while ($t =~ m{\G(?:(/\*.*?\*/)|(//[^\n]*)|("(?:\\.|[^"\\\n])*")|(\x27(?:\\.|[^\x27\\\n])*\x27)|([^"/\x27]+|.))}gs) {
      my $tok = $&; my $lit = defined $3 ? $3 : defined $4 ? $4 : undef;
      if (defined $lit && index($lit, "`") >= 0) {
        my $md = $f eq "src/config/config_out.c";
        print "$f:$line: $lit\n"
          if $lit eq "\"`\"" || $lit eq "\x27`\x27" || (!$md && $lit =~ /`%|%[-+ #0-9.*]*[a-zA-Z]`/)
             || $lit =~ $kw;
      }
      $line += ($tok =~ tr/\n//);
    }
  }')
if [ -n "$idents" ]; then
  echo "$idents"
  echo "lint: identifier built above outside src/route/tablename.c (a backtick as a literal, next to"
  echo "      a conversion, or in SQL): quote names with route/tablename.h"; bad=1
fi

# 4. Boundaries in the objects.
objs=""
if [ -z "$build" ]; then
  if $ci; then echo "lint: no BUILD_DIR under CI=true: the object checks need one"; bad=1
  else echo "lint: object checks skipped (no BUILD_DIR given)"; fi
elif ! command -v nm >/dev/null 2>&1; then
  echo "lint: nm not found (binutils): the object checks need it"; bad=1
else
  objs=$(find "$build/src/CMakeFiles" \( -path '*/dpcore.dir/*' -o -path '*/deltaport.dir/*' \) \
           -name '*.c.o' 2>/dev/null | sort)
  # "object source" pairs; every C file of src/ needs an object newer than itself.
  pairs=$(echo "$objs" | sed -nE 's#^(.*/(dpcore|deltaport)\.dir/(.*)\.o)$#\1 src/\3#p')
  missing=$( (echo "$srcfiles" | grep -E '\.c$' | sed 's/^/c /'; echo "$pairs" | sed 's/^/o /') |
             awk '$1 == "c" {c[$2] = 1} $1 == "o" {o[$3] = $2}
                  END {for (s in c) if (!(s in o)) print s}' | sort)
  for c in $missing; do
    echo "lint: no object for $c in $build: build dpcore and deltaport first"; bad=1
  done
  stale=$(echo "$pairs" | while read -r o c; do [ -f "$c" ] && [ "$c" -nt "$o" ] && echo "$c"; done)
  for c in $stale; do echo "lint: the object of $c is older than it: build first"; bad=1; done
  # "source type symbol" for the global symbols of the objects whose source still exists.
  live=$(echo "$pairs" | while read -r o c; do [ -f "$c" ] && echo "$o"; done)
  syms=""
  [ -z "$live" ] || syms=$(echo "$live" | tr '\n' '\0' | xargs -0 nm -A -P -g |
                           sed -nE 's#^.*/(dpcore|deltaport)\.dir/(.*)\.o: ([^ ]+) ([^ ]+).*#src/\2 \4 \3#p')
  und=$(echo "$syms" | awk '$2 == "U"')
  def=$(echo "$syms" | awk '$2 != "U"')
  kafka_defs=$(echo "$def" | awk '$1 ~ /^src\/kafka\// {print $3}' | sort -u)
  hits=$(echo "$und" | awk -v k="$kafka_defs" 'BEGIN {n = split(k, a, "\n"); for (i = 1; i <= n; i++) ks[a[i]] = 1}
           $1 ~ /^src\/dbx\// && ($3 in ks || $3 ~ /^rd_kafka_/) {print $1 ": refers to " $3}')
  if [ -n "$hits" ]; then
    echo "$hits"; echo "lint: dbx/ object above reaches kafka/: dbx/ never reaches kafka/"; bad=1
  fi
  ok_defs=$(echo "$def" | awk '$1 ~ /^src\/(ops|core)\// {print $3}' | sort -u)
  hits=$(echo "$und" | awk -v k="$ok_defs" 'BEGIN {n = split(k, a, "\n"); for (i = 1; i <= n; i++) ks[a[i]] = 1}
           $1 ~ /^src\/ops\// && (($3 ~ /^dp_/ && !($3 in ks) && $3 != "dp_reject_name") ||
                                 $3 ~ /^(rd_kafka|curl)_/) {print $1 ": refers to " $3}')
  if [ -n "$hits" ]; then
    echo "$hits"
    echo "lint: ops/ object above reaches beyond core/, metrics and health (and dp_reject_name)"; bad=1
  fi
  worker_defs=$(echo "$def" | awk '$1 == "src/worker.c" {print $3}' | sort -u)
  hits=$(echo "$und" | awk -v k="$worker_defs" 'BEGIN {n = split(k, a, "\n"); for (i = 1; i <= n; i++) ks[a[i]] = 1}
           $1 != "src/worker.c" && $1 != "src/main.c" && $1 != "src/cli/cmd_run.c" &&
           ($3 in ks || $3 ~ /^dp_worker_/) {print $1 ": refers to " $3}')
  if [ -n "$hits" ]; then
    echo "$hits"; echo "lint: object above calls the worker: only main.c and cli/cmd_run.c do"; bad=1
  fi
fi

# 5. The format.
cf=${CLANG_FORMAT:-clang-format}
fmt=skipped
if ! command -v "$cf" >/dev/null 2>&1; then
  fmt_why="$cf not found (Debian package clang-format, scripts/setup.sh)"
elif ! "$cf" --version | grep -qE 'version 14\.'; then
  fmt_why="$("$cf" --version | head -n1) is not clang-format 14, whose output .clang-format fixes"
else
  fmt_why=""
fi
if [ -n "$fmt_why" ]; then
  if $ci; then echo "lint: $fmt_why: the format check needs it under CI=true"; bad=1
  else echo "lint: format check skipped: $fmt_why"; fi
else
  out=$(echo "$cfiles" | tr '\n' '\0' | xargs -0 "$cf" --dry-run --Werror --style=file 2>&1)
  if [ $? -ne 0 ]; then
    # One line a file: its first place that differs, and how many there are.
    files=$(echo "$out" | grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning):' |
      awk -F: '{n[$1]++; if (!($1 in at)) {at[$1] = $1 ":" $2 ":" $3; ord[++k] = $1}}
               END {for (i = 1; i <= k; i++) print at[ord[i]] ": differs from .clang-format (" n[ord[i]] " places)"}')
    if [ -n "$files" ]; then echo "$files"; else echo "$out" | head -n 20; fi
    echo "lint: file above differs from .clang-format: clang-format -i FILE (clang-format 14)"
    bad=1
  else
    fmt=clean
  fi
fi

n=$(echo "$cfiles" | wc -l)
m=$(echo "$scan" | wc -l)
no=$(echo "$objs" | grep -c . )
[ $bad -eq 0 ] && echo "lint: $n C files clean (format $fmt); $m files free of outside references; $no objects within the boundaries"
exit $bad
