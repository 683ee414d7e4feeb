#!/usr/bin/env bash
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Benchmark 6 (issue 15): time to bring ONE fresh Fedora-31-like host under MAC with
# `perf stat -e task-clock -- true` working for the confined user perfuser (user_u), three
# variants, each on its own fresh VM (vm.py start --flavour fc31like: permissive, rpm-packaged
# policy without class perf_event), one after the other:
#   seed     the reference procedure as written, except that steps 1-4 (rpm -i SRPM,
#            rpmbuild -bp, patch access_vectors/security_classes, rpmbuild --noclean --noprep -ba)
#            run on the CONTROLLER, as our rebuild route does (the seed ran them on the box);
#            then scp of the RPMs, rpm -Uhv --nodeps on the host, setenforce 0 +
#            SELINUX=permissive, touch /.autorelabel, systemctl reboot, wait for ssh and for
#            /.autorelabel to be gone, setenforce 1 + SELINUX=enforcing, then rounds of: perf as
#            perfuser, `ausearch -c perf --raw | audit2allow -M my-perf`, `semodule -X 300 -i
#            my-perf.pp`, until perf works and gives no new denial (at most --max-rounds).
#            Two changes the non-interactive ssh and the fixture force: ausearch gets
#            --input-logs (without a terminal it reads stdin, not the log), and rpm -Uhv, refused
#            because the rebuilt packages have the installed NEVRA, is repeated with --replacepkgs.
#   rebuild  ansible-playbook -i INV perfsec.selinux.enable_perf_mac with the vars of
#            molecule/fc31like/molecule.yml (policy built on localhost from the fixture SRPM, a
#            fresh policy_build_workdir/fetch_dir: no cache hit), probe user perfuser, [user_t].
#   module   the same with -e perfsec_class_source=module (fresh, empty build dirs).
#   rebuild_warm (optional) the rebuild route on another fresh VM with the build dirs of this
#            run's `rebuild` variant: the build is a cache hit.
# Before each variant's clock: what molecule/fc31like/prepare.yml does (perfuser -> user_u,
# restorecon, paranoid 2 persisted and live) and its starting-state checks.
# Per variant: wall time from its start to perf working for perfuser (checked at the end over
# ssh as perfuser, inside the clock), reboots (boot id change; kernel banners in the serial
# log), policy builds (rpmbuild -ba calls, counted by a wrapper first in PATH), whether the
# selinux-policy packages were replaced (NEVRA + build time + SIGMD5 before/after), the load
# average at start and end, and a breakdown: the seed's own steps; for ansible, profile_tasks'
# per-task times summed per role.
#
# Usage: bench/fresh_host.sh [--variants seed,rebuild,module] [--max-rounds N]
#                            [--commit REV | --worktree] [--keep] [--boot-timeout S]
#        bench/fresh_host.sh --table [--runs RUN_ID,...]
#   --variants   comma list, run in this order (default seed,rebuild,module); rebuild_warm
#                needs rebuild earlier in the same list
#   --commit     the collection under test for the ansible variants: `git archive REV` into the
#                run's data dir (default HEAD: edits in progress in a shared checkout stay out)
#   --worktree   test the checkout as it is (build/collections, scripts/env.sh) instead
#   --keep       leave each VM running (stop: .venv/bin/python tests/images/vm.py stop --state-dir DIR)
#   --table      print the table and ratios from bench/.data/fresh/results.jsonl: the newest
#                record of each variant (or of the given runs), no VM started
# Data: bench/.data/fresh/RUN_ID/<variant>/ (outputs, steps.tsv, VM state), one JSON line per
# variant appended to bench/.data/fresh/results.jsonl. Prints a table and a line "JSON: {...}".
# Exit status 1 if a variant did not end with perf working for perfuser.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

VARIANTS=seed,rebuild,module
MAX_ROUNDS=5
COMMIT=HEAD
KEEP=0
BOOT_TIMEOUT=2400
TABLE_ONLY=0
TABLE_RUNS=
while [[ $# -gt 0 ]]; do
  case $1 in
    --variants) VARIANTS=$2; shift 2 ;;
    --max-rounds) MAX_ROUNDS=$2; shift 2 ;;
    --commit) COMMIT=$2; shift 2 ;;
    --worktree) COMMIT=; shift ;;
    --keep) KEEP=1; shift ;;
    --boot-timeout) BOOT_TIMEOUT=$2; shift 2 ;;
    --table) TABLE_ONLY=1; shift ;;
    --runs) TABLE_RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,46p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

BASE=$ROOT/bench/.data/fresh
RESULTS=$BASE/results.jsonl
PY=$ROOT/.venv/bin/python
VM=("$PY" "$ROOT/tests/images/vm.py")
FIXTURE=$ROOT/tests/fixtures/policy/fc31tree.py
PROBE_USER=perfuser
mkdir -p "$BASE"

# --- the table: newest record per variant (or the records of the given runs) --------------
print_table() {  # [run ids, comma separated]
  "$PY" - "$RESULTS" "${1:-}" <<'EOF'
import json, sys
path, runs = sys.argv[1], [r for r in sys.argv[2].split(',') if r]
recs = [json.loads(l) for l in open(path) if l.strip()]
if runs:
    recs = [r for r in recs if r['run_id'] in runs]
latest = {}
for r in recs:
    latest[r['variant']] = r
order = [v for v in ('seed', 'rebuild', 'rebuild_warm', 'module') if v in latest]
rows = [('variant', 'wall s', 'perf works under MAC', 'reboots (boot id / banners)', 'builds (-ba)',
         'packages replaced', 'modules >= 200 at end', 'load start -> end', 'run')]
for v in order:
    r = latest[v]
    rows.append((v, '%.1f' % r['wall_s'], 'yes' if r.get('success') else
                 'NO (rc=%s, perf %s, %s, class %s)' % (r['rc'], 'works' if r['perf_works'] else 'fails',
                                                      r['end'].get('mode'), r['end'].get('class')),
                 '%d / %d' % (r['reboots_boot_id'], r['reboots_banners']), str(r['builds_ba']),
                 'yes' if r['packages_replaced'] else 'no', r['end']['modules'] or '-',
                 '%s -> %s' % (r['load_start'].split()[0], r['load_end'].split()[0]), r['run_id']))
w = [max(len(str(x[i])) for x in rows) for i in range(len(rows[0]))]
for x in rows:
    print('  '.join(str(c).ljust(w[i]) for i, c in enumerate(x)))
ratios = {}
for v in ('rebuild', 'rebuild_warm', 'module'):
    if 'seed' in latest and v in latest:
        ratios['seed/' + v] = round(latest['seed']['wall_s'] / latest[v]['wall_s'], 2)
print('ratios: ' + (', '.join('%s = %.2f' % kv for kv in ratios.items()) or 'n/a'))
for v in order:
    r = latest[v]
    print('%s breakdown: %s' % (v, '; '.join('%s %.1f s' % (k, s) for k, s in r['breakdown'])))
print('JSON: ' + json.dumps({'benchmark': 'fresh_host', 'variants': latest, 'ratios': ratios}, sort_keys=True))
EOF
}

if [[ $TABLE_ONLY -eq 1 ]]; then
  print_table "$TABLE_RUNS"
  exit 0
fi

RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
DATA=$BASE/$RUN_ID
mkdir -p "$DATA"
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
qemu_count() { local n=0 c; for c in /proc/[0-9]*/comm; do [[ $(cat "$c" 2>/dev/null) == qemu* ]] && n=$((n + 1)); done; echo "$n"; }

# --- VMs: every state dir this script starts is stopped on exit ----------------------------
STARTED=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  local s
  if [[ $KEEP -eq 0 ]]; then
    for s in "${STARTED[@]}"; do
      if [[ -d $s ]]; then log "stopping the VM $s"; "${VM[@]}" stop --state-dir "$s" >&2 || true; fi
    done
  fi
}
trap cleanup EXIT

STATE=
# ssh to the VM as USER, retried when ssh could not even connect (on a loaded machine the
# guest's sshd can miss vm.py's 10 s ConnectTimeout: "Connection timed out during banner
# exchange"): the command did not run then, so running it again is safe.
RETRY_LOG=/dev/null
ssh_user() {  # user timeout cmd...
  local u=$1 t=$2 i rc err
  shift 2
  err=$(mktemp)
  for ((i = 1; i <= 8; i++)); do
    rc=0
    timeout "$t" "${VM[@]}" ssh --state-dir "$STATE" --user "$u" -- "$@" </dev/null 2>"$err" || rc=$?
    if [[ $rc -eq 255 ]] && grep -qE 'banner exchange|Connection timed out|Connection refused|kex_exchange_identification' "$err"; then
      echo "$(date -u +%T) $(head -1 "$err")" >> "$RETRY_LOG"
      log "  ssh could not connect ($(head -1 "$err")), retry $i"
      sleep 10
      continue
    fi
    break
  done
  cat "$err" >&2
  rm -f "$err"
  return "$rc"
}
# 3600 s: under TCG on a loaded machine the rpm -Uhv of the rebuilt policy took over 900 s
vssh() { ssh_user root 3600 "$@"; }
vssh_as() { local u=$1; shift; ssh_user "$u" 300 "$@"; }
banners() { grep -c 'Linux version' "$STATE/serial.log" 2>/dev/null || true; }

# The state a variant is judged by, as key=value lines.
read_state() {
  # shellcheck disable=SC2016  # expanded by the VM's shell
  vssh 'echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
    echo "mode=$(getenforce)"
    echo "config_mode=$(sed -n "s/^SELINUX=//p" /etc/selinux/config)"
    echo "class=$(test -e /sys/fs/selinux/class/perf_event/perms/open && echo yes || echo no)"
    echo "dmesg_undefined=$(journalctl -k -b -o cat --no-pager | grep -c "Class perf_event not defined in policy")"
    echo "packages=$(rpm -qa --qf "%{NEVRA}@%{BUILDTIME}@%{SIGMD5}\n" "selinux-policy*" | sort | tr "\n" " ")"
    echo "autorelabel=$(test -e /.autorelabel && echo yes || echo no)"
    echo "modules=$(semodule -lfull | awk "\$1 >= 200 {print \$2 \"@\" \$1}" | sort | tr "\n" " ")"
    echo "paranoid=$(sysctl -n kernel.perf_event_paranoid)"'
}
get() { sed -n "s/^$1=//p" "$2" | head -1; }

# perf as perfuser: 0 when it counted task-clock (exit 0, the event counted)
perf_works() {  # outfile
  local rc=0
  vssh_as "$PROBE_USER" perf stat -e task-clock -- true > "$1" 2>&1 || rc=$?
  echo "rc=$rc" >> "$1"
  [[ $rc -eq 0 ]] && grep -q 'task-clock' "$1" && ! grep -qE '<not (counted|supported)>' "$1"
}
# perf_event AVC denials of comm perf in the audit log
perf_denials() {
  vssh 'ausearch --input-logs -m AVC -c perf --raw 2>/dev/null | grep -c "denied .* tclass=perf_event" || true'
}

# --- molecule/fc31like/prepare.yml, in shell; then its starting-state checks ---------------
prepare() {  # dir
  local d=$1
  # shellcheck disable=SC2016  # expanded by the VM's shell
  vssh 'set -e; u='"$PROBE_USER"'
    if ! out=$(semanage login -a -s user_u "$u" 2>&1); then
      case $out in *"already defined"*) ;; *) echo "$out" >&2; exit 1 ;; esac
    fi
    restorecon -RF "/home/$u"
    printf "kernel.perf_event_paranoid = 2\n" > /etc/sysctl.d/50-rollout-test.conf
    chmod 0644 /etc/sysctl.d/50-rollout-test.conf
    sysctl -w kernel.perf_event_paranoid=2' > "$d/prepare.out" 2>&1 || return 1
  read_state > "$d/state-start.txt" || return 1
  vssh_as "$PROBE_USER" id -Z >> "$d/prepare.out" 2>&1 || true
  # nothing mediates perf yet (class undefined, unknown classes allowed, permissive)
  if perf_works "$d/perf-start.out"; then echo "perf_at_start=works" >> "$d/state-start.txt"
  else echo "perf_at_start=fails" >> "$d/state-start.txt"; fi
  local f=$d/state-start.txt
  [[ $(get mode "$f") == Permissive && $(get config_mode "$f") == permissive ]] || { log "not permissive"; return 1; }
  [[ $(get class "$f") == no && $(get dmesg_undefined "$f") -ge 1 ]] || { log "class perf_event already defined"; return 1; }
  [[ $(get packages "$f") == *selinux-policy-2.20221101-48.fc31like.noarch@*selinux-policy-fc31like-2.20221101-48.fc31like.noarch@* ]] \
    || { log "not the fixture's packages: $(get packages "$f")"; return 1; }
  [[ $(get autorelabel "$f") == no && -z $(get modules "$f" | tr -d ' ') ]] || { log "autorelabel or modules present"; return 1; }
  [[ $(get paranoid "$f") == 2 ]] || { log "paranoid is not 2"; return 1; }
  grep -q ':user_t:' "$d/prepare.out" || { log "perfuser does not log in as user_t"; return 1; }
}

# --- the rpmbuild counter (policy builds), first in PATH for every variant -----------------
mkdir -p "$DATA/bin"
cat > "$DATA/bin/rpmbuild" <<'EOF'
#!/bin/sh
# bench/fresh_host.sh: count rpmbuild invocations, then run the real one
printf '%s\n' "$*" >> "${BENCH_RPMBUILD_LOG:?}"
exec /usr/bin/rpmbuild "$@"
EOF
chmod 755 "$DATA/bin/rpmbuild"
export PATH=$DATA/bin:$PATH

# --- inputs, outside every clock -----------------------------------------------------------
SRPM=$(python3 "$FIXTURE" srpm)
mapfile -t ORIG_RPMS < <(python3 "$FIXTURE" rpms)
HEAD_SHA=$(git -C "$ROOT" rev-parse HEAD)
if [[ -n $COMMIT ]]; then
  SHA=$(git -C "$ROOT" rev-parse --verify "$COMMIT^{commit}")
  COLL=$DATA/collections/ansible_collections/perfsec/selinux
  mkdir -p "$COLL"
  git -C "$ROOT" archive "$SHA" | tar -x -C "$COLL"
  export ANSIBLE_COLLECTIONS_PATH=$DATA/collections
  UNDER_TEST="git archive $SHA"
else
  SHA=$HEAD_SHA
  UNDER_TEST="worktree at $HEAD_SHA + $(git -C "$ROOT" status --short -- roles plugins playbooks | wc -l) changed paths under roles/ plugins/ playbooks/"
fi
log "run $RUN_ID: variants $VARIANTS; collection under test: $UNDER_TEST"

# The seed's flask patch for this SRPM. The seed's literal patch does not apply to refpolicy
# 2.20221101 (other context lines; design.md section 3), so it is made the way the seed's was:
# the same three edits by hand (perfmon after audit_read in common cap2; class perf_event with
# its six permissions at the end of access_vectors; `class perf_event` before the closing
# `# FLASK` of security_classes), then `diff -Nura`. Checked against the unpacked SRPM in
# the timed step (patch -p1 fails on a mismatch).
make_seed_patch() {  # out
  local tree w
  tree=$(python3 "$FIXTURE" fc31)
  w=$DATA/seed-patch
  rm -rf "$w"; mkdir -p "$w/a/policy/flask" "$w/b/policy/flask"
  cp "$tree/policy/flask/access_vectors" "$tree/policy/flask/security_classes" "$w/a/policy/flask/" || return 1
  "$PY" - "$w/a/policy/flask" "$w/b/policy/flask" <<'EOF' || return 1
import sys
a, b = sys.argv[1:3]
av = open(a + '/access_vectors').read()
assert av.count('\taudit_read\n') == 1 and '\tperfmon\n' not in av and 'class perf_event' not in av
av = av.replace('\taudit_read\n', '\taudit_read\n\tperfmon\n')
av += '\nclass perf_event\n{\n\topen\n\tcpu\n\tkernel\n\ttracepoint\n\tread\n\twrite\n}\n\n'
open(b + '/access_vectors', 'w').write(av)
sc = open(a + '/security_classes').read()
i = sc.rindex('# FLASK')
open(b + '/security_classes', 'w').write(sc[:i] + 'class perf_event\n\n' + sc[i:])
EOF
  (cd "$w" && diff -Nura a b > "$1") || [[ $? -eq 1 ]]
}

# --- variant: the seed's sequence ------------------------------------------------------------
step_t0=
step() {  # name: ends the previous step, starts this one
  local t
  t=$(now)
  if [[ -n $step_t0 ]]; then
    printf '%s\t%s\n' "$STEP_NAME" "$(awk -v a="$step_t0" -v b="$t" 'BEGIN{printf "%.1f", b-a}')" >> "$STEPS"
  fi
  STEP_NAME=$1; step_t0=$t
  [[ $1 == end ]] && step_t0=
  log "  step: $1"
}

run_seed() {  # dir
  local d=$1 top=$1/rpmbuild spec tree old_boot deadline out rc round before after
  local -a rpms
  local patch=$d/selinux-policy-perf-events-perfmon.patch
  make_seed_patch "$patch" || { log "could not make the seed's patch"; return 1; }
  T0=$(now)
  step "build on the controller (rpm -i SRPM, -bp, patch, -ba)"
  {
    rm -rf "$top"; mkdir -p "$top"
    rpm -i --nosignature --define "_topdir $top" "$SRPM"
    spec=$(ls "$top"/SPECS/*.spec)
    rpmbuild --define "_topdir $top" --nodeps -bp "$spec"
    tree=$(dirname "$(dirname "$(dirname "$(ls "$top"/BUILD/*/policy/flask/access_vectors)")")")
    (cd "$tree" && patch -p1 < "$patch")
    rpmbuild --define "_topdir $top" --nodeps --noclean --noprep -ba "$spec"
    ls -l "$top"/RPMS/noarch/
  } > "$d/build.out" 2>&1 || { log "seed build failed: $d/build.out"; return 1; }
  step "scp the RPMs to the host"
  mapfile -t rpms < <(ls "$top"/RPMS/noarch/selinux-policy-*.rpm)
  vssh 'rm -rf /root/seed && mkdir -p /root/seed' || return 1
  scp -q -P "$PORT" -i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR "${rpms[@]}" root@127.0.0.1:/root/seed/ || { log "scp failed"; return 1; }
  step "rpm -Uhv --nodeps"
  rc=0
  vssh 'rpm -Uhv --nodeps /root/seed/selinux-policy-*.rpm' > "$d/rpm.out" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]] && grep -q 'is already installed' "$d/rpm.out"; then
    # Same NEVR as the installed packages (the seed rebuilds the installed release as is):
    # rpm -U refuses, so the packages go in with --replacepkgs (noted in the results).
    echo "SEED_NOTE: rpm -Uhv refused (already installed), again with --replacepkgs" >> "$d/rpm.out"
    step "rpm -Uhv --nodeps --replacepkgs"
    rc=0
    vssh 'rpm -Uhv --nodeps --replacepkgs /root/seed/selinux-policy-*.rpm' >> "$d/rpm.out" 2>&1 || rc=$?
  fi
  [[ $rc -eq 0 ]] || { log "seed rpm -Uhv failed: $d/rpm.out"; return 1; }
  step "setenforce 0, SELINUX=permissive, touch /.autorelabel"
  vssh 'set -e; setenforce 0; sed -i "s/^SELINUX=.*/SELINUX=permissive/" /etc/selinux/config; touch /.autorelabel' || return 1
  step "systemctl reboot, wait for ssh and /.autorelabel gone"
  old_boot=$(vssh 'cat /proc/sys/kernel/random/boot_id') || return 1
  # not retried: a retry after the guest went down could reboot it a second time
  timeout 120 "${VM[@]}" ssh --state-dir "$STATE" -- systemctl reboot </dev/null > "$d/reboot.out" 2>&1 || true
  deadline=$(( $(date +%s) + BOOT_TIMEOUT ))
  while :; do
    sleep 5
    # shellcheck disable=SC2016  # expanded by the VM's shell
    if out=$(timeout 60 "${VM[@]}" ssh --state-dir "$STATE" -- \
        'echo "$(cat /proc/sys/kernel/random/boot_id) $(test -e /.autorelabel && echo pending || echo gone)"' \
        </dev/null 2>/dev/null); then
      if [[ $out != "$old_boot "* && $out == *" gone" ]]; then break; fi
    fi
    if (( $(date +%s) > deadline )); then log "the host did not come back in ${BOOT_TIMEOUT}s"; return 1; fi
  done
  step "check the boot (dmesg, getenforce)"
  # shellcheck disable=SC2016  # expanded by the VM's shell
  vssh 'echo "getenforce: $(getenforce)"; journalctl -k -b -o cat --no-pager | grep -i "perf_event\|not defined in policy" || echo "dmesg: no perf_event line"' \
    > "$d/boot-check.out" 2>&1 || true
  step "setenforce 1, SELINUX=enforcing"
  vssh 'set -e; setenforce 1; sed -i "s/^SELINUX=.*/SELINUX=enforcing/" /etc/selinux/config' || return 1
  for ((round = 1; round <= MAX_ROUNDS; round++)); do
    ROUNDS=$round
    step "round $round: perf as perfuser"
    before=$(perf_denials)
    if perf_works "$d/perf-round$round.out"; then rc=0; else rc=1; fi
    sleep 1
    after=$(perf_denials)
    echo "round $round: perf works=$((1 - rc)) perf_event denials $before -> $after" >> "$d/rounds.out"
    if [[ $rc -eq 0 && $after -eq $before ]]; then break; fi
    if [[ $after -eq $before ]]; then log "perf fails with no new denial"; break; fi
    step "round $round: ausearch | audit2allow -M my-perf, semodule -X 300 -i"
    # --input-logs: without a terminal ausearch reads stdin, not the audit log (the seed typed
    # the command at a terminal; over ssh without a tty it would find nothing)
    vssh 'cd /root/seed && ausearch --input-logs -c perf --raw | audit2allow -M my-perf && cat my-perf.te && semodule -X 300 -i my-perf.pp' \
      > "$d/module-round$round.out" 2>&1 || { log "seed module step failed: $d/module-round$round.out"; return 1; }
  done
}

# --- variants: ours --------------------------------------------------------------------------
run_ours() {  # dir route [workdir-source]
  local d=$1 route=$2 wsrc=${3:-} inv=$1/inventory.yml rc=0 rpm
  local work=${wsrc:-$d}/policy-build fetch=${wsrc:-$d}/policy-rpms
  {
    echo "all:"
    echo "  hosts:"
    echo "    fresh:"
    echo "      ansible_host: 127.0.0.1"
    echo "      ansible_port: $PORT"
    echo "      ansible_user: root"
    echo "      ansible_ssh_private_key_file: $KEY"
    echo "      ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"
    echo "  vars:"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "    relabel_autorelabel_options: '-T 0'"
    echo "    relabel_reboot_timeout: 1500"
    echo "    rollback_reboot_timeout: 1500"
    echo "    perfsec_perf_probe_user: $PROBE_USER"
    echo "    perfsec_perf_domains: [user_t]"
    echo "    policy_build_host: localhost"
    echo "    policy_build_srpm: $SRPM"
    echo "    policy_build_workdir: $work"
    echo "    policy_build_fetch_dir: $fetch"
    echo "    policy_install_previous_rpms:"
    for rpm in "${ORIG_RPMS[@]}"; do echo "      - $rpm"; done
  } > "$inv"
  OURS=(ansible-playbook -i "$inv" perfsec.selinux.enable_perf_mac)
  [[ $route == module ]] && OURS+=(-e perfsec_class_source=module)
  printf '%s\n' "${OURS[*]}" > "$d/command.txt"
  T0=$(now)
  step "ansible-playbook enable_perf_mac ($route route)"
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=all \
    PROFILE_TASKS_SORT_ORDER=none ANSIBLE_PIPELINING=True ANSIBLE_HOST_KEY_CHECKING=False \
    ANSIBLE_TIMEOUT=60 ANSIBLE_SSH_RETRIES=3 ANSIBLE_LOCAL_TEMP=$d/ansible-tmp \
    timeout 5400 "${OURS[@]}" > "$d/play.out" 2>&1 || rc=$?
  echo "rc=$rc" >> "$d/play.out"
  if [[ $rc -ne 0 ]]; then
    log "ansible-playbook failed (rc=$rc): $d/play.out"
    grep -E -B3 -A12 '^(fatal|failed):' "$d/play.out" | head -60 >&2 || true
  fi
  ROUNDS=0
}

# --- one variant on its own fresh VM -------------------------------------------------------
run_variant() {  # variant
  local v=$1 d=$DATA/$1 info load0 load1 q0 ok=0 rc=0 b0 b1 wall
  mkdir -p "$d"
  STATE=$d/vm
  STEPS=$d/steps.tsv; : > "$STEPS"; step_t0=
  export BENCH_RPMBUILD_LOG=$d/rpmbuild.log; : > "$BENCH_RPMBUILD_LOG"
  RETRY_LOG=$d/ssh-retries.log; : > "$RETRY_LOG"
  log "== $v: starting a fresh fc31like VM"
  STARTED+=("$STATE")
  info=$("${VM[@]}" start --state-dir "$STATE" --name "fresh-$v" --flavour fc31like --mode permissive)
  printf '%s\n' "$info" > "$d/instance.json"
  PORT=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["port"])' <<<"$info")
  KEY=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["identity_file"])' <<<"$info")
  log "== $v: prepare (perfuser -> user_u, paranoid 2) and the starting-state checks"
  prepare "$d" || { log "prepare failed: $d/prepare.out $d/state-start.txt"; return 1; }
  b0=$(banners)
  load0=$(loadavg); q0=$(qemu_count)
  log "== $v: clock starts (load $load0, $q0 qemu processes incl. this VM)"
  case $v in
    seed) run_seed "$d" || rc=$? ;;
    rebuild) run_ours "$d" rebuild || rc=$? ;;
    module) run_ours "$d" module || rc=$? ;;
    rebuild_warm) run_ours "$d" rebuild "$DATA/rebuild" || rc=$? ;;
  esac
  step "verify: perf as perfuser over ssh"
  if perf_works "$d/perf-end.out"; then ok=1; fi
  step end
  wall=$(since "$T0")
  load1=$(loadavg)
  read_state > "$d/state-end.txt" || true
  b1=$(banners)
  log "== $v: ${wall}s, rc=$rc, perf works for $PROBE_USER: $ok (load $load0 -> $load1)"
  # what the modules at priority >= 200 say at the end
  # shellcheck disable=SC2016  # expanded by the VM's shell
  vssh 'for m in $(semodule -lfull | awk "\$1 >= 200 {print \$2}"); do echo "== $m"; semodule --cil -E "$m" >/dev/null 2>&1 && grep -v "^;" "$m.cil" | head -20; rm -f "$m.cil"; done' \
    > "$d/modules-end.out" 2>&1 || true
  "$PY" - "$d" "$v" "$RUN_ID" "$wall" "$ok" "$rc" "$b0" "$b1" "$load0" "$load1" "$q0" "$SHA" "$UNDER_TEST" \
    "${ROUNDS:-0}" "$(wc -l < "$RETRY_LOG")" >> "$RESULTS" <<'EOF'
import json, os, re, sys
d, v, run_id, wall, ok, rc, b0, b1, load0, load1, q0, sha, under_test, rounds, retries = sys.argv[1:16]
def kv(p):
    out = {}
    if os.path.exists(p):
        for l in open(p):
            if '=' in l:
                k, _, val = l.rstrip('\n').partition('=')
                out.setdefault(k, val.strip())
    return out
start, end = kv(os.path.join(d, 'state-start.txt')), kv(os.path.join(d, 'state-end.txt'))
ba = 0
if os.path.exists(os.path.join(d, 'rpmbuild.log')):
    ba = sum(1 for l in open(os.path.join(d, 'rpmbuild.log')) if ' -ba ' in ' %s ' % l.strip())
steps = [l.rstrip('\n').split('\t') for l in open(os.path.join(d, 'steps.tsv')) if l.strip()]
breakdown = [(n, float(s)) for n, s in steps]
play = os.path.join(d, 'play.out')
roles, recap, failures, plan = {}, '', [], []
if os.path.exists(play):
    text = open(play).read()
    # profile_tasks' recap, unsorted: "<role> : <task> ----- 12.34s" (or "<task> ---- 1.23s";
    # a long name leaves one dash or none)
    part = text.split('TASKS RECAP', 1)[-1] if 'TASKS RECAP' in text else ''
    for line in part.splitlines():
        m = re.match(r'^(.*?)\s+-*\s*(\d+\.\d+)s$', line.strip())
        if m:
            name = m.group(1)
            role = name.split(' : ', 1)[0] if ' : ' in name else '(playbook tasks)'
            roles[role] = roles.get(role, 0.0) + float(m.group(2))
    recap = ' '.join(l.strip() for l in text.splitlines() if re.match(r'^fresh\s+:', l))
    failures = [l.strip() for l in text.splitlines() if l.startswith(('fatal:', 'failed:'))][:5]
    plan = [l.strip() for l in text.splitlines() if '"msg": "fresh: ' in l][:3]
    # the ansible breakdown: per role from profile_tasks, then the verification step
    breakdown = [('ansible: ' + k, round(s, 1)) for k, s in sorted(roles.items(), key=lambda x: -x[1])] + \
                [(n, s) for n, s in breakdown if not n.startswith('ansible-playbook')] + \
                [('ansible-playbook total', s) for n, s in breakdown if n.startswith('ansible-playbook')]
notes = []
for f in ('rpm.out',):
    p = os.path.join(d, f)
    if os.path.exists(p):
        notes += [l.strip() for l in open(p) if l.startswith('SEED_NOTE')]
rec = {
    'run_id': run_id, 'variant': v, 'wall_s': float(wall), 'perf_works': ok == '1', 'rc': int(rc),
    # the verdict: the variant's own steps succeeded, enforcing with class perf_event defined
    # (perf also works at the start, where nothing mediates it), and perf works for perfuser
    'under_mac': end.get('mode') == 'Enforcing' and end.get('class') == 'yes',
    'success': int(rc) == 0 and ok == '1' and end.get('mode') == 'Enforcing' and end.get('class') == 'yes',
    'ssh_connect_retries': int(retries),
    'reboots_boot_id': int(start.get('boot_id') != end.get('boot_id')),
    'reboots_banners': int(b1 or 0) - int(b0 or 0),
    'builds_ba': ba, 'packages_replaced': start.get('packages') != end.get('packages'),
    'start': start, 'end': end, 'rounds': int(rounds), 'breakdown': breakdown,
    'ansible_per_role_s': {k: round(s, 1) for k, s in roles.items()}, 'recap': recap,
    'failures': failures, 'plan': plan, 'notes': notes,
    'load_start': load0, 'load_end': load1, 'qemu_processes_at_start': int(q0),
    'commit': sha, 'under_test': under_test, 'data_dir': d,
}
print(json.dumps(rec, sort_keys=True))
EOF
  if [[ $KEEP -eq 0 ]]; then "${VM[@]}" stop --state-dir "$STATE" >&2 || true; fi
  [[ $ok -eq 1 && $rc -eq 0 ]]
}

FAILED=0
IFS=, read -r -a LIST <<<"$VARIANTS"
for v in "${LIST[@]}"; do
  case $v in seed|rebuild|module|rebuild_warm) ;; *) echo "unknown variant: $v" >&2; exit 2 ;; esac
done
for v in "${LIST[@]}"; do
  run_variant "$v" || FAILED=1
done
log "done: run $RUN_ID, data in $DATA"
print_table "$RUN_ID"
exit "$FAILED"
