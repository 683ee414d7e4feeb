"""roles/policy_build + policy_install on this machine: the Fedora-31-like fixture SRPM, two hosts, one build.

Runs ansible-playbook (localhost, two inventory names) with the roles; policy_install writes
into throwaway rpm roots (rpm --root), never into this host's policy. The build itself
(rpmbuild -bp, perf_policy_patch, rpmbuild -ba: ~1-2 min on 2 cores) happens once per SRPM
and is cached in the role's own cache under .cache/policy/role-work, so later runs of this
test only exercise the cache-hit path (which is what the second play asserts anyway).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'policy')
PLAY = os.path.join(FIXTURES, 'playbooks', 'policy_build_local.yml')
PLAY_INSTALL = os.path.join(FIXTURES, 'playbooks', 'policy_build_install_root.yml')
sys.path.insert(0, FIXTURES)
import fc31tree  # noqa: E402

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

pytestmark = pytest.mark.skipif(
    not (os.path.exists(PLAYBOOK_BIN) and shutil.which('rpmbuild') and shutil.which('checkpolicy')),
    reason='needs ansible-playbook in this venv, rpmbuild and checkpolicy')


def _play(tmp_path, srpm, workdir, fetch_dir, play=PLAY, extra=(), args=()):
    inv = os.path.join(str(tmp_path), 'inventory.ini')
    with open(inv, 'w') as f:
        for h in ('build1', 'target2'):
            f.write('%s ansible_connection=local ansible_python_interpreter=%s\n' % (h, sys.executable))
    env = dict(os.environ, LC_ALL='C.UTF-8', ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCAL_TEMP=os.path.join(str(tmp_path), 'ansible-tmp'))
    cmd = [PLAYBOOK_BIN, '-i', inv, play, '-e', 'fixture_srpm=%s' % srpm,
           '-e', 'fixture_workdir=%s' % workdir, '-e', 'fixture_fetch_dir=%s' % fetch_dir]
    for e in extra:
        cmd += ['-e', e]
    cmd += list(args)
    proc = subprocess.run(cmd, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env)
    return proc.returncode, proc.stdout


def _recap(out):
    return {m.group(1): {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2))}
            for m in re.finditer(r'^(\S+)\s+:\s+(ok=.*)$', out, re.M)}


def test_build_once_install_twice_then_nothing(tmp_path):
    try:
        srpm = fc31tree.fc31_srpm()
    except fc31tree.FixtureUnavailable as e:
        pytest.skip(str(e))
    if not shutil.which('rpm'):
        pytest.skip('rpm not installed')
    workdir = os.path.join(fc31tree.CACHE, 'role-work')
    fetch = os.path.join(str(tmp_path), 'fetch')
    roots = os.path.join(str(tmp_path), 'roots')
    # both roots start like a Fedora 31 box: the unpatched selinux-policy packages installed
    old_rpms = fc31tree.fc31_rpms()
    for host in ('build1', 'target2'):
        root = os.path.join(roots, host)
        subprocess.run(['rpm', '--root', root, '--initdb'], check=True)
        subprocess.run(['rpm', '--root', root, '-Uh', '--quiet', '--nodeps', '--noscripts'] + old_rpms, check=True)
    extra = ['fixture_root=%s' % roots]
    rc, out = _play(tmp_path, srpm, workdir, fetch, PLAY_INSTALL, extra)
    assert rc == 0, out[-6000:]
    # one build (or a cache hit from an earlier run of this test) for both hosts
    assert out.count('policy_build: built ') + out.count('policy_build: cache hit ') == 1, out[-6000:]
    rpms = sorted(os.path.basename(p) for p in glob.glob(os.path.join(fetch, '*', '*.rpm')))
    assert rpms == ['selinux-policy-2.20221101-48.fc31like.perf1.noarch.rpm',
                    'selinux-policy-fc31like-2.20221101-48.fc31like.perf1.noarch.rpm'], rpms
    patch = glob.glob(os.path.join(fetch, '*', 'selinux-policy-perf-events-perfmon.patch'))
    assert len(patch) == 1 and '+class perf_event\n' in open(patch[0]).read()
    # both hosts got the build and installed it into their root, with a record for rollback
    for host in ('build1', 'target2'):
        root = os.path.join(roots, host)
        q = subprocess.run(['rpm', '--root', root, '-qa'], stdout=subprocess.PIPE, universal_newlines=True,
                           check=True).stdout
        assert sorted(q.split()) == ['selinux-policy-2.20221101-48.fc31like.perf1.noarch',
                                     'selinux-policy-fc31like-2.20221101-48.fc31like.perf1.noarch'], q
        assert os.path.isfile(os.path.join(root, 'usr/share/selinux/fc31like/base.pp'))
        state = glob.glob(os.path.join(root, 'var/lib/perfsec/policy-backup/*/state.json'))
        assert len(state) == 1
        with open(os.path.join(os.path.dirname(state[0]), 'previous-packages.txt')) as f:
            assert f.read().split() == ['selinux-policy-2.20221101-48.fc31like.noarch',
                                        'selinux-policy-fc31like-2.20221101-48.fc31like.noarch']
    # the message says how the policy gets loaded (live by the packages' %post where SELinux
    # runs, else at the next boot), never that every install needs a relabel and a reboot: the role's
    # report line, once per host (the fixture playbook shows the whole result too, report included)
    reports = re.findall(r'^    "msg": "(policy_install: .*)"$', out, re.M)
    assert len(reports) == 2 and all("the packages' %post loads the new policy live" in r for r in reports), reports
    assert out.count("the packages' %post loads the new policy live") == 4, out[-6000:]
    assert 'needs a full relabel and a reboot' not in out

    # second run: no build, no install, nothing changed (rpm -q says installed; whether a
    # host needs the policy at all is the plan's decision, not this role's)
    rc, out2 = _play(tmp_path, srpm, workdir, fetch, PLAY_INSTALL, extra)
    assert rc == 0, out2[-6000:]
    assert out2.count('"reason": "already installed"') == 2
    recap = _recap(out2)
    assert set(recap) == {'build1', 'target2'} and all(r['changed'] == 0 for r in recap.values()), recap
    assert 'policy_build: cache hit' in out2 and 'policy_build: built ' not in out2

    # the packaged base module declares perf_event and perfmon, the original one does not
    # (rpm2archive: cpio is not installed here); the VM scenario proves the loaded policy
    if shutil.which('rpm2archive'):
        def base_module(pkg, dest):
            os.makedirs(dest)
            with open(pkg, 'rb') as f:
                data = subprocess.run(['rpm2archive', '-'], stdin=f, stdout=subprocess.PIPE, check=True).stdout
            subprocess.run(['tar', '-xzf', '-', '-C', dest], input=data, check=True)
            with open(os.path.join(dest, 'usr/share/selinux/fc31like/base.pp'), 'rb') as f:
                return f.read()
        new = base_module(glob.glob(os.path.join(fetch, '*', 'selinux-policy-fc31like-*.rpm'))[0],
                          os.path.join(str(tmp_path), 'new'))
        old = base_module([p for p in old_rpms if 'selinux-policy-fc31like-' in p][0],
                          os.path.join(str(tmp_path), 'old'))
        assert b'perf_event' in new and b'perfmon' in new
        assert b'perf_event' not in old and b'perfmon' not in old


def test_corrupt_srpm_stops_with_one_clear_error(tmp_path):
    try:
        bad = fc31tree.corrupt_srpm(str(tmp_path))
    except fc31tree.FixtureUnavailable as e:
        pytest.skip(str(e))
    workdir = os.path.join(str(tmp_path), 'work')
    rc, out = _play(tmp_path, bad, workdir, os.path.join(str(tmp_path), 'fetch'))
    assert rc != 0
    fatal = [line for line in out.splitlines() if line.startswith('fatal:')]
    assert len(fatal) == 1, out[-4000:]
    assert 'is not a usable selinux-policy source RPM' in fatal[0] and 'DIGESTS NOT OK' in fatal[0], fatal[0]
    assert 'nothing was built' in fatal[0]
    assert _recap(out)['build1']['changed'] == 0
    assert not os.path.exists(os.path.join(workdir, 'build')) or not os.listdir(os.path.join(workdir, 'build'))
    assert not os.path.isdir(os.path.join(str(tmp_path), 'fetch'))


def test_unparsable_flask_tree_stops_with_one_clear_error(tmp_path):
    try:
        broken = fc31tree.broken_flask_srpm(str(tmp_path))
    except fc31tree.FixtureUnavailable as e:
        pytest.skip(str(e))
    workdir = os.path.join(str(tmp_path), 'work')
    fetch = os.path.join(str(tmp_path), 'fetch')
    rc, out = _play(tmp_path, broken, workdir, fetch)
    assert rc != 0
    fatal = [line for line in out.splitlines() if line.startswith('fatal:')]
    assert len(fatal) == 1, out[-4000:]
    assert 'cannot patch the flask files' in fatal[0], fatal[0]
    assert re.search(r'policy/flask/access_vectors:\d+: unterminated', fatal[0]), fatal[0]
    # nothing built, nothing cached, nothing fetched
    assert not glob.glob(os.path.join(workdir, 'build', '*', 'rpmbuild', 'RPMS', '*', '*.rpm'))
    assert not glob.glob(os.path.join(workdir, 'cache', '*', 'manifest.json'))
    assert not os.path.isdir(fetch)


@pytest.mark.parametrize('check', [False, True])
@pytest.mark.parametrize('build_host', ['', 'target2'])
def test_dnf_download_needs_the_first_hosts_version(tmp_path, build_host, check):
    """dnf download --source without a version: the version installed on the first host (build1),
    read in check mode too - by the module when build1 builds, from build1's perf_mac_facts (gathered
    by the role, none being there) when target2 builds. This machine has no selinux-policy: one
    message naming build1, before anything is downloaded or built."""
    rpm = shutil.which('rpm')
    q = subprocess.run([rpm, '-q', '--qf', '%{VERSION}-%{RELEASE}', 'selinux-policy'], stdout=subprocess.PIPE,
                       universal_newlines=True, check=False)
    if q.returncode == 0:
        pytest.skip('selinux-policy is installed on this machine')
    workdir = os.path.join(str(tmp_path), 'work')
    extra = ['policy_build_dnf_download=true', 'policy_build_srpm=', 'policy_build_host=%s' % build_host]
    rc, out = _play(tmp_path, '', workdir, os.path.join(str(tmp_path), 'fetch'), extra=extra,
                    args=['--check'] if check else [])
    assert rc != 0, out[-4000:]
    fatal = [line for line in out.splitlines() if line.startswith('fatal:')]
    assert len(fatal) == 1, out[-4000:]
    assert fatal[0].startswith('fatal: [build1 -> target2]' if build_host else 'fatal: [build1]:'), fatal[0]
    assert ('"msg": "selinux-policy is not installed on build1 (%s): set policy_build_srpm_version '
            '(e.g. 3.14.4-48.fc31) or policy_build_srpm."' % q.stdout.strip()) in fatal[0], fatal[0]
    # the facts task (delegated to build1, the run_once host) runs only when another host builds
    task = out.split('Read the facts of the first host')[1].split('TASK')[0]
    assert task.split('\n', 1)[1].strip() == ('ok: [build1]' if build_host else 'skipping: [build1]'), task
    assert not os.path.exists(workdir)
