#!/usr/bin/env bash
# The README's demo command. The worker it demonstrates is not built yet.
echo "demo: the deltaport worker is not built yet; only the test command works so far" >&2
exit 1
