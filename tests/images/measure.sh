#!/usr/bin/env bash
# Measure the test bed on this machine: image build (cached), cold boot to SSH, snapshot
# restore to SSH, guest reboot to SSH, and N VMs side by side (default 2) from the snapshot.
#   tests/images/measure.sh [N]       prints one "measure: ..." line per figure
#   MEASURE_PARTS="cold snap reboot parallel" (default all) selects the figures.
set -euo pipefail
export LC_ALL=C.UTF-8
cd "$(dirname "$0")/../.."
N=${1:-2}
PARTS=" ${MEASURE_PARTS:-cold snap reboot parallel} "
PY=${PY:-.venv/bin/python}
[[ -x $PY ]] || PY=python3
VM="$PY tests/images/vm.py"
S=.cache/vms/measure
cleanup() { for d in "$S"/*/; do if [[ -d $d ]]; then $VM stop --state-dir "$d" || true; fi; done; }
trap cleanup EXIT
now() { date +%s.%N; }
el() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

t=$(now); img=$($VM image); echo "measure: image build/reuse: $(el "$t") s ($img)"
grep -h build_seconds "$img/recipe.txt" | sed 's/^/measure: recorded cold image build: /'
t=$(now); $VM snapshot >/dev/null; echo "measure: snapshot build/reuse: $(el "$t") s"

field() { python3 -c 'import json,sys;print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
if [[ $PARTS == *" cold "* ]]; then
  info=$($VM start --cold --name cold --state-dir "$S/cold")
  echo "measure: cold boot to SSH: $(field "$info" boot_to_ssh_seconds) s"
  $VM stop --state-dir "$S/cold"
fi
if [[ $PARTS == *" snap "* || $PARTS == *" reboot "* ]]; then
  info=$($VM start --name snap --state-dir "$S/snap")
  echo "measure: snapshot restore to SSH: $(field "$info" boot_to_ssh_seconds) s (whole start incl. copy: $(field "$info" start_seconds) s)"
  if [[ $PARTS == *" reboot "* ]]; then
    $VM ssh --state-dir "$S/snap" -- 'systemctl reboot' || true
    t=$(now); sleep 2
    until $VM ssh --state-dir "$S/snap" -- true 2>/dev/null; do sleep 1; done
    echo "measure: reboot to SSH: $(el "$t") s"
  fi
  $VM stop --state-dir "$S/snap"
fi
[[ $PARTS == *" parallel "* ]] || exit 0
t=$(now)
for i in $(seq 1 "$N"); do $VM start --name "p$i" --state-dir "$S/p$i" >/dev/null & done
wait
echo "measure: $N VMs started side by side from the snapshot: $(el "$t") s"
t=$(now)
for i in $(seq 1 "$N"); do $VM ssh --state-dir "$S/p$i" -- 'perf stat -e task-clock true 2>&1 | grep -c task-clock' & done
wait
echo "measure: perf stat in all $N at once: $(el "$t") s"
ps -o rss= -p "$(cat "$S/p1/qemu.pid")" | awk '{printf "measure: qemu RSS per VM: %d MiB\n", $1/1024}'
