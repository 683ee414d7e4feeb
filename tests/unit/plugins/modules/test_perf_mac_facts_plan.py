"""perf_mac_facts plan=: the perf module part of the plan against the real tools (checkmodule,
semodule_package, semodule in a throwaway store), and its errors. The decision table itself is
tested row by row in tests/unit/plugins/module_utils/test_plan.py."""
import os
import shutil
import sys

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_mac_facts as pmf
from ansible_collections.perfsec.selinux.plugins.modules import perf_semodule

from helpers import run_module

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils'))
from test_semodule import TE_V1, TE_V2, store  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


def plan(capsys, root, check=True, **module):
    spec = dict(dict(name='perftest', priority=300), **module)
    r = run_module(pmf.main, capsys, check=check, root=root, gather_denials=False, gather_modules=False,
                   plan={'module': spec})
    return r


@pytest.mark.slow
def test_plan_module_checksum_agrees_with_the_real_install(store, capsys):
    r = plan(capsys, store['root'], content=TE_V1)
    assert r.get('failed') is not True, r
    p = r['ansible_facts']['perfsec']['plan']
    # the store root has no selinuxfs: the plan read the policy installed on disk (the packaged
    # refpolicy's base module defines perf_event and perfmon, so no rebuild)
    assert p['policy']['source'] == 'installed' and p['policy']['perf_event_class'] is True
    assert not p['needs']['policy_build']
    assert p['needs']['module'] and p['module']['installed'] is False
    want = p['module']['desired_checksum']
    assert want and len(want) == 64

    inst = run_module(perf_semodule.main, capsys, name='perftest', content=TE_V1,
                      root=store['root'], store=store['store'])
    assert inst['changed'] is True, inst
    assert inst['checksum'] == want

    p = plan(capsys, store['root'], content=TE_V1)['ansible_facts']['perfsec']['plan']
    assert p['needs']['module'] is False and p['module']['checksum'] == want
    p = plan(capsys, store['root'], content=TE_V2)['ansible_facts']['perfsec']['plan']
    assert p['needs']['module'] is True and 'differs from the wanted module' in p['steps'][-1]['reason']
    p = plan(capsys, store['root'], state='absent')['ansible_facts']['perfsec']['plan']
    assert p['needs']['module'] is True and 'remove it' in p['steps'][-1]['reason']


AVC = ('type=AVC msg=audit(%d.100:42): avc:  denied  { %s } for  pid=42 comm="perf" '
       'scontext=user_u:user_r:user_t:s0 tcontext=user_u:user_r:user_t:s0 tclass=perf_event permissive=0\n')


@pytest.mark.slow
def test_plan_generated_module_new_denials_by_content(store, capsys):
    """With generate=true the plan reads the installed module's CIL from the store and flags
    only denials it does not answer (the time of the last store commit does not matter)."""
    import time
    inst = run_module(perf_semodule.main, capsys, name='perftest', content=TE_V1,
                      root=store['root'], store=store['store'])
    assert inst['changed'] is True, inst
    log = os.path.join(store['root'], 'var/log/audit/audit.log')
    os.makedirs(os.path.dirname(log))
    now = int(time.time())
    with open(log, 'w') as f:
        f.write(AVC % (now, 'open') + AVC % (now, 'kernel'))

    def gen_plan():
        r = run_module(pmf.main, capsys, check=True, root=store['root'], gather_modules=False,
                       plan={'module': {'name': 'perftest', 'generate': True, 'allowed_domains': ['user_t']}})
        assert r.get('failed') is not True, r
        return r['ansible_facts']['perfsec']['plan']
    p = gen_plan()
    assert p['needs']['module'] is False and p['module']['new_denials'] == 0
    with open(log, 'a') as f:
        f.write(AVC % (now, 'read'))
    p = gen_plan()
    assert p['needs']['module'] is True and p['module']['new_denial_perms'] == ['read']
    assert p['steps'][-1]['reason'] == 'perf_event denials of user_t ask for read, which perftest@300 does not grant'


def test_plan_refuses_a_te_that_does_not_compile(tmp_path, capsys):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, 'etc/selinux'))
    with open(os.path.join(root, 'etc/selinux/config'), 'w') as f:
        f.write('SELINUX=permissive\nSELINUXTYPE=targeted\n')
    r = plan(capsys, root, content='module perftest 1.0;\nthis is not policy\n')
    assert r['failed'] is True
    assert r['msg'].startswith('the perf module perftest: checkmodule could not compile perftest.te')


@pytest.mark.parametrize('module,msg', [
    (dict(name='bad name'), "invalid module name 'bad name'"),
    (dict(priority=1000), 'plan.module.priority must be between 1 and 999'),
    (dict(content='module perftest 1.0;', generate=True), 'not both'),
    (dict(content='module perftest 1.0;', grant=dict(domains=['user_t'])), 'not both'),
    (dict(grant=dict(domains=['user_t; allow'])), "plan.module: invalid SELinux type in grant.domains: 'user_t; allow'"),
])
def test_plan_module_bad_input(tmp_path, capsys, module, msg):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, 'etc/selinux'))
    with open(os.path.join(root, 'etc/selinux/config'), 'w') as f:
        f.write('SELINUX=permissive\nSELINUXTYPE=targeted\n')
    r = plan(capsys, root, **module)
    assert r['failed'] is True and msg in r['msg'], r


def test_plan_refuses_a_host_without_selinux(tmp_path, capsys):
    r = run_module(pmf.main, capsys, check=True, root=str(tmp_path), plan={})
    assert r['failed'] is True and r['msg'].startswith('no SELinux on this host')


@pytest.mark.slow
def test_plan_rebuild_record_checked_with_the_real_rpm(store, capsys):
    """policy_install's record names rebuilt packages that the root's rpm database does not have
    (a distro update replaced them): the plan rebuilds; with the module route it does not."""
    import json
    import subprocess
    rec_dir = os.path.join(store['root'], 'var/lib/perfsec/policy-backup/key1')
    os.makedirs(rec_dir)
    subprocess.check_call(['rpm', '--root', store['root'], '--initdb'])   # an rpm database without them
    with open(os.path.join(rec_dir, 'state.json'), 'w') as f:
        json.dump({'installed': ['selinux-policy-2.20221101-48.fc31like.perf1.noarch'], 'previous': []}, f)

    def plan_of(**want):
        r = run_module(pmf.main, capsys, check=True, root=store['root'], gather_denials=False,
                       gather_modules=False, plan=want)
        assert r.get('failed') is not True, r
        return r['ansible_facts']['perfsec']['plan']
    p = plan_of()
    assert p['needs']['policy_build'] and 'are no longer installed' in p['steps'][0]['reason']
    assert not plan_of(class_source='module')['needs']['policy_build']
    with open(os.path.join(rec_dir, 'rolled-back'), 'w') as f:
        f.write('selinux-policy-2.20221101-48.fc31like.noarch\n')
    assert not plan_of()['needs']['policy_build']


TINY_SPEC = '''Name: selinux-policy
Version: 2.20221101
Release: 48.fc31like.perf1
Summary: stand-in for a rebuilt policy package
License: GPLv2
BuildArch: noarch
%description
stand-in
%files
'''


@pytest.mark.skipif(not shutil.which('rpmbuild') or not shutil.which('rpm'), reason='needs rpm and rpmbuild')
def test_policy_packages_fact_from_the_real_rpm_database(tmp_path, capsys):
    """facts.policy_packages (what the report flags as policy_replaced): None without a record;
    current=True while the root's rpm database has the rebuilt package, False once an update
    replaced it (here: erased), None again after rollback marked the record rolled back."""
    import json
    import subprocess
    root = str(tmp_path / 'root')
    os.makedirs(os.path.join(root, 'etc/selinux'))

    def facts():
        r = run_module(pmf.main, capsys, check=True, root=root, gather_denials=False, gather_modules=False)
        assert r.get('failed') is not True, r
        return r['ansible_facts']['perfsec']['policy_packages']
    assert facts() is None
    rec_dir = os.path.join(root, 'var/lib/perfsec/policy-backup/key1')
    os.makedirs(rec_dir)
    with open(os.path.join(rec_dir, 'state.json'), 'w') as f:
        json.dump({'installed': ['selinux-policy-2.20221101-48.fc31like.perf1.noarch'], 'previous': []}, f)
    # no rpm database in the root: rpm -q would create one, so the fact does not ask
    assert facts()['current'] is None and not os.path.exists(os.path.join(root, 'root/.rpmdb'))
    assert sorted(os.listdir(root)) == ['etc', 'var']
    top = str(tmp_path / 'rpmbuild')
    with open(str(tmp_path / 'tiny.spec'), 'w') as f:
        f.write(TINY_SPEC)
    subprocess.check_call(['rpmbuild', '-bb', '--define', '_topdir ' + top, str(tmp_path / 'tiny.spec')],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rpmfile = os.path.join(top, 'RPMS/noarch/selinux-policy-2.20221101-48.fc31like.perf1.noarch.rpm')
    subprocess.check_call(['rpm', '--root', root, '-i', '--nodeps', '--noscripts', rpmfile],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = facts()
    assert got['current'] is True and got['installed'] == ['selinux-policy-2.20221101-48.fc31like.perf1.noarch']
    assert got['path'] == os.path.join(rec_dir, 'state.json')
    subprocess.check_call(['rpm', '--root', root, '-e', '--nodeps', '--noscripts', 'selinux-policy'])
    assert facts()['current'] is False
    with open(os.path.join(rec_dir, 'rolled-back'), 'w') as f:
        f.write('selinux-policy-2.20221101-48.fc31like.noarch\n')
    assert facts() is None


@pytest.mark.slow
def test_plan_grant_checksum_agrees_with_perf_semodule_grant(store, capsys):
    """The rollout's declared default module: the plan renders grant the way perf_semodule does."""
    grant = dict(domains=['user_t'], permissions=['open', 'kernel'])
    p = plan(capsys, store['root'], grant=grant)['ansible_facts']['perfsec']['plan']
    assert p['needs']['module'] and p['module']['desired_checksum']
    inst = run_module(perf_semodule.main, capsys, name='perftest', grant=grant, root=store['root'], store=store['store'])
    assert inst['changed'] is True and inst['checksum'] == p['module']['desired_checksum'], inst
    p = plan(capsys, store['root'], grant=grant)['ansible_facts']['perfsec']['plan']
    assert p['needs']['module'] is False
    p = plan(capsys, store['root'], grant=dict(domains=['user_t']))['ansible_facts']['perfsec']['plan']
    assert p['needs']['module'] is True and 'differs from the wanted module' in p['steps'][-1]['reason']
