#!/usr/bin/env bash
# The release path (README, "Development"; `make release`): lint the changelog, build the
# collection tarball into build/release/, then prove the artifact, not the checkout: the
# tarball tests (tests/unit/test_collection_tarball_playbook.py) install it OFFLINE into a
# clean temporary collections path and run ansible-doc on every module and a check-mode
# playbook from there (ansible-playbook, and ansible-navigator --ee false: test_navigator.py).
# Prints the tarball, its sha256 and each step's time.
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
cd "$PERFSEC_ROOT"
OUT=${PERFSEC_RELEASE_DIR:-$PERFSEC_ROOT/build/release}
t0=$(date +%s)
step() { echo "== release: $1 ($(($(date +%s) - t0)) s)"; }

step "antsibull-changelog lint"
.venv/bin/antsibull-changelog lint

# The tarball is built from the working tree: say so when it differs from the commit.
dirty=$(git status --porcelain -- plugins roles playbooks meta galaxy.yml README.md docs changelogs bindep.txt | wc -l)
((dirty == 0)) || echo "release: WARNING: $dirty shipped path(s) differ from $(git rev-parse --short HEAD) (git status): the tarball holds the working tree, not the commit"

step "ansible-galaxy collection build -> $OUT"
mkdir -p "$OUT"
version=$(.venv/bin/python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
tarball=$OUT/perfsec-selinux-$version.tar.gz
rm -f "$tarball"
.venv/bin/ansible-galaxy collection build --output-path "$OUT" .
[[ -f $tarball ]] || { echo "release: $tarball was not built" >&2; exit 1; }

step "offline install into a clean collections path, ansible-doc of every module, check-mode playbook (ansible-playbook, ansible-navigator)"
PERFSEC_RELEASE_TARBALL=$tarball .venv/bin/pytest -q tests/unit/test_collection_tarball_playbook.py tests/unit/test_navigator.py

step "done"
echo "release: $tarball"
echo "release: sha256 $(sha256sum "$tarball" | cut -d' ' -f1)  $(du -k "$tarball" | cut -f1) KiB"
echo "release: install it with: ansible-galaxy collection install $tarball"
