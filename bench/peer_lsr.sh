#!/usr/bin/env bash
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Benchmark 7 (issue 19): a peer benchmark against linux-system-roles/selinux on ONE Debian 12
# test-bed VM. Both tools install the same small perf_event module at priority 300, under two
# names on the same host (perfsec_bench_ours, perfsec_bench_lsr: the same rules, so the store
# holds two pp modules with the same CIL sha256, checked), phase by phase, interleaved:
#   ours     ansible-playbook bench/playbooks/peer_ours.yml: perfsec.selinux.perf_semodule with
#            content = the .te (compiled on the target by checkmodule + semodule_package, CIL
#            sha256 compared with the store's)
#   lsr      ansible-playbook bench/playbooks/peer_lsr.yml: role `selinux` (the peer checkout,
#            through ANSIBLE_ROLES_PATH) with selinux_modules [{path: PP, priority: 300,
#            state: enabled}], the .pp compiled on the controller (the role does not build
#            modules; its `path` is read on the controller and copied to the host); priority
#            the integer 300, as the peer's README writes it (priority: 350)
#   lsr_q    the same with priority "300" quoted (a string): no-op phase only (see README.md)
# Phases (each run: wall time on the host clock, the recap's changed=, rc, the store's
# commit_num before/after = policy rebuilds, MAC_POLICY_LOAD audit records before/after = policy
# loads into the kernel, the two modules' `semodule -lfull -m` lines, 1-min load average):
#   install  first install (ours, then lsr; the store differs by the other tool's one module)
#   noop     N reps of ours, lsr, lsr_q on the unchanged sources, order rotated per rep
#   check    the .te edited (tracepoint added), the .pp rebuilt, each tool run with --check
#            (lsr, then ours): does it report changed, and is the host left as it was?
#
# Usage: bench/peer_lsr.sh --peer PATH [--peer-commit SHA] [--reps N]
#                          [--commit REV | --worktree] [--keep]
#   --peer         the peer's checkout, a directory named `selinux` or
#                  `linux-system-roles.selinux` (ANSIBLE_ROLES_PATH is its parent), e.g.
#                  git --git-dir=<bare clone of linux-system-roles/selinux> worktree add \
#                    --detach /tmp/lsr-peer/selinux HEAD
#   --peer-commit  the peer's commit when PATH is not a git work tree (else git rev-parse HEAD)
#   --reps         no-op repetitions (default 3)
#   --commit       the collection under test: `git archive REV` into the run's data dir
#                  (default HEAD: edits in progress in the shared checkout stay out)
#   --worktree     test the checkout as it is (build/collections, scripts/env.sh) instead
#   --keep         leave the VM running (stop: .venv/bin/python tests/images/vm.py stop
#                  --state-dir .cache/vms/bench-peer/run)
# VM: tests/images/vm.py start --state-dir .cache/vms/bench-peer/run (TCG, from the snapshot:
# permissive), then `setenforce 1` (runtime); stopped on exit (trap) unless --keep.
# Data: bench/.data/peer/RUN_ID/ (module sources, outputs, runs.tsv); one JSON line appended to
# bench/.data/peer/results.jsonl. Prints a table, ratios and a line "JSON: {...}".
# Exit status 1 if a run failed (rc != 0) or the check phase changed the host.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

PEER=
PEER_COMMIT=
REPS=3
COMMIT=HEAD
WORKTREE=0
KEEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --peer) PEER=$2; shift 2 ;;
    --peer-commit) PEER_COMMIT=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --commit) COMMIT=$2; shift 2 ;;
    --worktree) WORKTREE=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,46p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 2; }

[[ -n $PEER ]] || die "--peer PATH is required (a checkout of linux-system-roles/selinux)"
PEER=$(cd "$PEER" && pwd) || die "no such directory: $PEER"
PEER_ROLE=$(basename "$PEER")
[[ $PEER_ROLE == selinux || $PEER_ROLE == linux-system-roles.selinux ]] \
  || die "the peer's directory must be named selinux or linux-system-roles.selinux (is $PEER_ROLE)"
[[ -f $PEER/tasks/main.yml && -f $PEER/library/local_semodule.py ]] \
  || die "$PEER does not look like linux-system-roles/selinux (tasks/main.yml, library/local_semodule.py)"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
if [[ -z $PEER_COMMIT ]]; then
  PEER_COMMIT=$(git -C "$PEER" rev-parse HEAD 2>/dev/null) \
    || die "$PEER is not a git work tree: give its commit with --peer-commit SHA"
fi
PEER_DIRTY=$(git -C "$PEER" status --porcelain 2>/dev/null | wc -l || echo NA)

PY=$ROOT/.venv/bin/python
VM=("$PY" "$ROOT/tests/images/vm.py")
STATE=$ROOT/.cache/vms/bench-peer/run
[[ ! -e $STATE ]] || die "$STATE exists (a VM of an earlier run?): stop it with ${VM[*]} stop --state-dir $STATE"
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
BASE=$ROOT/bench/.data/peer
DATA=$BASE/$RUN_ID
mkdir -p "$DATA"
RUNS=$DATA/runs.tsv
: > "$RUNS"
RESULTS=$BASE/results.jsonl

# the collection under test
if [[ $WORKTREE -eq 1 ]]; then
  UNDER_TEST="worktree $(git -C "$ROOT" rev-parse --short HEAD) + $(git -C "$ROOT" status --porcelain -- plugins | wc -l) modified under plugins/"
else
  SHA=$(git -C "$ROOT" rev-parse --verify "$COMMIT^{commit}")
  COLL=$DATA/collections/ansible_collections/perfsec/selinux
  mkdir -p "$COLL"
  git -C "$ROOT" archive "$SHA" | tar -x -C "$COLL"
  export ANSIBLE_COLLECTIONS_PATH=$DATA/collections
  UNDER_TEST="git archive $SHA"
fi
ANSIBLE_ROLES_PATH=$(dirname "$PEER")
export ANSIBLE_ROLES_PATH
export ANSIBLE_PIPELINING=True ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_TIMEOUT=60
export ANSIBLE_LOCAL_TEMP=$DATA/ansible-tmp
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=all

cleanup() {
  if [[ $KEEP -eq 0 && -e $STATE ]]; then
    log "stopping the VM"
    "${VM[@]}" stop --state-dir "$STATE" >&2 || true
  fi
}
trap cleanup EXIT

vssh() { timeout 300 "${VM[@]}" ssh --state-dir "$STATE" -- "$@" </dev/null; }
now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }
qemu_count() { local n=0 c; for c in /proc/[0-9]*/comm; do [[ $(cat "$c" 2>/dev/null) == qemu* ]] && n=$((n + 1)); done; echo "$n"; }
round_trips() { grep -c 'SSH: EXEC' "$1" || true; }
recap() {  # field out: the recap's FIELD= of host bench
  sed -n "s/^bench *: .*$1=\([0-9]*\).*/\1/p" "$2" | tail -1
}

# "COMMIT_NUM POLICY_LOADS MODULES" of the VM. commit_num is what
# module_utils/semodule.commit_num reads: libsemanage 3.4 writes a NUL-padded decimal string
# (older ones a raw int: read with od then). MODULES: the benchmark's modules in
# `semodule -lfull -m` (priority:name:lang:CIL sha256), comma-joined.
vm_counters() {
  # shellcheck disable=SC2016  # expanded by the VM's shell
  vssh 't=$(. /etc/selinux/config; echo "$SELINUXTYPE"); f=/var/lib/selinux/$t/active/commit_num
        c=$(tr -d "\000" < "$f" 2>/dev/null || true)
        case $c in ""|*[!0-9]*) c=$(od -An -tu4 -N4 "$f" 2>/dev/null | tr -d " ") ;; esac
        l=$(ausearch --input-logs -m MAC_POLICY_LOAD --raw 2>/dev/null | grep -c "type=MAC_POLICY_LOAD" || true)
        m=$(semodule -lfull -m 2>/dev/null | awk "\$2 ~ /^perfsec_bench_/ {print \$1 \":\" \$2 \":\" \$3 \":\" substr(\$4, 8, 12)}" | sort | paste -sd, -)
        echo "${c:-NA} ${l:-0} ${m:-none}"'
}

QEMU_BEFORE=$(qemu_count)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "run $RUN_ID: peer $PEER ($PEER_COMMIT), collection $UNDER_TEST, load $LOAD_BEFORE, $QEMU_BEFORE qemu running"

# --- the module: the same rules for both tools, one .te per name; v2 adds tracepoint ----------
OURS_NAME=perfsec_bench_ours
LSR_NAME=perfsec_bench_lsr
write_te() {  # version name perms
  mkdir -p "$DATA/src/$1"
  printf 'module %s 1.0;\n\nrequire {\n\ttype user_t;\n\tclass perf_event { %s };\n}\n\nallow user_t self:perf_event { %s };\n' \
    "$2" "$3" "$3" > "$DATA/src/$1/$2.te"
}
PP_COMPILE_S=()
build_pp() {  # version: the peer's .pp on the controller (checkmodule -M -m + semodule_package)
  local d=$DATA/src/$1 t0 t1
  t0=$(now)
  checkmodule -M -m -o "$d/$LSR_NAME.mod" "$d/$LSR_NAME.te" > "$d/build.out" 2>&1
  semodule_package -o "$d/$LSR_NAME.pp" -m "$d/$LSR_NAME.mod" >> "$d/build.out" 2>&1
  t1=$(now)
  PP_COMPILE_S+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')")
}
for n in "$OURS_NAME" "$LSR_NAME"; do
  write_te v1 "$n" "open cpu kernel read write"
  write_te v2 "$n" "open cpu kernel tracepoint read write"
done
build_pp v1
build_pp v2
CHECKMODULE_HOST=$(checkmodule -V 2>&1 | head -1)

# --- the VM -------------------------------------------------------------------------------------
log "starting the VM (TCG, from the snapshot)"
INFO=$("${VM[@]}" start --state-dir "$STATE" --name peer)
printf '%s\n' "$INFO" > "$DATA/instance.json"
PORT=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["port"])' <<<"$INFO")
KEY=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["identity_file"])' <<<"$INFO")
INV=$DATA/inventory.ini
cat > "$INV" <<EOF2
bench ansible_host=127.0.0.1 ansible_port=$PORT ansible_user=root ansible_ssh_private_key_file=$KEY ansible_python_interpreter=/usr/bin/python3 ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
EOF2
# shellcheck disable=SC2016  # expanded by the VM's shell
vssh 'setenforce 1; echo "getenforce: $(getenforce)"; echo "policy: $(. /etc/selinux/config; echo "$SELINUXTYPE")";
      echo "modules: $(semodule -l | wc -l)"; dpkg-query -W -f "\${Package} \${Version}\n" libsemanage2 policycoreutils checkpolicy semodule-utils python3-semanage selinux-policy-default;
      uname -r' > "$DATA/guest.txt" 2>&1 || { cat "$DATA/guest.txt" >&2; exit 1; }
log "guest: $(tr '\n' ';' < "$DATA/guest.txt")"

# --- one run ------------------------------------------------------------------------------------
FAILED=0
run_one() {  # phase tool rep version [--check]
  local phase=$1 tool=$2 rep=$3 ver=$4 extra=() cmd before after t0 t1 rc=0 out l1 wall
  [[ ${5:-} == --check ]] && extra=(--check)
  out=$DATA/$phase-$tool-$rep.out
  case $tool in
    ours) cmd=(ansible-playbook -vvv -i "$INV" "$ROOT/bench/playbooks/peer_ours.yml"
               -e "bench_module_name=$OURS_NAME" -e "bench_te=$DATA/src/$ver/$OURS_NAME.te") ;;
    lsr) cmd=(ansible-playbook -vvv -i "$INV" "$ROOT/bench/playbooks/peer_lsr.yml"
              -e "bench_pp=$DATA/src/$ver/$LSR_NAME.pp" -e '{"bench_priority": 300}') ;;
    lsr_q) cmd=(ansible-playbook -vvv -i "$INV" "$ROOT/bench/playbooks/peer_lsr.yml"
                -e "bench_pp=$DATA/src/$ver/$LSR_NAME.pp" -e '{"bench_priority": "300"}') ;;
  esac
  cmd+=("${extra[@]}")
  printf '%s\n' "${cmd[*]}" > "$out.cmd"
  read -r -a before <<<"$(vm_counters)"
  l1=$(load1)
  t0=$(now)
  timeout 1800 "${cmd[@]}" > "$out" 2>&1 || rc=$?
  t1=$(now)
  read -r -a after <<<"$(vm_counters)"
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  [[ $rc -eq 0 ]] || { FAILED=1; log "FAILED ($rc): tail of $out:"; tail -20 "$out" >&2; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$tool" "$rep" "$wall" \
    "${before[0]}" "${after[0]}" "${before[1]}" "${after[1]}" "${before[2]}" "${after[2]}" "$rc" \
    "$(recap changed "$out")" "$(recap ok "$out")" "$(round_trips "$out")" "$l1" >> "$RUNS"
  log "$phase $tool rep $rep: ${wall}s rc=$rc changed=$(recap changed "$out") commit_num ${before[0]}->${after[0]} policy loads ${before[1]}->${after[1]} load $l1"
}

# 1. first install
run_one install ours 0 v1
run_one install lsr 0 v1
# 2. no-op re-runs, order rotated per repetition
ORDERS=("ours lsr lsr_q" "lsr lsr_q ours" "lsr_q ours lsr")
for ((rep = 0; rep < REPS; rep++)); do
  for tool in ${ORDERS[rep % 3]}; do run_one noop "$tool" "$rep" v1; done
done
# 3. check mode after a change to the module (v2: tracepoint added, .pp rebuilt)
run_one check lsr 0 v2 --check
run_one check ours 0 v2 --check

"$PY" - "$RUNS" "$DATA" "$RESULTS" "$RUN_ID" "$PEER" "$PEER_COMMIT" "$PEER_DIRTY" "$UNDER_TEST" \
  "$(nproc)" "$(uname -r)" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)" "$QEMU_BEFORE" \
  "$(( $(qemu_count) - 1 ))" "$DATE_START" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$CHECKMODULE_HOST" \
  "${PP_COMPILE_S[*]}" "$(ansible --version | head -1)" "$REPS" <<'EOF2'
import glob, json, os, statistics, sys
(runs, data, results, run_id, peer, peer_commit, peer_dirty, under_test, nproc, kernel, load0, load1,
 q0, q1, date0, date1, checkmodule, pp_s, ansible_version, reps) = sys.argv[1:21]

def coll_version(ns, name):
    for d in glob.glob(os.path.join(sys.prefix, 'lib', 'python3*', 'site-packages', 'ansible_collections', ns, name)):
        try:
            return json.load(open(os.path.join(d, 'MANIFEST.json')))['collection_info']['version']
        except (OSError, ValueError, KeyError):
            pass
    return None

def delta(a, b):
    try:
        return int(b) - int(a)
    except ValueError:
        return None

rows = []
for line in open(runs):
    f = line.rstrip('\n').split('\t')
    if len(f) < 15:
        continue
    phase, tool, rep, wall, c0, c1, l0, l1, m0, m1, rc, changed, ok, rt, la = f
    rows.append({'phase': phase, 'tool': tool, 'rep': int(rep), 'wall_s': float(wall),
                 'commit_num_before': c0, 'commit_num_after': c1, 'rebuilds': delta(c0, c1),
                 'policy_loads': delta(l0, l1), 'modules_before': m0, 'modules_after': m1,
                 'rc': int(rc), 'changed': int(changed) if changed.isdigit() else None,
                 'ok': int(ok) if ok.isdigit() else None, 'round_trips': int(rt),
                 'loadavg1_start': float(la)})

def sel(phase, tool):
    return [r for r in rows if r['phase'] == phase and r['tool'] == tool]

def med(phase, tool):
    v = [r['wall_s'] for r in sel(phase, tool)]
    return round(statistics.median(v), 2) if v else None

def ratio(a, b):
    return round(a / b, 2) if a and b else None

noop_pairs = {}
for peer_tool in ('lsr', 'lsr_q'):
    ours = {r['rep']: r['wall_s'] for r in sel('noop', 'ours')}
    noop_pairs[peer_tool] = [round(r['wall_s'] / ours[r['rep']], 2) for r in sel('noop', peer_tool) if r['rep'] in ours]
check = {}
for tool in ('ours', 'lsr'):
    for r in sel('check', tool):
        check[tool] = {'reported_changed': (r['changed'] or 0) > 0, 'changed': r['changed'],
                       'host_unchanged': r['rebuilds'] == 0 and r['policy_loads'] == 0
                       and r['modules_before'] == r['modules_after'],
                       'wall_s': r['wall_s']}
summary = {
    'benchmark': 'peer_lsr', 'run_id': run_id, 'reps': int(reps),
    'peer': {'repo': 'linux-system-roles/selinux', 'path': peer, 'commit': peer_commit,
             'uncommitted_files': peer_dirty},
    'collection_under_test': under_test,
    'module': {'ours': 'perfsec_bench_ours (perf_semodule content: .te, compiled on the target)',
               'lsr': 'perfsec_bench_lsr (.pp compiled on the controller)', 'priority': 300,
               'v1': 'allow user_t self:perf_event { open cpu kernel read write }',
               'v2': 'v1 + tracepoint (the check phase)',
               'pp_compile_s_controller': [float(x) for x in pp_s.split()],
               'checkmodule_controller': checkmodule},
    'raw': rows,
    'install_wall_s': {t: med('install', t) for t in ('ours', 'lsr')},
    'noop_median_wall_s': {t: med('noop', t) for t in ('ours', 'lsr', 'lsr_q')},
    'ratio_install_lsr_over_ours': ratio(med('install', 'lsr'), med('install', 'ours')),
    'ratio_noop_peer_over_ours_per_rep': noop_pairs,
    'ratio_noop_peer_over_ours_median': {k: statistics.median(v) if v else None for k, v in noop_pairs.items()},
    'check_mode_after_change': check,
    'versions': {'ansible': ansible_version, 'ansible.posix': coll_version('ansible', 'posix'),
                 'community.general': coll_version('community', 'general'),
                 'guest': open(os.path.join(data, 'guest.txt')).read().strip().splitlines()},
    'machine': {'nproc': int(nproc), 'kernel': kernel, 'loadavg_start': load0, 'loadavg_end': load1,
                'qemu_processes_before_start': int(q0), 'qemu_processes_other_at_end': int(q1),
                'date_start': date0, 'date_end': date1},
    'data_dir': data,
}
fmt = '%-8s %-6s %-22s %-9s %-10s %-10s %-13s %-11s %s'
print(fmt % ('phase', 'tool', 'wall s per rep', 'median s', 'changed', 'rebuilds', 'policy loads', 'load1', 'rc'))
for phase, tools in (('install', ('ours', 'lsr')), ('noop', ('ours', 'lsr', 'lsr_q')), ('check', ('ours', 'lsr'))):
    for t in tools:
        v = sel(phase, t)
        if not v:
            continue
        j = lambda key, f='%s': ' '.join(f % r[key] for r in v)
        print(fmt % (phase, t, j('wall_s', '%.1f'), med(phase, t), j('changed'), j('rebuilds'),
                     j('policy_loads'), j('loadavg1_start'), j('rc')))
print('first install lsr/ours: %s' % summary['ratio_install_lsr_over_ours'])
for k, v in noop_pairs.items():
    print('no-op %s/ours per rep: %s, median %s' % (k, v, summary['ratio_noop_peer_over_ours_median'][k]))
for t, c in sorted(check.items()):
    print('check mode after the change, %s: reported changed=%s; host unchanged (commit_num, policy loads, modules): %s'
          % (t, c['changed'], c['host_unchanged']))
line = json.dumps(summary, sort_keys=True)
with open(results, 'a') as f:
    f.write(line + '\n')
print('JSON: ' + line)
sys.exit(0 if all(c['host_unchanged'] for c in check.values()) else 1)
EOF2
[[ $FAILED -eq 0 ]] || exit 1
echo "reproduce: bench/peer_lsr.sh --peer $PEER --reps $REPS$([[ $WORKTREE -eq 1 ]] && echo ' --worktree' || echo " --commit ${SHA:0:12}")   # peer at $PEER_COMMIT"
