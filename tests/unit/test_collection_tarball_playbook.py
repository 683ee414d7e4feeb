"""The built tarball, installed offline into a temporary collections path, runs a real playbook.

Proves the artifact, not the checkout: ANSIBLE_COLLECTIONS_PATH names only the temporary
install directory (the checkout's build/collections symlink is not on it), the commands run
from a temporary working directory, and ansible.posix comes from the
`ansible` package's bundled collections in this venv (site-packages, scanned by ansible-core's
sys.path lookup), as `ansible-galaxy collection install --offline` resolved them.

With PERFSEC_RELEASE_TARBALL set (scripts/release.sh, `make release`), the tests run on that
tarball instead of one built here: the release artifact itself is what gets installed.

The playbooks are perfsec.selinux.report on localhost (read-only) and perfsec.selinux.enable_perf_mac
--check --diff on localhost (relabel_mode=never: this controller's kernel has SELinux off, so
the plan would otherwise reboot it for a relabel, which the local connection refuses). report is passed
report_output_dir=<tmp> so that a report file, should the playbook write one, lands in the
temporary directory; a playbook without that variable ignores it.
"""
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(os.path.join(BIN, 'ansible-playbook')),
                       reason='no ansible controller in this lane'),
]

# Developer tree that must never ship (top-level names in the tarball).
NOT_SHIPPED = ('tests', 'molecule', 'bench', 'scripts', 'build', 'requirements', '.venv', '.venv-compat',
               '.venv-py36', '.venv-py37', '.git', '.cache', '.pytest_cache', 'Makefile', 'pytest.ini',
               'execution-environment.yml', 'requirements.yml')


def _run(args, env, cwd):
    out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                         env=env, cwd=cwd, check=False)
    return out.returncode, out.stdout


def _ok(args, env, cwd):
    rc, out = _run(args, env, cwd)
    assert rc == 0, out
    return out


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """Build the tarball from the checkout and install it offline; returns paths and env."""
    import yaml  # not installed in the 3.6/3.7 lanes, which skip this test
    tmp = tmp_path_factory.mktemp('tarball')
    dist, inst, work = tmp / 'dist', tmp / 'inst', tmp / 'work'
    work.mkdir()
    with open(os.path.join(ROOT, 'galaxy.yml')) as f:
        galaxy = yaml.safe_load(f)
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(inst), ANSIBLE_LOCAL_TEMP=str(tmp / 'ansible-local'),
               ANSIBLE_REMOTE_TEMP=str(tmp / 'ansible-remote'), ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0', LC_ALL='C.UTF-8',
               LANG='C.UTF-8')
    given = os.environ.get('PERFSEC_RELEASE_TARBALL')
    if given:
        tarball = type(dist)(os.path.abspath(given))
    else:
        _ok([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(dist), ROOT], env,
            str(work))
        tarball = dist / '{namespace}-{name}-{version}.tar.gz'.format(**galaxy)
    assert tarball.is_file(), os.listdir(str(dist))
    out = _ok([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '-p', str(inst), str(tarball)],
              env, str(work))
    assert '{namespace}.{name}:{version} was installed successfully'.format(**galaxy) in out, out
    coll = inst / 'ansible_collections' / galaxy['namespace'] / galaxy['name']
    assert coll.is_dir() and not coll.is_symlink()
    return {'galaxy': galaxy, 'tarball': tarball, 'inst': inst, 'coll': coll, 'work': work, 'tmp': tmp, 'env': env}


def test_tarball_contents(installed):
    out = _ok(['tar', '-tzf', str(installed['tarball'])], installed['env'], str(installed['work']))
    names = [n[2:] if n.startswith('./') else n for n in out.splitlines()]
    tops = {n.split('/')[0] for n in names if n}
    assert tops & set(NOT_SHIPPED) == set(), sorted(tops & set(NOT_SHIPPED))
    for must in ('MANIFEST.json', 'FILES.json', 'meta/runtime.yml', 'meta/execution-environment.yml', 'bindep.txt',
                 'playbooks/report.yml', 'plugins/modules/perf_mac_facts.py'):
        assert must in names, must
    for role in ('paranoid', 'perf_users', 'relabel', 'rollback', 'selinux_state', 'perf_module', 'policy_build',
                 'policy_install'):
        assert 'roles/%s/README.md' % role in names, role
        assert 'roles/%s/meta/argument_specs.yml' % role in names, role


def test_installed_manifest_matches_galaxy_yml(installed):
    with open(str(installed['coll'] / 'MANIFEST.json')) as f:
        info = json.load(f)['collection_info']
    galaxy = installed['galaxy']
    assert (info['namespace'], info['name'], info['version']) == (galaxy['namespace'], galaxy['name'], galaxy['version'])
    assert info['dependencies'] == galaxy['dependencies']


def test_collections_resolve_from_install_and_venv_bundle(installed):
    out = _ok([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'list', '--format', 'json'],
              installed['env'], str(installed['work']))
    where = {}
    for path, colls in json.loads(out).items():
        for name in colls:
            where.setdefault(name, []).append(path)
    inst_root = str(installed['inst'] / 'ansible_collections')
    assert where['perfsec.selinux'] == [inst_root]
    site = os.path.realpath(sys.prefix)
    for dep in installed['galaxy']['dependencies']:
        assert where.get(dep), dep
        assert all(os.path.realpath(p).startswith(site + os.sep) for p in where[dep]), (dep, where[dep])


def test_report_playbook_runs_from_installed_tarball(installed):
    report_dir = installed['tmp'] / 'report'
    report_dir.mkdir()
    rc, out = _run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                    '-e', 'ansible_python_interpreter=%s' % sys.executable,
                    '-e', 'report_output_dir=%s' % report_dir,
                    'perfsec.selinux.report'], installed['env'], str(installed['work']))
    assert rc == 0, out
    recap = re.search(r'^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', out, re.M)
    assert recap, out
    ok, _changed, unreachable, failed = (int(x) for x in recap.groups())
    assert (unreachable, failed) == (0, 0), out
    assert ok > 0, out


def test_ansible_doc_of_every_module_from_installed_tarball(installed):
    mods = sorted(n[:-3] for n in os.listdir(str(installed['coll'] / 'plugins' / 'modules'))
                  if n.endswith('.py') and not n.startswith('_'))
    assert 'perf_mac_facts' in mods and len(mods) >= 5, mods
    # the checkout's modules all shipped
    here = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                  if n.endswith('.py') and not n.startswith('_'))
    assert mods == here
    fqcns = ['perfsec.selinux.%s' % m for m in mods]
    docs = json.loads(_ok([os.path.join(BIN, 'ansible-doc'), '--json'] + fqcns, installed['env'],
                          str(installed['work'])))
    for fqcn in fqcns:
        entry = docs[fqcn]
        assert entry['doc']['filename'].startswith(str(installed['coll'])), fqcn
        assert entry['doc'].get('short_description'), fqcn
        assert entry['examples'], fqcn
        assert entry['return'] is not None, fqcn


def test_check_mode_playbook_runs_from_installed_tarball(installed):
    rc, out = _run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                    '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', 'relabel_mode=never',
                    '--check', '--diff', 'perfsec.selinux.enable_perf_mac'], installed['env'], str(installed['work']))
    assert rc == 0, out
    # the roles and modules came from the install, not the checkout
    assert str(installed['coll']) in out or 'perfsec.selinux.rollout' in out, out
    recap = re.search(r'^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', out, re.M)
    assert recap, out
    ok, changed, unreachable, failed = (int(x) for x in recap.groups())
    assert (changed, unreachable, failed) == (0, 0, 0), out
    assert ok > 0 and 'localhost: ' in out, out
