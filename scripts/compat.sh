#!/usr/bin/env bash
# Compatibility lane: ansible-core 2.16 (the last that manages Python 3.6/3.7 targets) runs
# the modules for real on localhost under Python 3.6 (EL8 platform-python) and 3.7 (Fedora 31).
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
cd "$PERFSEC_ROOT"
rc=0
for v in 3.6 3.7; do
  py=$(find "$HOME/.pyenv/versions" -maxdepth 3 -path "*/$v.*/bin/python$v" 2>/dev/null | sort -V | tail -n1)
  if [[ -z $py ]]; then
    echo "== compat: python$v not installed here, lane skipped"
    continue
  fi
  echo "== compat: ansible-core $(.venv-compat/bin/python -c 'from ansible.release import __version__ as v; print(v)') -> $py"
  .venv-compat/bin/ansible-playbook -i localhost, tests/compat/smoke.yml -e "target_python=$py" || rc=1
done
exit $rc
