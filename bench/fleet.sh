#!/usr/bin/env bash
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Benchmark 5: fleet scale. N test hosts on this machine, each a network namespace with its own
# sshd, for N = 1, 8, 32, 64 (by default): per run, over all N hosts,
#   ansible-playbook perfsec.selinux.enable_perf_mac --check     (cold: no ssh master yet)
#   ansible-playbook perfsec.selinux.report                       (warm: the masters persist)
# wall time of each and of both, per-host cost (wall / N), forks stated. Every run checks that
# the plays reached every host (recap: N hosts, failed=0 unreachable=0), that every host got
# the same plan, and that the report has one row per host.
#
# The hosts: namespace pfsfleetI (I = 1..N), veth pfsvI <-> eth0 in the namespace, the root
# ends on bridge pfsfleet0 (10.231.0.1/16); host I is 10.231.1.I (I <= 250). Each runs
# /usr/sbin/sshd -f <own config>: ListenAddress its address, its own throwaway host key,
# PidFile, the throwaway client key as AuthorizedKeysFile, UsePAM no, root by key only.
# Everything secret or per run (keys, known_hosts, sshd configs, pids, ssh control sockets,
# ansible's local and remote temp) is in a temp dir removed on exit. The namespaces share this
# machine's kernel and file system: the hosts are this machine seen N times over SSH, so the
# plan is the same on each; the rollout runs with --check only (it would otherwise change this
# machine). The report playbook only reads the hosts; it writes its page on the controller.
#
# Usage (root): bench/fleet.sh [--sizes "1 8 32 64"] [--forks "8 16"] [--reps R]
#                              [--timeout S] [--screenshot PATH] [--commit REV | --worktree]
#   --sizes      the N to run (default "1 8 32 64"; max 250)
#   --forks      the forks values, each run with every N (default "8")
#   --reps       repetitions of the whole grid (default 1); the order of the N alternates
#                (ascending, then descending, ...) so a change in load hits small and large N alike
#   --timeout    seconds per ansible-playbook command before it is killed (default 1200)
#   --screenshot PNG of the report of the largest N, forks = the first value, by headless
#                chromium (default: none)
#   --commit     the collection under test: `git archive REV` into the temp dir (default HEAD,
#                so that edits in progress in a shared checkout do not leak into the figures)
#   --worktree   test the checkout as it is instead (build/collections, scripts/env.sh)
# Data: bench/.data/fleet/ (runs.tsv, each playbook's output, the reports). Prints a table and
# a line "JSON: {...}". Exit status 1 if any run failed its checks.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

SIZES="1 8 32 64"
FORKS="8"
REPS=1
RUN_TIMEOUT=1200
SCREENSHOT=
COMMIT=HEAD
while [[ $# -gt 0 ]]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --forks) FORKS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --timeout) RUN_TIMEOUT=$2; shift 2 ;;
    --screenshot) SCREENSHOT=$2; shift 2 ;;
    --commit) COMMIT=$2; shift 2 ;;
    --worktree) COMMIT=; shift ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, sshd as root)"
SSHD=/usr/sbin/sshd
[[ -x $SSHD ]] || die "$SSHD is missing: apt-get install --no-install-recommends openssh-server"
for tool in ip ssh ssh-keygen timeout ansible-playbook; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done
PYTHON=/usr/bin/python3   # the hosts' interpreter (the hosts are this machine)
[[ -x $PYTHON ]] || die "$PYTHON is missing"
MAX_N=0
for n in $SIZES; do (( n >= 1 && n <= 250 )) || die "--sizes: $n is not in 1..250"; (( n > MAX_N )) && MAX_N=$n; done

NS_PREFIX=pfsfleet
BRIDGE=${NS_PREFIX}0
NET_PREFIX=10.231
BRIDGE_ADDR=$NET_PREFIX.0.1
host_addr() { echo "$NET_PREFIX.1.$1"; }
host_name() { printf 'fleet-%02d' "$1"; }

# another run (or its leftovers) owns these names: never clobber it
if ip netns list | grep -q "^$NS_PREFIX"; then die "namespaces $NS_PREFIX* exist already (another run?): ip netns list"; fi
if ip link show "$BRIDGE" >/dev/null 2>&1; then die "link $BRIDGE exists already (another run?)"; fi
if ip route show | grep -q "^$NET_PREFIX\."; then die "a route to $NET_PREFIX.0.0/16 exists already: ip route"; fi

DATA=$ROOT/bench/.data/fleet
mkdir -p "$DATA"
TMP=$(mktemp -d /tmp/perfsec-fleet.XXXXXX)
chmod 700 "$TMP"
RESULTS=$DATA/runs.tsv
: > "$RESULTS"
rm -f "$DATA/plan.txt"
CREATED_NS=()
CREATED_RUN_SSHD=0

close_masters() {  # control-path dir: ask every ssh master in it to exit
  local sock
  for sock in "$1"/*; do
    if [[ -S $sock ]]; then ssh -o ControlPath="$sock" -O exit fleet >/dev/null 2>&1 || true; fi
  done
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$? pidf pid pids alive ns d i
  trap - EXIT INT TERM
  log "teardown: ssh masters, sshd, namespaces, bridge, $TMP"
  if [[ -n ${CHILD:-} ]]; then  # a playbook still running: timeout passes the TERM on to it
    kill "$CHILD" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$CHILD" 2>/dev/null || true
  fi
  for d in "$TMP"/cp-*; do [[ -d $d ]] && close_masters "$d"; done
  pids=()
  for pidf in "$TMP"/sshd-*.pid; do
    pid=$(cat "$pidf" 2>/dev/null) || continue
    pids+=("$pid")
    kill "$pid" 2>/dev/null || true
  done
  for i in $(seq 20); do  # up to 2 s for the sshd to go (each removes its PidFile)
    compgen -G "$TMP/sshd-*.pid" >/dev/null || break
    sleep 0.1
  done
  for pidf in "$TMP"/sshd-*.pid; do
    pid=$(cat "$pidf" 2>/dev/null) || continue
    kill -9 "$pid" 2>/dev/null || true
  done
  for i in $(seq 100); do  # up to 10 s until the init process has reaped them
    alive=0
    for pid in "${pids[@]}"; do if [[ -e /proc/$pid ]]; then alive=1; fi; done
    [[ $alive -eq 0 ]] && break
    sleep 0.1
  done
  for ns in "${CREATED_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  for i in $(seq 1 "$MAX_N"); do ip link del "pfsv$i" 2>/dev/null || true; done
  # sshd's privsep dir: removed only if this run made it and no other sshd runs now
  if [[ $CREATED_RUN_SSHD -eq 1 ]] && ! pgrep -x sshd >/dev/null; then rmdir /run/sshd 2>/dev/null || true; fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
load3() { cut -d' ' -f1-3 /proc/loadavg; }
# "busy total" jiffies of all CPUs (/proc/stat): how busy the machine was during a run
cpu_jiffies() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
busy_pct() { awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2])}'; }
# CPU seconds used so far by the qemu processes alive now ("pid ticks" per line)
qemu_ticks() {
  local f
  for f in /proc/[0-9]*/stat; do
    awk '$2 ~ /^\(qemu/ {print $1, $14 + $15}' "$f" 2>/dev/null || true
  done
}
qemu_cpu_s() {  # before-file after-file: CPU seconds of the qemu processes alive at both ends
  awk -v hz="$(getconf CLK_TCK)" 'NR==FNR {a[$1]=$2; next} ($1 in a) {s += $2 - a[$1]} END {printf "%.1f", s/hz}' "$1" "$2"
}

# --- the collection under test --------------------------------------------------------------
if [[ -n $COMMIT ]]; then
  SHA=$(git -C "$ROOT" rev-parse --verify "$COMMIT^{commit}")
  COLL=$TMP/collections/ansible_collections/perfsec/selinux
  mkdir -p "$COLL"
  git -C "$ROOT" archive "$SHA" | tar -x -C "$COLL"
  export ANSIBLE_COLLECTIONS_PATH=$TMP/collections
  TREE="commit $SHA"
else
  SHA=$(git -C "$ROOT" rev-parse HEAD)
  TREE="working tree of $ROOT at $SHA$(git -C "$ROOT" diff --quiet HEAD -- plugins roles playbooks || echo ' with uncommitted changes in plugins/ roles/ playbooks/')"
fi
log "collection under test: $TREE"

# --- keys ---------------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C perfsec-fleet-client -f "$TMP/id_ed25519"
cp "$TMP/id_ed25519.pub" "$TMP/authorized_keys"
: > "$TMP/known_hosts"

# --- network: one bridge in this namespace, one veth per host namespace ---------------------
log "creating bridge $BRIDGE ($BRIDGE_ADDR/16) and $MAX_N namespaces with sshd"
ip link add "$BRIDGE" type bridge
ip addr add "$BRIDGE_ADDR/16" dev "$BRIDGE"
ip link set "$BRIDGE" up
# every address of the range must leave through the bridge, never through the default route
[[ $(ip route get "$(host_addr 1)") == *" dev $BRIDGE "* ]] || die "$NET_PREFIX.1.1 is not routed via $BRIDGE"

if [[ ! -d /run/sshd ]]; then mkdir -m 0755 /run/sshd; CREATED_RUN_SSHD=1; fi   # sshd's privsep dir

for i in $(seq 1 "$MAX_N"); do
  ns=$NS_PREFIX$i addr=$(host_addr "$i")
  ip netns add "$ns"
  CREATED_NS+=("$ns")
  ip -n "$ns" link set lo up
  ip link add "pfsv$i" type veth peer name eth0 netns "$ns"
  ip link set "pfsv$i" master "$BRIDGE" up
  ip -n "$ns" addr add "$addr/16" dev eth0
  ip -n "$ns" link set eth0 up
  ssh-keygen -q -t ed25519 -N '' -C "$(host_name "$i")" -f "$TMP/hostkey-$i"
  printf '%s %s\n' "$addr" "$(cut -d' ' -f1-2 "$TMP/hostkey-$i.pub")" >> "$TMP/known_hosts"
  cat > "$TMP/sshd-$i.conf" <<EOF
ListenAddress $addr
Port 22
HostKey $TMP/hostkey-$i
PidFile $TMP/sshd-$i.pid
AuthorizedKeysFile $TMP/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# the throwaway dir is under /tmp (world-writable): StrictModes would refuse the key file
StrictModes no
UseDNS no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
EOF
  ip netns exec "$ns" "$SSHD" -f "$TMP/sshd-$i.conf" -E "$TMP/sshd-$i.log"
done
# sshd writes its PidFile once it listens
for i in $(seq 1 "$MAX_N"); do
  for _ in $(seq 50); do [[ -s $TMP/sshd-$i.pid ]] && break; sleep 0.1; done
  [[ -s $TMP/sshd-$i.pid ]] || { tail "$TMP/sshd-$i.log" >&2; die "sshd of $(host_name "$i") did not start"; }
done

SSH_ARGS="-F /dev/null -C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=$TMP/known_hosts -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o ConnectTimeout=10"
# shellcheck disable=SC2086  # SSH_ARGS is a list of options
ssh $SSH_ARGS -o ControlMaster=no -i "$TMP/id_ed25519" "root@$(host_addr "$MAX_N")" true \
  || die "ssh to $(host_name "$MAX_N") failed"
log "$MAX_N hosts up (ssh to $(host_name "$MAX_N") ok)"

inventory() {  # N: the first N hosts
  local i
  echo '[fleet]'
  for i in $(seq 1 "$1"); do echo "$(host_name "$i") ansible_host=$(host_addr "$i")"; done
  cat <<EOF
[fleet:vars]
ansible_user=root
ansible_ssh_private_key_file=$TMP/id_ed25519
ansible_python_interpreter=$PYTHON
EOF
}

export ANSIBLE_PIPELINING=True ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_TIMEOUT=30
export ANSIBLE_SSH_ARGS=$SSH_ARGS
export ANSIBLE_LOCAL_TEMP=$TMP/ansible-local ANSIBLE_REMOTE_TEMP=$TMP/ansible-remote
export ANSIBLE_RETRY_FILES_ENABLED=False

# "hosts-in-recap ok-hosts" of an ansible-playbook output (ok = failed=0 and unreachable=0)
recap() {
  awk '/^PLAY RECAP/ {r=1; next} r && / : ok=/ {n++; if ($0 ~ /unreachable=0 / && $0 ~ /failed=0 /) ok++}
       END {print n+0, ok+0}' "$1"
}
# the distinct plans of an enable_perf_mac output ("msg": "HOST: <summary>"), host name removed
# of the task "Show the plan" only
plans() {
  awk '/^TASK \[/ {show = ($0 ~ /: Show the plan\]/)} show && /^ *"msg": "fleet-[0-9]*: / {print}' "$1" \
    | sed 's/^ *"msg": "fleet-[0-9]*: \(.*\)"$/\1/' | sort | uniq -c
}

# OUT CMD...: CMD under `timeout`, output to OUT; in the background, so that a signal to this
# script is handled at once (the EXIT trap then stops CHILD)
CHILD=
bounded() {
  local out=$1 rc=0
  shift
  timeout -k 30 "$RUN_TIMEOUT" "$@" > "$out" 2>&1 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  return "$rc"
}

RUN=0
FAILED=0
run_one() {  # N FORKS REP
  local n=$1 forks=$2 rep=$3 tag inv cp out_e out_r rc_e=0 rc_r=0 t0 t1 t2 l0 l1 q0 q1
  local c0 c1 we wr recap_e recap_r nplans plan rows dd html ok=1
  RUN=$((RUN + 1))
  tag=n$n-f$forks-r$rep
  inv=$TMP/inventory-$n.ini
  inventory "$n" > "$inv"
  cp=$TMP/cp-$RUN
  mkdir -p "$cp"
  export ANSIBLE_SSH_CONTROL_PATH_DIR=$cp
  out_e=$DATA/$tag-enable.out out_r=$DATA/$tag-report.out
  html=$DATA/report-$tag/perfsec-report.html
  rm -rf "$DATA/report-$tag"
  l0=$(load3)
  qemu_ticks > "$TMP/q0"
  q0=$(wc -l < "$TMP/q0")
  c0=$(cpu_jiffies)
  t0=$(now)
  bounded "$out_e" ansible-playbook -i "$inv" --forks "$forks" perfsec.selinux.enable_perf_mac --check || rc_e=$?
  t1=$(now)
  bounded "$out_r" ansible-playbook -i "$inv" --forks "$forks" perfsec.selinux.report \
    -e "report_output_dir=$DATA/report-$tag" || rc_r=$?
  t2=$(now)
  c1=$(cpu_jiffies)
  l1=$(load3)
  qemu_ticks > "$TMP/q1"
  q1=$(wc -l < "$TMP/q1")
  close_masters "$cp"
  we=$(secs "$t0" "$t1") wr=$(secs "$t1" "$t2")
  recap_e=$(recap "$out_e") recap_r=$(recap "$out_r")
  nplans=$(plans "$out_e" | wc -l)
  plan=$(plans "$out_e" | head -1 | sed 's/^ *[0-9]* //')
  rows=0 dd=NA
  if [[ -f $html ]]; then
    rows=$(grep -o '<tr data-host=' "$html" | wc -l)
    dd=$(sed -n 's/.*<dd id="n-hosts">\([0-9]*\)<.*/\1/p' "$html")
  fi
  [[ $rc_e -eq 0 && $rc_r -eq 0 && $recap_e == "$n $n" && $recap_r == "$n $n" && $nplans -eq 1 && $rows -eq $n && $dd == "$n" ]] || ok=0
  [[ $ok -eq 1 ]] || FAILED=1
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$forks" "$rep" "$we" "$wr" \
    "$rc_e" "$rc_r" "$recap_e" "$recap_r" "$nplans" "$rows" "$dd" "$l0" "$l1" "$q0/$q1" \
    "$(qemu_cpu_s "$TMP/q0" "$TMP/q1")" "$(busy_pct "$c0" "$c1")" "$ok" >> "$RESULTS"
  log "N=$n forks=$forks rep=$rep: enable --check ${we}s (rc=$rc_e, recap $recap_e), report ${wr}s (rc=$rc_r, recap $recap_r, rows $rows, n-hosts $dd), plans $nplans, load $l0 -> $l1, qemu $q0/$q1, CPU busy $(busy_pct "$c0" "$c1")% ok=$ok"
  [[ $ok -eq 1 ]] || { log "tail of $out_e:"; tail -15 "$out_e" >&2; log "tail of $out_r:"; tail -15 "$out_r" >&2; }
  [[ -n $plan ]] && printf '%s\n' "$plan" > "$DATA/plan.txt"
  return 0
}

DATE_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD_START=$(load3)
for ((rep = 1; rep <= REPS; rep++)); do
  if (( rep % 2 == 1 )); then order=$(tr ' ' '\n' <<<"$SIZES" | grep . | sort -n)
  else order=$(tr ' ' '\n' <<<"$SIZES" | grep . | sort -rn); fi
  for forks in $FORKS; do
    for n in $order; do run_one "$n" "$forks" "$rep"; done
  done
done
DATE_END=$(date -u +%Y-%m-%dT%H:%M:%SZ)

if [[ -n $SCREENSHOT ]]; then
  first_forks=${FORKS%% *}
  html=$DATA/report-n$MAX_N-f$first_forks-r1/perfsec-report.html
  if [[ -f $html ]] && command -v chromium >/dev/null; then
    log "screenshot of $html -> $SCREENSHOT"
    # tall enough for every row (about 66 px each when no module is installed); HOME in the temp dir keeps chromium's profile out of /root
    HOME=$TMP timeout -k 10 180 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
      --disable-component-update --disable-sync --no-first-run --disable-quic --hide-scrollbars \
      --user-data-dir="$TMP/chromium" --window-size=1600,$((400 + 70 * MAX_N)) \
      --screenshot="$SCREENSHOT" "file://$html" > "$TMP/chromium.out" 2>&1 \
      || { tail "$TMP/chromium.out" >&2; FAILED=1; }
    DOM_ROWS=$(HOME=$TMP timeout -k 10 180 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
      --disable-component-update --disable-sync --no-first-run --disable-quic --user-data-dir="$TMP/chromium" \
      --dump-dom "file://$html" 2>/dev/null | grep -o '<tr data-host=' | wc -l)
    log "chromium DOM: $DOM_ROWS host rows"
  else
    log "no screenshot: $html or chromium missing"; FAILED=1
  fi
fi

"$PYTHON" - "$RESULTS" "$DATA" "$(nproc)" "$(uname -r)" "$LOAD_START" "$(load3)" "$DATE_START" "$DATE_END" \
  "$TREE" "$(cat "$DATA/plan.txt" 2>/dev/null || true)" "${DOM_ROWS:-}" \
  "$SCREENSHOT" "$RUN_TIMEOUT" <<'EOF'
import json, sys
(path, data, nproc, kernel, load0, load1, date0, date1, tree, plan, dom_rows, shot, timeout) = sys.argv[1:14]
runs = []
for line in open(path):
    (n, forks, rep, we, wr, rc_e, rc_r, recap_e, recap_r, nplans, rows, dd, l0, l1, qemu, qemu_cpu,
     busy, ok) = line.rstrip('\n').split('\t')
    n = int(n)
    runs.append({'n': n, 'forks': int(forks), 'rep': int(rep), 'enable_check_s': float(we), 'report_s': float(wr),
                 'total_s': round(float(we) + float(wr), 2),
                 'per_host_s': {'enable_check': round(float(we) / n, 3), 'report': round(float(wr) / n, 3),
                                'total': round((float(we) + float(wr)) / n, 3)},
                 'rc': [int(rc_e), int(rc_r)], 'recap_hosts_ok': [recap_e, recap_r], 'distinct_plans': int(nplans),
                 'report_rows': int(rows), 'report_n_hosts': dd, 'loadavg_start': l0, 'loadavg_end': l1,
                 'qemu_processes_start_end': qemu, 'qemu_cpu_s': float(qemu_cpu),
                 'cpu_busy_pct': int(busy), 'ok': ok == '1'})
fmt = '%5s %5s %4s %10s %10s %9s %9s %9s %9s  %-16s %-16s %8s %5s %s'
print(fmt % ('N', 'forks', 'rep', 'enable s', 'report s', 'total s', 'enable/N', 'report/N', 'total/N',
             'load start', 'load end', 'qemu cpu', 'busy', 'ok'))
for r in runs:
    p = r['per_host_s']
    print(fmt % (r['n'], r['forks'], r['rep'], '%.2f' % r['enable_check_s'], '%.2f' % r['report_s'],
                 '%.2f' % r['total_s'], '%.3f' % p['enable_check'], '%.3f' % p['report'], '%.3f' % p['total'],
                 r['loadavg_start'], r['loadavg_end'], '%.1f' % r['qemu_cpu_s'],
                 '%d%%' % r['cpu_busy_pct'], 'yes' if r['ok'] else 'NO'))
ratios = {}
for forks in sorted({r['forks'] for r in runs}):
    for rep in sorted({r['rep'] for r in runs}):
        by_n = {r['n']: r for r in runs if r['forks'] == forks and r['rep'] == rep}
        if 8 in by_n and 64 in by_n:
            ratio = round(by_n[64]['per_host_s']['total'] / by_n[8]['per_host_s']['total'], 3)
            ratios['forks%d-rep%d' % (forks, rep)] = ratio
            print('forks %d rep %d: per-host cost at N=64 / at N=8 = %.3f (target <= 1.5: %s)'
                  % (forks, rep, ratio, 'met' if ratio <= 1.5 else 'NOT met'))
print('collection under test: %s' % tree)
print('plan on every host: %s' % plan)
summary = {'benchmark': 'fleet', 'runs': runs, 'per_host_ratio_64_over_8': ratios, 'plan': plan,
           'report_rows_in_chromium_dom': int(dom_rows) if dom_rows else None, 'screenshot': shot or None,
           'timeout_per_command_s': int(timeout),
           'machine': {'nproc': int(nproc), 'kernel': kernel, 'loadavg_start': load0, 'loadavg_end': load1,
                       'date_start': date0, 'date_end': date1}, 'collection_under_test': tree, 'data_dir': data}
print('JSON: ' + json.dumps(summary, sort_keys=True))
EOF
exit "$FAILED"
