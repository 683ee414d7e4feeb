#!/usr/bin/env bash
# ansible-test sanity for perfsec.selinux, offline.
# ansible-test needs the collection under a real .../ansible_collections/perfsec/selinux
# directory (not a symlink), so the tracked and new (not ignored) files are staged there.
# Lanes: ansible-core 2.16 (compat venv) runs compile + import on Python 3.6 and 3.7 (the
# EL8 / Fedora 31 target Pythons) and the full sanity suite on 3.11; ansible-core 2.19
# (main venv) runs the full suite on 3.11.
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
ROOT=$PERFSEC_ROOT
cd "$ROOT"
STAGE=$ROOT/build/sanity/ansible_collections/perfsec/selinux
rm -rf "$ROOT/build/sanity"
mkdir -p "$STAGE"
# What the collection ships plus its unit tests; dev tooling (images, fixtures, molecule,
# scripts, bench) is linted by scripts/lint.sh instead.
git ls-files -z --cached --others --exclude-standard -- . \
  ':!:tests/images' ':!:tests/fixtures' ':!:molecule' ':!:bench' ':!:scripts' ':!:.ci' \
  | xargs -0 -r cp --parents -t "$STAGE/"
(cd "$STAGE" && git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm stage)

# ansible-test downloads its pip bootstrap from an unreachable host: give it an offline one.
mkdir -p "$HOME/.ansible/test/cache"
for venv in .venv-compat .venv; do
  # the pip versions this ansible-test bootstraps its venvs with
  for v in $("$venv/bin/python" -c 'import inspect, re
from ansible_test._internal import python_requirements as m
print(" ".join(sorted(set(re.findall(r"pip=.([0-9.]+).", inspect.getsource(m.get_venv_packages))))))'); do
    cp scripts/ansible-test-get-pip.py "$HOME/.ansible/test/cache/get_pip_${v//./_}.py"
  done
done

# Real interpreters first (pyenv shims resolve to nothing under ansible-test).
PYPATH=""
for v in 3.6 3.7 3.11; do
  d=$(find "$HOME/.pyenv/versions" -maxdepth 2 -path "*/$v.*/bin" 2>/dev/null | sort -V | tail -n1)
  [[ -n $d ]] && PYPATH="$PYPATH:$d"
done
export PATH="${PYPATH#:}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

cd "$STAGE"
rc=0
run() { echo "== ansible-test $*"; "$@" || rc=1; }
for v in 3.6 3.7; do
  if command -v "python$v" >/dev/null; then
    run "$ROOT/.venv-compat/bin/ansible-test" sanity --local --python "$v" --test compile --test import
  else
    echo "sanity: python$v not available, its compile/import lane is skipped"
  fi
done
run "$ROOT/.venv-compat/bin/ansible-test" sanity --local --python 3.11
run "$ROOT/.venv/bin/ansible-test" sanity --local --python 3.11
exit $rc
