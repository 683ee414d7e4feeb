"""The collection builds with ansible-galaxy and installs offline from the tarball.

Runs the real ansible-galaxy/ansible-doc of the lane's ansible-core; skipped on the 3.6/3.7
lanes, which have no controller.
"""
import json
import os
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(BIN, 'ansible-galaxy')),
                                reason='no ansible controller in this lane')


def _run(args, env=None):
    out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                         env=env, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stdout
    return out.stdout


def test_build_install_offline_and_doc(tmp_path):
    import yaml  # not installed in the 3.6/3.7 lanes, which skip this test
    dist, inst = str(tmp_path / 'dist'), str(tmp_path / 'inst')
    with open(os.path.join(ROOT, 'galaxy.yml')) as f:
        version = yaml.safe_load(f)['version']
    _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', dist, ROOT])
    tarball = os.path.join(dist, 'perfsec-selinux-%s.tar.gz' % version)
    with tarfile.open(tarball) as t:
        names = t.getnames()
    assert 'plugins/modules/perf_mac_facts.py' in names
    assert 'meta/runtime.yml' in names
    # ansible-builder reads the collection's system dependencies from these
    assert 'meta/execution-environment.yml' in names and 'bindep.txt' in names
    # nothing of the developer tree leaks into the artifact
    leaked = [n for n in names if n.split('/')[0] in ('.venv', '.venv-compat', '.venv-py36', '.venv-py37',
                                                      'tests', 'molecule', 'bench', 'build', '.git', '.cache',
                                                      'execution-environment.yml', 'requirements.yml')]
    assert leaked == []
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=inst, LC_ALL='C.UTF-8')
    out = _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '-p', inst, tarball], env)
    assert 'perfsec.selinux:%s was installed successfully' % version in out
    # dependencies resolve offline from the ansible bundle
    assert "'ansible.posix" in out and "'community.general" not in out      # perf_users does its own caps
    installed = os.path.join(inst, 'ansible_collections', 'perfsec', 'selinux')
    assert os.path.isdir(installed) and not os.path.islink(installed)
    doc = json.loads(_run([os.path.join(BIN, 'ansible-doc'), '--json', 'perfsec.selinux.perf_mac_facts'], env))
    entry = doc['perfsec.selinux.perf_mac_facts']
    assert entry['doc']['filename'].startswith(installed)
    # a subset: the module grows options; the doc must come from the tarball, complete
    assert {'gather_modules', 'module_filter', 'perf_path'} <= set(entry['doc']['options'])
    assert entry['examples']


def test_execution_environment_context(tmp_path):
    """ansible-builder turns execution-environment.yml into a build context (the image build
    itself needs podman/docker, which this machine lacks)."""
    builder = os.path.join(BIN, 'ansible-builder')
    if not os.path.exists(builder):
        pytest.skip('ansible-builder not installed in this lane')
    ctx = str(tmp_path / 'ctx')
    _run([builder, 'create', '-f', os.path.join(ROOT, 'execution-environment.yml'), '-c', ctx])
    # Containerfile with podman on PATH, Dockerfile otherwise
    name = 'Containerfile' if os.path.exists(os.path.join(ctx, 'Containerfile')) else 'Dockerfile'
    with open(os.path.join(ctx, name)) as f:
        containerfile = f.read()
    assert 'ansible-galaxy' in containerfile and 'requirements.yml' in containerfile
    with open(os.path.join(ctx, '_build', 'requirements.yml')) as f:
        reqs = f.read()
    assert 'perfsec' in reqs and 'ansible.posix' in reqs and 'community.general' not in reqs
