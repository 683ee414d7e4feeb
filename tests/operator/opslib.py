"""Helpers of the operator tests (scripts/operator.sh; `make test` stage `operator`).

One test-bed VM for the whole session (tests/images/vm.py, Debian 12, permissive, restored
from the cached booted snapshot), started once and stopped at the end, and the collection
tarball (the one `make release` built when PERFSEC_RELEASE_TARBALL names it, else one built
here). The tests run ansible the way an operator's controller does: no ANSIBLE_* variable of
this checkout (scripts/env.sh points ANSIBLE_COLLECTIONS_PATH at the checkout), only what
each test sets.
"""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
VM = os.path.join(ROOT, 'tests', 'images', 'vm.py')


def log(msg):
    print('operator: %s' % msg, file=sys.stderr, flush=True)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'MOLECULE_'))}
    env.update(PATH=BIN + os.pathsep + env.get('PATH', '/usr/bin:/bin'), LC_ALL='C.UTF-8', LANG='C.UTF-8',
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
    env.update(extra)
    return env


def run(args, env, cwd, timeout=1800, **kw):
    t0 = time.time()
    out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                         env=env, cwd=cwd, timeout=timeout, check=False, **kw)
    log('%s: rc %d in %.0f s' % (' '.join(args)[:160], out.returncode, time.time() - t0))
    return out.returncode, out.stdout


def vm_ssh(vm, cmd):
    """Run a shell command in the VM as root; returns (rc, output)."""
    out = subprocess.run([sys.executable, VM, 'ssh', '--state-dir', vm['state_dir'], '--', cmd],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         universal_newlines=True, timeout=300, check=False)
    return out.returncode, out.stdout
