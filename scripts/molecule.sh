#!/usr/bin/env bash
# Run every Molecule VM scenario (molecule/*/molecule.yml, except molecule/shared) in order,
# one at a time, printing each scenario's wall time. Builds the test VM image first (cached).
#   MOLECULE_SCENARIOS="default perf_module"  run only these scenarios, in this order
#   PERFSEC_SKIP_VM=1                        skip the VM scenarios (one message, exit 0)
# Exits 0 with ONE skip message only when qemu itself cannot run here.
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
ROOT=$PERFSEC_ROOT
cd "$ROOT"
VM=$ROOT/tests/images/vm.py

if ! command -v qemu-system-x86_64 >/dev/null 2>&1 || ! qemu-system-x86_64 --version >/dev/null 2>&1; then
  echo "molecule: SKIP all VM scenarios: qemu-system-x86_64 cannot run on this machine (install qemu-system-x86, see docs/testbed.md)"
  exit 0
fi
if [[ ${PERFSEC_SKIP_VM:-0} == 1 ]]; then
  echo "molecule: SKIP all VM scenarios: PERFSEC_SKIP_VM=1"
  exit 0
fi

if [[ -n ${MOLECULE_SCENARIOS:-} ]]; then
  read -r -a scenarios <<<"$MOLECULE_SCENARIOS"
else
  scenarios=()
  [[ -f molecule/default/molecule.yml ]] && scenarios+=(default)
  for f in molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$f")")
    [[ $s == default || $s == shared ]] && continue
    # Only the qemu VM scenarios (driver `default` + our create/destroy) run here; others
    # (e.g. policy_build on podman Fedora containers) need what this machine lacks.
    if ! grep -Eq '^\s+name:\s+default\s*$' "$f" || ! grep -q 'shared/create.yml' "$f"; then
      echo "molecule: not run here: scenario $s (not a qemu VM scenario; see its molecule.yml)"
      continue
    fi
    # Scenarios marked `# perfsec-ci: manual` cost more than the CI budget allows; they run
    # only when named in MOLECULE_SCENARIOS (README says which and why).
    if grep -q '^# perfsec-ci: manual' "$f"; then
      echo "molecule: not in the default run: scenario $s (manual; MOLECULE_SCENARIOS=$s to run it)"
      continue
    fi
    scenarios+=("$s")
  done
fi

t0=$(date +%s)
echo "molecule: building/reusing the test VM image and its booted snapshot"
"$ROOT/.venv/bin/python" "$VM" snapshot
echo "molecule: image ready after $(($(date +%s) - t0)) s"

declare -A times results
rc=0
for s in "${scenarios[@]}"; do
  [[ -f molecule/$s/molecule.yml ]] || { echo "molecule: no scenario molecule/$s"; results[$s]=MISSING; rc=1; continue; }
  echo "molecule: === scenario $s ==="
  st=$(date +%s)
  # Molecule's default ephemeral directory is keyed by the checkout's basename, so two checkouts
  # (a fresh-clone CI run and a working tree) would share one per scenario: keep it in this checkout.
  if MOLECULE_EPHEMERAL_DIRECTORY=$ROOT/.cache/molecule/$s molecule test -s "$s"; then results[$s]=PASS; else results[$s]=FAIL; rc=1; fi
  times[$s]=$(($(date +%s) - st))
  echo "molecule: scenario $s: ${results[$s]} in ${times[$s]} s"
done

echo "molecule: summary (wall time per scenario)"
for s in "${scenarios[@]}"; do
  printf 'molecule:   %-20s %-7s %5s s\n' "$s" "${results[$s]}" "${times[$s]:-0}"
done
echo "molecule: total $(($(date +%s) - t0)) s"
exit $rc
