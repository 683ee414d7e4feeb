#!/usr/bin/env bash
# One-command setup for perfsec.selinux development and CI on Debian 12.
# Installs the apt packages the tests need and creates the pinned virtualenvs.
# Idempotent: a second run checks and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
  # SELinux userland used by the modules and the unit tests (real tools, throwaway stores)
  checkpolicy semodule-utils policycoreutils policycoreutils-python-utils setools
  auditd python3-selinux selinux-policy-default selinux-policy-dev selinux-policy-src
  # policy rebuild (rpmbuild) and perf itself
  rpm linux-perf libcap2-bin attr zstd make
  # ansible-test sanity: shellcheck for the scripts
  shellcheck
  # the SELinux VM test bed
  qemu-system-x86 qemu-utils mmdebstrap debootstrap e2fsprogs openssh-client
  # virtualenvs
  python3-venv chromium
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $st == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing apt packages: ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: apt packages present (${#APT_PACKAGES[@]})"
fi

PY=${PERFSEC_PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

# make_venv DIR PYTHON REQFILE
make_venv() {
  local dir=$1 py=$2 req=$3 stamp want
  want=$(sha256sum <"$req" | cut -c1-16)-$("$py" -c 'import sys;print("%d.%d"%sys.version_info[:2])')
  stamp="$dir/.perfsec-stamp"
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "setup: $dir up to date"
    return
  fi
  # Same Python, requirements changed: install over the venv (the working tree may be shared:
  # a venv in use is never removed under its users). Another Python: recreate it.
  if [[ -f $stamp && $(cut -d- -f2 <"$stamp") == "${want#*-}" && -x $dir/bin/pip ]]; then
    echo "setup: updating $dir from $req"
  else
    echo "setup: creating $dir from $req"
    rm -rf "$dir"
    "$py" -m venv "$dir"
  fi
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$req" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; test "${PIPESTATUS[0]}" -eq 0
  echo "$want" >"$stamp"
}

make_venv "$ROOT/.venv" "$PY" requirements/main.txt
make_venv "$ROOT/.venv-compat" "$PY" requirements/compat.txt

# Old target Pythons (EL8 platform-python 3.6, Fedora 31's 3.7) for module code checks.
# They come with the machine image (pyenv); we only give them pytest.
for v in 3.6 3.7; do
  pyb=$(find "$HOME/.pyenv/versions" -maxdepth 3 -path "*/$v.*/bin/python$v" 2>/dev/null | sort -V | tail -n1)
  if [[ -n $pyb ]]; then
    make_venv "$ROOT/.venv-py${v/./}" "$pyb" "requirements/py${v/./}.txt"
  else
    echo "setup: python$v not found under ~/.pyenv: old-Python unit lanes will be skipped"
  fi
done
echo "setup: done"
