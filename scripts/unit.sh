#!/usr/bin/env bash
# pytest unit tests: the full suite on the controller Python (3.11, real tools), then the
# module/module_utils tests that need no policy build on the target Pythons 3.6 and 3.7.
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
cd "$PERFSEC_ROOT"
rc=0
echo "== pytest (Python 3.11, ansible-core 2.19)"
.venv/bin/pytest tests/unit "$@" || rc=1
for v in 36 37; do
  if [[ -x .venv-py$v/bin/python ]]; then
    echo "== pytest (Python ${v:0:1}.${v:1}, ansible-core 2.16 module_utils), not slow"
    .venv-py$v/bin/python -m pytest -q -m "not slow" tests/unit || rc=1
  else
    echo "== Python ${v:0:1}.${v:1} lane skipped: .venv-py$v missing (no pyenv ${v:0:1}.${v:1} on this machine)"
  fi
done
exit $rc
