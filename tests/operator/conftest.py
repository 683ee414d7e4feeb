"""Fixtures of the operator tests (scripts/operator.sh; `make test` stage `operator`).

One test-bed VM for the whole session (tests/images/vm.py, Debian 12, permissive, restored
from the cached booted snapshot), started once and stopped at the end, and the collection
tarball (the one `make release` built when PERFSEC_RELEASE_TARBALL names it, else one built
here). Helpers: opslib.py.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from opslib import BIN, ROOT, VM, clean_env, log, run


@pytest.fixture(scope='session')
def galaxy():
    with open(os.path.join(ROOT, 'galaxy.yml')) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope='session')
def tarball(tmp_path_factory, galaxy):
    given = os.environ.get('PERFSEC_RELEASE_TARBALL')
    if given:
        return os.path.abspath(given)
    dist = tmp_path_factory.mktemp('dist')
    rc, out = run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(dist), ROOT],
                  clean_env(), str(dist))
    assert rc == 0, out
    path = str(dist / '{namespace}-{name}-{version}.tar.gz'.format(**galaxy))
    assert os.path.isfile(path), out
    return path


@pytest.fixture(scope='session')
def vm():
    """The test-bed VM: instance info of vm.py start (port, identity_file, ...)."""
    state = os.environ.get('PERFSEC_OPERATOR_VM_STATE', os.path.join(ROOT, '.cache', 'operator', 'vm1'))
    subprocess.run([sys.executable, VM, 'stop', '--state-dir', state], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    t0 = time.time()
    out = subprocess.run([sys.executable, VM, 'start', '--state-dir', state, '--name', 'fleet1', '--mode',
                          'permissive'], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    info = json.loads(out.stdout)
    how = 'snapshot' if info['from_snapshot'] else 'cold boot'
    log('VM fleet1 up on 127.0.0.1:%s in %.0f s (%s)' % (info['port'], time.time() - t0, how))
    try:
        yield info
    finally:
        subprocess.run([sys.executable, VM, 'stop', '--state-dir', state], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(state, ignore_errors=True)
        log('VM fleet1 stopped')
