#!/usr/bin/env bash
# The main job on the built-in default target: a throwaway local Debian 12 SELinux VM (qemu).
# Boots the VM from the cached image/snapshot (built on first use), runs the collection's
# main playbook against it, then the report playbook, and removes the VM.
#   DEMO_PLAYBOOK=open_perf_access   which playbook (default enable_perf_mac)
#   DEMO_KEEP=1                      leave the VM running (ssh command printed at the end)
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
cd "$PERFSEC_ROOT"
VM=tests/images/vm.py
STATE=$PERFSEC_ROOT/.cache/demo/vm1
PLAYBOOK=${DEMO_PLAYBOOK:-enable_perf_mac}
[[ -f playbooks/$PLAYBOOK.yml ]] || { echo "demo: playbooks/$PLAYBOOK.yml does not exist" >&2; exit 2; }

.venv/bin/python "$VM" stop --state-dir "$STATE" >/dev/null 2>&1 || true
cleanup() { [[ ${DEMO_KEEP:-0} == 1 ]] || .venv/bin/python "$VM" stop --state-dir "$STATE" >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "demo: starting a disposable Debian 12 SELinux VM (first run builds the image: a few minutes)"
info=$(.venv/bin/python "$VM" start --state-dir "$STATE" --name demo1 --mode permissive)
port=$(.venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["port"])' <<<"$info")
key=$(.venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["identity_file"])' <<<"$info")
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
echo "demo: VM up (ssh -p $port -i $key root@127.0.0.1); running perfsec.selinux.$PLAYBOOK"
ansible-playbook -i "$inv" "perfsec.selinux.$PLAYBOOK" ${DEMO_EXTRA_VARS:+-e "$DEMO_EXTRA_VARS"}
if [[ -f playbooks/report.yml ]]; then
  ansible-playbook -i "$inv" perfsec.selinux.report
fi
[[ ${DEMO_KEEP:-0} == 1 ]] && echo "demo: VM left running: ssh -p $port -i $key root@127.0.0.1; stop: $VM stop --state-dir $STATE"
echo "demo: done"
