#!/usr/bin/env bash
# Sourced by every scripts/*.sh: one place for the environment the tools need.
# shellcheck disable=SC2034
PERFSEC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LC_ALL=C.UTF-8 LANG=C.UTF-8
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 PY_COLORS=0
# The checkout is the collection: expose it as ansible_collections/perfsec/selinux.
PERFSEC_COLL_BASE=$PERFSEC_ROOT/build/collections
if [[ ! -e $PERFSEC_COLL_BASE/ansible_collections/perfsec/selinux ]]; then
  mkdir -p "$PERFSEC_COLL_BASE/ansible_collections/perfsec"
  ln -sfn "$PERFSEC_ROOT" "$PERFSEC_COLL_BASE/ansible_collections/perfsec/selinux"
fi
# Ours first, then the ansible.posix/community.general of the `ansible` bundle in .venv.
export ANSIBLE_COLLECTIONS_PATH=$PERFSEC_COLL_BASE
export PATH=$PERFSEC_ROOT/.venv/bin:$PATH
