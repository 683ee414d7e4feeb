#!/usr/bin/env bash
# The starting-state matrix (issue 14): `molecule test -s matrix` once per cell, one at a time.
#   scripts/matrix.sh                          all 9 cells
#   scripts/matrix.sh fc31like-enforcing ...   only these, in this order
# A cell is POLICY-START: POLICY debian (flavour debian-default: class perf_event and perfmon),
# el8like (the class, no perfmon), fc31like (no class); START enforcing, permissive, disabled.
#   PERFSEC_MATRIX_DESTROY=never   keep each cell's VM (molecule test --destroy never); remove it with
#                                  PERFSEC_MATRIX_FLAVOUR=F PERFSEC_MATRIX_START=S molecule destroy -s matrix
# Prints each cell's result and wall time, appends one line per cell to docs/matrix-results.md
# (date UTC, commit, cell, PASS/FAIL, seconds, the plan's steps as the converge run printed them)
# and keeps each cell's Molecule log and records under .cache/matrix/CELL/ (the run before in CELL.prev/).
# Exits 1 if a cell failed.
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
ROOT=$PERFSEC_ROOT
cd "$ROOT"
RESULTS=$ROOT/docs/matrix-results.md
ALL=(debian-enforcing debian-permissive debian-disabled
  el8like-enforcing el8like-permissive el8like-disabled
  fc31like-enforcing fc31like-permissive fc31like-disabled)

usage() {
  echo "usage: $0 [CELL...]   cells: ${ALL[*]}" >&2
  exit 2
}

cells=("$@")
[[ ${#cells[@]} -gt 0 ]] || cells=("${ALL[@]}")
for c in "${cells[@]}"; do
  [[ $c == -h || $c == --help ]] && usage
  [[ " ${ALL[*]} " == *" $c "* ]] || { echo "matrix: unknown cell '$c'" >&2; usage; }
done

destroy_args=()
[[ ${PERFSEC_MATRIX_DESTROY:-} == never ]] && destroy_args=(--destroy never)

if [[ ! -f $RESULTS ]]; then
  cat >"$RESULTS" <<'EOF'
# Starting-state matrix: results

One line per cell run by `scripts/matrix.sh` (scenario `molecule/matrix`), appended by the script when the
cell ends (date = end time, seconds = the whole `molecule test`, create to destroy).
Commit `+wip`: roles/, plugins/, playbooks/ or molecule/ had uncommitted changes in the working tree.
Steps: the plan of the converge run, as recorded by the scenario (or read off the log if the run
stopped before the record).

| date (UTC) | commit | cell | result | seconds | plan steps (converge) | failed stage |
|---|---|---|---|---|---|---|
EOF
fi

# The plan's steps of the converge run: the scenario's record, else the first "Show the plan" of the log.
observed_steps() {
  local dir=$1 first
  if [[ -s $dir/runs.jsonl ]]; then
    head -n1 "$dir/runs.jsonl" | jq -r '.steps | if length == 0 then "converged" else join(", ") end'
    return
  fi
  first=$(grep -A2 'Show the plan\]' "$dir/molecule.log" 2>/dev/null | grep -m1 '"msg"' || true)
  if [[ -z $first ]]; then
    echo "-"
  elif [[ $first == *'converged: nothing to do'* ]]; then
    echo "converged (from the log)"
  else
    printf '%s\n' "$first" | grep -oE '(: |; )(policy_build|policy_install|class_module|selinux_enable|permissive|relabel|final_mode|module) \(' \
      | sed -E 's/^(: |; )//; s/ \($//' | paste -sd, - | sed 's/,/, /g; s/$/ (from the log)/'
  fi
}

# Molecule's output with the time of day in front of each line (bash's printf, no fork per line).
stamp() {
  local line
  while IFS= read -r line; do printf '%(%H:%M:%S)T %s\n' -1 "$line"; done
}

# "create 41 s, prepare 310 s, ..." from the stamped log's "[matrix > STAGE] Executing/Executed" lines.
stage_times() {
  awk 'function s(t){split(t,a,":"); return a[1]*3600+a[2]*60+a[3]}
       /\[matrix > [a-z_]+\] Executing/ {match($0,/> [a-z_]+\]/); st=substr($0,RSTART+2,RLENGTH-3); t0=s($1)}
       /\[matrix > [a-z_]+\] .*Executed/ && st != "" {d=s($1)-t0; if (d<0) d+=86400; out=out sep st " " d " s"; sep=", "; st=""}
       END {print (out == "" ? "-" : out)}' "$1"
}

declare -A result secs steps stages
rc=0
t0=$(date +%s)
for c in "${cells[@]}"; do
  flavour=${c%-*}
  start=${c##*-}
  [[ $flavour == debian ]] && flavour=debian-default
  dir=$ROOT/.cache/matrix/$c
  rm -rf "$dir.prev"
  [[ ! -d $dir ]] || mv "$dir" "$dir.prev"
  mkdir -p "$dir"
  commit=$(git rev-parse --short HEAD)
  [[ -z $(git status --porcelain -- roles plugins playbooks molecule) ]] || commit+=+wip
  echo "matrix: === cell $c (flavour $flavour, starting $start; log $dir/molecule.log) ==="
  st=$(date +%s)
  if PERFSEC_MATRIX_FLAVOUR=$flavour PERFSEC_MATRIX_START=$start PERFSEC_MATRIX_RECORD=$dir \
    molecule test -s matrix "${destroy_args[@]}" 2>&1 | stamp | tee "$dir/molecule.log"; then
    result[$c]=PASS
  else
    result[$c]=FAIL
    rc=1
  fi
  secs[$c]=$(($(date +%s) - st))
  steps[$c]=$(observed_steps "$dir")
  stages[$c]=$(stage_times "$dir/molecule.log")
  stage=-
  if [[ ${result[$c]} == FAIL ]]; then
    stage=$(sed -n "s/.*An error occurred during the test sequence action: '\([a-z_]*\)'.*/\1/p" "$dir/molecule.log" | head -n1)
    stage=${stage:-?}
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(date -u '+%Y-%m-%d %H:%M')" "$commit" "$c" \
    "${result[$c]}" "${secs[$c]}" "${steps[$c]}" "$stage" >>"$RESULTS"
  echo "matrix: cell $c: ${result[$c]} in ${secs[$c]} s (${stages[$c]}); plan: ${steps[$c]}"
done

echo "matrix: summary (wall time per cell)"
for c in "${cells[@]}"; do
  printf 'matrix:   %-20s %-5s %5s s  plan: %s; stages: %s\n' "$c" "${result[$c]}" "${secs[$c]}" "${steps[$c]}" "${stages[$c]}"
done
echo "matrix: total $(($(date +%s) - t0)) s; results appended to ${RESULTS#"$ROOT"/}"
exit $rc
