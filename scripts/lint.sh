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
# Files: git's tracked and new (not ignored) files; without git (a container
# build) every file of the tree but build directories and node_modules.
set -uo pipefail
cd "$(dirname "$0")/.."
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
n=$(echo "$cfiles" | wc -l)
m=$(echo "$scan" | wc -l)
[ $bad -eq 0 ] && echo "lint: $n C files clean; $m files free of outside references"
exit $bad
