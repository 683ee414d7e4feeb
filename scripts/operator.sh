#!/usr/bin/env bash
# The operator tests (make test stage `operator`; tests/operator): ONE test-bed VM (Debian 12,
# permissive, from the cached snapshot), first the collection under ansible-runner as AWX/AAP
# run it (enable_perf_mac --check --diff, report), then the README's "On your fleet" commands,
# extracted from README.md, run as written against the same VM. Stops the VM at the end.
#   PERFSEC_RELEASE_TARBALL=PATH   test that tarball (scripts/release.sh output) instead of one built here
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
cd "$PERFSEC_ROOT"
exec .venv/bin/pytest -v -s \
  tests/operator/test_runner.py tests/operator/test_readme_fleet.py "$@"
