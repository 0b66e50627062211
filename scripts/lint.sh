#!/usr/bin/env bash
# Rejects the C calls the style guide bans (strcpy, strcat, sprintf, vsprintf,
# gets, atoi, atol, strtok) and // comments at the start of a line, in every
# tracked or new C file under src/, tools/, tests/ and bench/.
set -uo pipefail
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files --cached --others --exclude-standard -- 'src/*.[ch]' 'src/**/*.[ch]' \
          'tools/*.[ch]' 'tools/**/*.[ch]' 'tests/*.[ch]' 'tests/**/*.[ch]' 'bench/*.[ch]')
else
  # A source tree without git (a container build): every C file of those folders.
  files=$(find src tools tests bench -name '*.[ch]' -not -path '*/node_modules/*' 2>/dev/null | sort)
fi
[ -n "$files" ] || { echo "lint: no C files"; exit 1; }
bad=0
if grep -nE '(^|[^_a-zA-Z0-9.>])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok)[[:space:]]*\(' $files; then
  echo "lint: banned call above (use snprintf, strtol with an end pointer, ...)"; bad=1
fi
if grep -nE '^[[:space:]]*//' $files; then
  echo "lint: // comment above (use /* */)"; bad=1
fi
n=$(echo "$files" | wc -l)
[ $bad -eq 0 ] && echo "lint: $n files clean"
exit $bad
