#!/usr/bin/env bash
# The main job on the built-in default target: a throwaway local Debian 12 SELinux VM (qemu).
# Boots the VM from the cached image/snapshot (built on first use), runs the collection's
# main playbook against it, then the report playbook, prints a plain per-host summary (what
# changed, what was verified on the host afterwards, how long) and the report's path, and
# removes the VM.
#   DEMO_FLAVOUR=fc31like            the seed's whole procedure on the Fedora-31-like VM (policy
#                                    without class perf_event): SRPM rebuild on this machine,
#                                    rpm install, the policy loaded live, enforcing, module
#   DEMO_PLAYBOOK=open_perf_access   which playbook (default enable_perf_mac)
#   DEMO_KEEP=1                      leave the VM running (ssh command printed at the end)
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
cd "$PERFSEC_ROOT"
VM=tests/images/vm.py
STATE=$PERFSEC_ROOT/.cache/demo/vm1
PLAYBOOK=${DEMO_PLAYBOOK:-enable_perf_mac}
FLAVOUR=${DEMO_FLAVOUR:-debian-default}
LOG=$PERFSEC_ROOT/.cache/demo/$PLAYBOOK.log
REPORT=$PERFSEC_ROOT/perfsec-report
[[ -f playbooks/$PLAYBOOK.yml ]] || { echo "demo: playbooks/$PLAYBOOK.yml does not exist" >&2; exit 2; }
extra=()
case $FLAVOUR in
  debian-default)
    echo "demo: Debian 12 VM (refpolicy with class perf_event): expect about 3-6 min in all on 2 cores" \
      "(the VM from the cached snapshot ~30 s, the plan, enforcing, one policy module commit ~1-2 min, perf verified, the report ~30 s; measured 197-331 s)" ;;
  fc31like)
    echo "demo: Fedora-31-like VM (policy without class perf_event, the seed's procedure): expect about 10-15 min" \
      "in all on 2 cores (measured 618 s on 2026-12-02: VM start ~2.5 min, enable_perf_mac ~7 min - the SRPM" \
      "rebuilt on this machine, rpm install with the policy loaded live, enforcing, the perf module - the report" \
      "~10 s; about 10 min more the first time, when the Fedora-31-like image is built)"
    fixture=tests/fixtures/policy/fc31tree.py
    echo "demo: building the Fedora-31-like source and binary packages (cached after the first run)"
    srpm=$(.venv/bin/python "$fixture" srpm)
    rpms=$(.venv/bin/python "$fixture" rpms | .venv/bin/python -c 'import json,sys; print(json.dumps(sys.stdin.read().split()))')
    extra=(-e "{\"policy_build_host\": \"localhost\", \"policy_build_srpm\": \"$srpm\",
      \"policy_build_workdir\": \"$PERFSEC_ROOT/.cache/demo/policy-build\",
      \"policy_build_fetch_dir\": \"$PERFSEC_ROOT/.cache/demo/policy-rpms\",
      \"policy_install_previous_rpms\": $rpms}") ;;
  *) echo "demo: DEMO_FLAVOUR=$FLAVOUR: use debian-default or fc31like" >&2; exit 2 ;;
esac

.venv/bin/python "$VM" stop --state-dir "$STATE" >/dev/null 2>&1 || true
cleanup() { [[ ${DEMO_KEEP:-0} == 1 ]] || .venv/bin/python "$VM" stop --state-dir "$STATE" >/dev/null 2>&1 || true; }
trap cleanup EXIT

t0=$(date +%s)
echo "demo: starting a disposable $FLAVOUR SELinux VM (first run builds the image: a few minutes more)"
info=$(.venv/bin/python "$VM" start --state-dir "$STATE" --name demo1 --flavour "$FLAVOUR" --mode permissive)
port=$(.venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["port"])' <<<"$info")
key=$(.venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["identity_file"])' <<<"$info")
t_vm=$(($(date +%s) - t0))
inv=$STATE/../inventory.yml
cat >"$inv" <<INV
all:
  hosts:
    demo1:
      ansible_host: 127.0.0.1
      ansible_port: $port
      ansible_user: root
      ansible_ssh_private_key_file: $key
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ServerAliveInterval=10 -o ServerAliveCountMax=3
      ansible_python_interpreter: /usr/bin/python3
INV
echo "demo: VM up in ${t_vm} s (ssh -p $port -i $key root@127.0.0.1); running perfsec.selinux.$PLAYBOOK"
t1=$(date +%s)
ansible-playbook -i "$inv" "perfsec.selinux.$PLAYBOOK" "${extra[@]}" ${DEMO_EXTRA_VARS:+-e "$DEMO_EXTRA_VARS"} | tee "$LOG"
t_play=$(($(date +%s) - t1))
t2=$(date +%s)
if [[ -f playbooks/report.yml ]]; then
  ansible-playbook -i "$inv" perfsec.selinux.report -e "report_output_dir=$REPORT" | tee "$LOG.report"
fi
t_report=$(($(date +%s) - t2))

# What the host looks like now, read on it (not from the playbook's own words).
# shellcheck disable=SC2016 # expanded in the VM
verified=$(.venv/bin/python "$VM" ssh --state-dir "$STATE" -- '
  echo "SELinux $(getenforce) (config: $(sed -n "s/^SELINUX=//p" /etc/selinux/config))"
  [ -e /sys/fs/selinux/class/perf_event/index ] && echo "class perf_event in the loaded policy" || echo "NO class perf_event in the loaded policy"
  m=$(semodule -lfull 2>/dev/null | awk "\$2 == \"perfsec_perf\" {print \$2 \"@\" \$1}")
  echo "perf module ${m:-perfsec_perf NOT installed}"
  if perf stat -e task-clock -- true >/dev/null 2>&1; then echo "perf stat -e task-clock works (root)"; else echo "perf stat FAILED (root)"; fi
  echo "kernel.perf_event_paranoid $(cat /proc/sys/kernel/perf_event_paranoid)"' </dev/null 2>&1 || true)

echo
echo "================ demo summary ================"
.venv/bin/python - "$LOG" <<'PY'
import ast, re, sys
text = open(sys.argv[1]).read()
# the rollout's plan line (the first "HOST: step (reason); ..." per host) and the summary
# play's {host: changes}
STEPS = ('policy_build', 'policy_install', 'class_module', 'selinux_enable', 'permissive', 'relabel',
         'final_mode', 'module', 'paranoid', 'audit_rule')
plans = {}
for host, line in re.findall(r'"msg": "(\S+): ((?:converged|[a-z_]+ \().*?)"\s*$', text, re.M):
    if line.startswith('converged') or line.split(' ', 1)[0] in STEPS:
        plans.setdefault(host, line)
changed = {}
m = re.search(r'TASK \[What changed per host\].*?"msg": (\{.*?\})\s*\n\}', text, re.S)
if m:
    try:
        changed = ast.literal_eval(m.group(1))
    except (ValueError, SyntaxError):
        pass
recap = dict(re.findall(r'^(\S+)\s*:\s*(ok=\d+\s+changed=\d+\s+unreachable=\d+\s+failed=\d+)', text, re.M))
for host in sorted(set(recap) | set(changed)):
    steps = [x for x in re.findall(r'(?:^|; )([a-z_]+) \(', plans.get(host, '')) if x in STEPS]
    if plans.get(host, '').startswith('converged'):
        steps = ['converged (nothing to do)']
    print('%s:' % host)
    print('  plan:     %s' % (', '.join(steps) or plans.get(host, '(not printed)')[:120]))
    print('  changed:  %s' % changed.get(host, '(no summary printed)'))
    print('  recap:    %s' % ' '.join(recap.get(host, '(no recap)').split()))
PY
while IFS= read -r line; do echo "  verified: $line"; done <<<"$verified"
echo "  took:     VM start ${t_vm} s, $PLAYBOOK ${t_play} s, report ${t_report} s; $(($(date +%s) - t0)) s in all"
echo "report:     $REPORT/perfsec-report.html (and .md beside it)"
echo "            open it in a browser, or: chromium --headless --screenshot=/tmp/report.png --window-size=1600,900 file://$REPORT/perfsec-report.html"
[[ ${DEMO_KEEP:-0} == 1 ]] && echo "demo: VM left running: ssh -p $port -i $key root@127.0.0.1; stop: $VM stop --state-dir $STATE"
echo "demo: done"
