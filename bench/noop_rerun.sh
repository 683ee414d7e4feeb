#!/usr/bin/env bash
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Benchmark 3: no-op re-run on a converged VM, side by side (interleaved A,B,A,B,...):
#   ours  ansible-playbook perfsec.selinux.enable_perf_mac again on the converged host
#   seed  the reference procedure's shell sequence again, on the same host:
#         ausearch -c perf --raw -if AVC-LOG | audit2allow -M my-perf; checkmodule -M -m;
#         semodule_package; semodule -X 300 -i my-perf.pp; sysctl -w kernel.perf_event_paranoid=<current>
# Per run: wall time (host clock, includes SSH), the policy store's commit_num before/after
# (/var/lib/selinux/<type>/active/commit_num, what module_utils/semodule.commit_num reads) and
# the number of MAC_POLICY_LOAD audit records (policy loads into the kernel) before/after.
#
# Usage: bench/noop_rerun.sh [--reps N] [--keep]
#   Starts one VM (tests/images/vm.py start, TCG, restored from the snapshot), converges it
#   once with enable_perf_mac (-e relabel_mode=never: the image is already labelled, and a
#   relabel reboot costs 25-55 min under TCG), then runs ours and seed N times (default 3),
#   interleaved, and stops the VM (unless --keep). Prints a table and a line "JSON: {...}".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

REPS=3
KEEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --reps) REPS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

DATA=$ROOT/bench/.data/noop
STATE=$DATA/vm
PY=$ROOT/.venv/bin/python
VM=("$PY" "$ROOT/tests/images/vm.py")
mkdir -p "$DATA"
RESULTS=$DATA/runs.tsv
: > "$RESULTS"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

cleanup() {
  if [[ $KEEP -eq 0 && -d $STATE ]]; then
    log "stopping the VM"
    "${VM[@]}" stop --state-dir "$STATE" >&2 || true
  fi
}
trap cleanup EXIT

vssh() { "${VM[@]}" ssh --state-dir "$STATE" -- "$@" </dev/null; }

now() { date +%s.%N; }

# "COMMIT_NUM POLICY_LOADS" of the VM
vm_counters() {
  # shellcheck disable=SC2016  # expanded by the VM's shell
  vssh 't=$(. /etc/selinux/config; echo "$SELINUXTYPE");
        c=$(tr -d "\000" < "/var/lib/selinux/$t/active/commit_num" 2>/dev/null || echo NA);
        l=$(ausearch --input-logs -m MAC_POLICY_LOAD --raw 2>/dev/null | grep -c "type=MAC_POLICY_LOAD" || true);
        echo "${c:-NA} ${l:-0}"'
}

qemu_count() { local n=0 c; for c in /proc/[0-9]*/comm; do [[ $(cat "$c" 2>/dev/null) == qemu* ]] && n=$((n + 1)); done; echo "$n"; }
QEMU_BEFORE=$(qemu_count)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

log "starting the VM (TCG, from the snapshot)"
INFO=$("${VM[@]}" start --state-dir "$STATE" --name bench)
printf '%s\n' "$INFO" > "$DATA/instance.json"
PORT=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["port"])' <<<"$INFO")
KEY=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["identity_file"])' <<<"$INFO")
INV=$DATA/inventory.ini
cat > "$INV" <<EOF
bench ansible_host=127.0.0.1 ansible_port=$PORT ansible_user=root ansible_ssh_private_key_file=$KEY ansible_python_interpreter=/usr/bin/python3 ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
EOF
export ANSIBLE_PIPELINING=True ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_TIMEOUT=60
export ANSIBLE_LOCAL_TEMP=$DATA/ansible-tmp
PLAY=(ansible-playbook -i "$INV" perfsec.selinux.enable_perf_mac -e relabel_mode=never)

# The seed's input: one recorded perf_event denial of unconfined_t (Debian's policy gives
# unconfined users none, so the seed's ausearch over the live log would find nothing).
AVC_LINE='type=AVC msg=audit(1700000000.100:4242): avc:  denied  { open cpu kernel tracepoint read write } for  pid=4242 comm="perf" scontext=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 tcontext=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 tclass=perf_event permissive=0'
vssh "mkdir -p /root/seed && printf '%s\n' '$AVC_LINE' > /root/seed/perf-avc.log"
# shellcheck disable=SC2016  # expanded by the VM's shell
SEED_SCRIPT='set -e; cd /root/seed
ausearch -c perf --raw -if /root/seed/perf-avc.log | audit2allow -M my-perf
checkmodule -M -m -o my-perf.mod my-perf.te
semodule_package -o my-perf.pp -m my-perf.mod
semodule -X 300 -i my-perf.pp
sysctl -w kernel.perf_event_paranoid="$(sysctl -n kernel.perf_event_paranoid)"'

log "converging once: ${PLAY[*]}"
t0=$(now)
if ! "${PLAY[@]}" > "$DATA/converge.out" 2>&1; then
  log "converge failed: tail of $DATA/converge.out:"
  tail -40 "$DATA/converge.out" >&2
  echo "JSON: {\"benchmark\": \"noop_rerun\", \"error\": \"converge failed\", \"log\": \"$DATA/converge.out\"}"
  exit 1
fi
t1=$(now)
CONVERGE_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
log "converged in ${CONVERGE_S}s"

run_one() {  # kind rep
  local kind=$1 rep=$2 before after t0 t1 rc=0 out changed=NA
  out=$DATA/$kind-$rep.out
  read -r -a before <<<"$(vm_counters)"
  t0=$(now)
  if [[ $kind == ours ]]; then
    "${PLAY[@]}" > "$out" 2>&1 || rc=$?
    changed=$(sed -n 's/^bench *: .*changed=\([0-9]*\).*/\1/p' "$out" | tail -1)
  else
    vssh "$SEED_SCRIPT" > "$out" 2>&1 || rc=$?
  fi
  t1=$(now)
  read -r -a after <<<"$(vm_counters)"
  local wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$rep" "$wall" "${before[0]}" "${after[0]}" \
    "${before[1]}" "${after[1]}" "$rc" "${changed:-NA}" >> "$RESULTS"
  log "rep $rep $kind ${wall}s commit_num ${before[0]}->${after[0]} policy loads ${before[1]}->${after[1]} rc=$rc changed=${changed:-NA}"
}

for ((rep = 0; rep < REPS; rep++)); do
  if (( rep % 2 == 0 )); then run_one ours "$rep"; run_one seed "$rep"
  else run_one seed "$rep"; run_one ours "$rep"; fi
done

"$PY" - "$RESULTS" "$CONVERGE_S" "$DATA" "$(nproc)" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$LOAD_BEFORE" "$QEMU_BEFORE" "$(( $(qemu_count) - 1 ))" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" <<'EOF'
import json, statistics, sys
path, converge_s, data, nproc, kernel, load, load0, q0, q1, date = sys.argv[1:11]
rows = [l.rstrip('\n').split('\t') for l in open(path) if l.strip()]
raw = {'ours': [], 'seed': []}
for kind, rep, wall, c0, c1, l0, l1, rc, changed in rows:
    def d(a, b):
        try:
            return int(b) - int(a)
        except ValueError:
            return None
    raw[kind].append({'rep': int(rep), 'wall_s': float(wall), 'commit_num_before': c0, 'commit_num_after': c1,
                      'rebuilds': d(c0, c1), 'policy_loads': d(l0, l1), 'rc': int(rc), 'changed': changed})
med = {k: round(statistics.median([r['wall_s'] for r in v]), 2) for k, v in raw.items() if v}
pairs = [round(s['wall_s'] / o['wall_s'], 2) for s, o in zip(raw['seed'], raw['ours'])]
summary = {'benchmark': 'noop_rerun', 'converge_s': float(converge_s), 'raw': raw, 'median_wall_s': med,
           'ratio_seed_over_ours_per_rep': pairs,
           'ratio_seed_over_ours_median': statistics.median(pairs) if pairs else None,
           'machine': {'nproc': int(nproc), 'kernel': kernel, 'loadavg_start': load0, 'loadavg_end': load,
                       'qemu_processes_before_start': int(q0), 'qemu_processes_other_at_end': int(q1),
                       'date_end': date},
           'data_dir': data}
print('%-5s %-22s %-9s %-18s %-18s %s' % ('run', 'wall s per rep', 'median s', 'rebuilds per rep', 'policy loads', 'rc'))
for k in ('ours', 'seed'):
    v = raw[k]
    print('%-5s %-22s %-9s %-18s %-18s %s' % (k, ' '.join('%.1f' % r['wall_s'] for r in v), med.get(k),
          ' '.join(str(r['rebuilds']) for r in v), ' '.join(str(r['policy_loads']) for r in v),
          ' '.join(str(r['rc']) for r in v)))
print('seed/ours wall-time ratio per rep: %s, median %s' % (pairs, summary['ratio_seed_over_ours_median']))
print('JSON: ' + json.dumps(summary, sort_keys=True))
EOF
