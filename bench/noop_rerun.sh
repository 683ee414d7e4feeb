#!/usr/bin/env bash
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Benchmark 3: no-op re-run on a converged VM, side by side (interleaved A,B,A,B,...):
#   ours  ansible-playbook -vvv perfsec.selinux.enable_perf_mac again on the converged host
#   seed  the reference procedure's shell sequence again, on the same host:
#         ausearch -c perf --raw -if AVC-LOG | audit2allow -M my-perf; checkmodule -M -m;
#         semodule_package; semodule -X 300 -i my-perf.pp; sysctl -w kernel.perf_event_paranoid=<current>
# Per run: wall time (host clock, includes SSH), guest round trips (ours: lines with "SSH: EXEC"
# in the -vvv output, one per module run with pipelining; seed: 1, its one ssh command, by
# construction), changed=, the policy store's commit_num before/after
# (/var/lib/selinux/<type>/active/commit_num, what module_utils/semodule.commit_num reads), the
# number of MAC_POLICY_LOAD audit records (policy loads into the kernel) before/after and the
# host's 1-min load average at the start of the run.
#
# Usage: bench/noop_rerun.sh [--reps N] [--probe-user] [--keep]
#   Starts one VM (tests/images/vm.py start, TCG, restored from the snapshot), converges it
#   once with enable_perf_mac (the snapshot is permissive and its policy defines perf_event:
#   the plan is final_mode + module, no relabel), then runs ours and seed N times (default 3),
#   interleaved, and stops the VM (unless --keep). Prints a table and a line "JSON: {...}".
#   --probe-user: before converging, map the VM's perfuser (root's SSH key authorised) to the
#   confined SELinux user user_u, paranoid 2, enforcing (runtime and config), as
#   molecule/perf_module/prepare.yml does; every ours run gets
#   -e perfsec_perf_probe_user=perfuser -e '{"perfsec_perf_domains": ["user_t"]}'.
#   Data: bench/.data/noop/ (bench/.data/noop/probe-user/ with --probe-user).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

REPS=3
KEEP=0
PROBE=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --reps) REPS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --probe-user) PROBE=1; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

STATE=$ROOT/bench/.data/noop/vm
if [[ $PROBE -eq 1 ]]; then MODE=probe_user; DATA=$ROOT/bench/.data/noop/probe-user
else MODE=default; DATA=$ROOT/bench/.data/noop; fi
PROBE_USER=perfuser
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
vssh_as() { local user=$1; shift; "${VM[@]}" ssh --state-dir "$STATE" --user "$user" -- "$@" </dev/null; }

now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# guest round trips of an ansible-playbook -vvv output: one "SSH: EXEC" line per ssh command
# (pipelining: one per module run); the inventory has one host, so this is per host
round_trips() { grep -c 'SSH: EXEC' "$1" || true; }

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
DATE_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)

fail() {  # message log
  log "$1: tail of $2:"
  tail -40 "$2" >&2
  echo "JSON: {\"benchmark\": \"noop_rerun\", \"mode\": \"$MODE\", \"error\": \"$1\", \"log\": \"$2\"}"
  exit 1
}

log "starting the VM (TCG, from the snapshot)"
INFO=$("${VM[@]}" start --state-dir "$STATE" --name bench)
printf '%s\n' "$INFO" > "$DATA/instance.json"
PORT=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["port"])' <<<"$INFO")
KEY=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["identity_file"])' <<<"$INFO")
INV=$DATA/inventory.ini
cat > "$INV" <<EOF2
bench ansible_host=127.0.0.1 ansible_port=$PORT ansible_user=root ansible_ssh_private_key_file=$KEY ansible_python_interpreter=/usr/bin/python3 ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
EOF2
export ANSIBLE_PIPELINING=True ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_TIMEOUT=60
export ANSIBLE_LOCAL_TEMP=$DATA/ansible-tmp
PLAY=(ansible-playbook -i "$INV" perfsec.selinux.enable_perf_mac)
if [[ $PROBE -eq 1 ]]; then
  PLAY+=(-e "perfsec_perf_probe_user=$PROBE_USER" -e '{"perfsec_perf_domains": ["user_t"]}')
fi
OURS=("${PLAY[@]}" -vvv)

if [[ $PROBE -eq 1 ]]; then
  # molecule/perf_module/prepare.yml in shell. The image has perfuser (tests/images/customize.sh);
  # created here if missing, with root's authorised key (the inventory's key) for its own login.
  log "probe user: $PROBE_USER -> user_u, restorecon, paranoid 2, enforcing (runtime and config)"
  # shellcheck disable=SC2016  # expanded by the VM's shell
  if ! vssh 'set -e; u='"$PROBE_USER"'
      id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash -c "perfsec test user" "$u"
      install -d -m 700 -o "$u" -g "$u" "/home/$u/.ssh"
      install -m 600 -o "$u" -g "$u" /root/.ssh/authorized_keys "/home/$u/.ssh/authorized_keys"
      if ! out=$(semanage login -a -s user_u "$u" 2>&1); then
        case $out in *"already defined"*) echo "semanage login: $u already mapped" ;; *) echo "$out" >&2; exit 1 ;; esac
      fi
      restorecon -RF "/home/$u"
      sysctl -w kernel.perf_event_paranoid=2
      setenforce 1
      sed -i "s/^SELINUX=.*/SELINUX=enforcing/" /etc/selinux/config
      echo "getenforce: $(getenforce); config: $(grep ^SELINUX= /etc/selinux/config); login: $(semanage login -l | grep "^$u ")"' \
      > "$DATA/prepare.out" 2>&1; then
    fail "probe-user prepare failed" "$DATA/prepare.out"
  fi
  # the checks of prepare.yml: perfuser logs in as user_t; perf is refused with a perf_event AVC
  ctx=$(vssh_as "$PROBE_USER" id -Z 2>>"$DATA/prepare.out") || true
  printf 'id -Z as %s: %s\n' "$PROBE_USER" "$ctx" >> "$DATA/prepare.out"
  [[ $ctx == *:user_t:* ]] || fail "$PROBE_USER does not log in as user_t" "$DATA/prepare.out"
  prc=0
  vssh_as "$PROBE_USER" perf stat -e task-clock -- true >> "$DATA/prepare.out" 2>&1 || prc=$?
  printf 'perf as %s: rc=%s\n' "$PROBE_USER" "$prc" >> "$DATA/prepare.out"
  grep -q 'Access to performance monitoring and observability operations is limited' "$DATA/prepare.out" \
    || fail "perf was not refused for $PROBE_USER" "$DATA/prepare.out"
  vssh "ausearch --input-logs -m AVC -c perf --raw -ts today" > "$DATA/prepare-avc.out" 2>&1 || true
  grep -q 'denied .* scontext=user_u:user_r:user_t:.* tclass=perf_event' "$DATA/prepare-avc.out" \
    || fail "no perf_event AVC of user_t" "$DATA/prepare-avc.out"
  log "probe user ready: $ctx, perf refused (rc=$prc), perf_event AVC of user_t logged"
fi

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

log "converging once: ${OURS[*]}"
t0=$(now)
"${OURS[@]}" > "$DATA/converge.out" 2>&1 || fail "converge failed" "$DATA/converge.out"
t1=$(now)
CONVERGE_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
CONVERGE_RT=$(round_trips "$DATA/converge.out")
CONVERGE_CHANGED=$(sed -n 's/^bench *: .*changed=\([0-9]*\).*/\1/p' "$DATA/converge.out" | tail -1)
# the plan line of the "Show the plan" task ("msg": "bench: <summary>")
CONVERGE_PLAN=$(sed -n 's/^ *"msg": "bench: \(.*\)"$/\1/p' "$DATA/converge.out" | head -1)
log "converged in ${CONVERGE_S}s, ${CONVERGE_RT} round trips, changed=${CONVERGE_CHANGED:-NA}, plan: ${CONVERGE_PLAN:-?}"

run_one() {  # kind rep
  local kind=$1 rep=$2 before after t0 t1 rc=0 out changed=NA rt=1 l1
  out=$DATA/$kind-$rep.out
  read -r -a before <<<"$(vm_counters)"
  l1=$(load1)
  t0=$(now)
  if [[ $kind == ours ]]; then
    "${OURS[@]}" > "$out" 2>&1 || rc=$?
  else
    vssh "$SEED_SCRIPT" > "$out" 2>&1 || rc=$?
  fi
  t1=$(now)
  if [[ $kind == ours ]]; then
    changed=$(sed -n 's/^bench *: .*changed=\([0-9]*\).*/\1/p' "$out" | tail -1)
    rt=$(round_trips "$out")
  fi
  read -r -a after <<<"$(vm_counters)"
  local wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$rep" "$wall" "${before[0]}" "${after[0]}" \
    "${before[1]}" "${after[1]}" "$rc" "${changed:-NA}" "$rt" "$l1" >> "$RESULTS"
  log "rep $rep $kind ${wall}s round trips $rt commit_num ${before[0]}->${after[0]} policy loads ${before[1]}->${after[1]} rc=$rc changed=${changed:-NA} load $l1"
}

for ((rep = 0; rep < REPS; rep++)); do
  if (( rep % 2 == 0 )); then run_one ours "$rep"; run_one seed "$rep"
  else run_one seed "$rep"; run_one ours "$rep"; fi
done

"$PY" - "$RESULTS" "$CONVERGE_S" "$DATA" "$(nproc)" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$LOAD_BEFORE" "$QEMU_BEFORE" "$(( $(qemu_count) - 1 ))" "$DATE_START" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$MODE" "$CONVERGE_RT" "${CONVERGE_CHANGED:-NA}" "${CONVERGE_PLAN:-}" "${OURS[*]}" "$SEED_SCRIPT" <<'EOF2'
import json, statistics, sys
(path, converge_s, data, nproc, kernel, load, load0, q0, q1, date0, date, mode,
 conv_rt, conv_changed, conv_plan, ours_cmd, seed_cmd) = sys.argv[1:18]
rows = [l.rstrip('\n').split('\t') for l in open(path) if l.strip()]
raw = {'ours': [], 'seed': []}
for kind, rep, wall, c0, c1, l0, l1, rc, changed, rt, load1 in rows:
    def d(a, b):
        try:
            return int(b) - int(a)
        except ValueError:
            return None
    raw[kind].append({'rep': int(rep), 'wall_s': float(wall), 'commit_num_before': c0, 'commit_num_after': c1,
                      'rebuilds': d(c0, c1), 'policy_loads': d(l0, l1), 'rc': int(rc), 'changed': changed,
                      'round_trips': int(rt), 'loadavg1_start': float(load1)})
med = {k: round(statistics.median([r['wall_s'] for r in v]), 2) for k, v in raw.items() if v}
pairs = [round(s['wall_s'] / o['wall_s'], 2) for s, o in zip(raw['seed'], raw['ours'])]
summary = {'benchmark': 'noop_rerun', 'mode': mode, 'converge_s': float(converge_s),
           'converge_round_trips': int(conv_rt), 'converge_changed': conv_changed, 'converge_plan': conv_plan,
           'raw': raw, 'median_wall_s': med,
           'round_trips_per_host': {k: [r['round_trips'] for r in v] for k, v in raw.items()},
           'round_trips_note': 'ours: lines with "SSH: EXEC" in the ansible-playbook -vvv output (one host, '
                               'pipelining: one per module run); seed: 1 by construction (one vm.py ssh command)',
           'ratio_seed_over_ours_per_rep': pairs,
           'ratio_seed_over_ours_median': statistics.median(pairs) if pairs else None,
           'commands': {'ours': ours_cmd, 'seed': seed_cmd},
           'machine': {'nproc': int(nproc), 'kernel': kernel, 'loadavg_start': load0, 'loadavg_end': load,
                       'qemu_processes_before_start': int(q0), 'qemu_processes_other_at_end': int(q1),
                       'date_start': date0, 'date_end': date},
           'data_dir': data}
fmt = '%-5s %-20s %-9s %-12s %-10s %-14s %-13s %-14s %s'
print('mode: %s; converge %.1f s, %s round trips, changed=%s, plan: %s'
      % (mode, float(converge_s), conv_rt, conv_changed, conv_plan))
print(fmt % ('run', 'wall s per rep', 'median s', 'round trips', 'changed', 'rebuilds', 'policy loads', 'load1 start', 'rc'))
for k in ('ours', 'seed'):
    v = raw[k]
    j = lambda key, f='%s': ' '.join(f % r[key] for r in v)
    print(fmt % (k, j('wall_s', '%.1f'), med.get(k), j('round_trips'), j('changed'), j('rebuilds'),
                 j('policy_loads'), j('loadavg1_start'), j('rc')))
print('seed/ours wall-time ratio per rep: %s, median %s' % (pairs, summary['ratio_seed_over_ours_median']))
print('JSON: ' + json.dumps(summary, sort_keys=True))
EOF2
