#!/usr/bin/env bash
# The whole test suite (README: `make test`). Runs every stage even when one fails, prints
# each stage's wall time, and exits non-zero if any stage failed.
set -uo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
cd "$PERFSEC_ROOT" || exit 2
STAGES=${PERFSEC_STAGES:-"lint unit sanity compat molecule operator"}
declare -A took status
failed=0 passed=0
for s in $STAGES; do
  start=$(date +%s)
  echo "================ stage: $s ================"
  if "./scripts/$s.sh"; then status[$s]=passed; passed=$((passed + 1)); else status[$s]=FAILED; failed=$((failed + 1)); fi
  took[$s]=$(($(date +%s) - start))
done
echo "================ summary ================"
for s in $STAGES; do printf '%-10s %-7s %5ss\n' "$s" "${status[$s]}" "${took[$s]}"; done
echo "stages: $passed passed, $failed failed"
((failed == 0))
