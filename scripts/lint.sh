#!/usr/bin/env bash
# yamllint, ansible-lint (production profile, offline) and shellcheck for the dev scripts.
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
cd "$PERFSEC_ROOT"
rc=0
echo "== yamllint"; .venv/bin/yamllint -s . || rc=1
echo "== ansible-lint --offline (production profile)"; .venv/bin/ansible-lint --offline || rc=1
echo "== shellcheck"
mapfile -t sh < <(git ls-files --cached --others --exclude-standard -- '*.sh' .ci/run)
((${#sh[@]} == 0)) || shellcheck -x "${sh[@]}" || rc=1
exit $rc
