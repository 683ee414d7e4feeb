"""perf_semodule: the whole module (main()) against real checkmodule/semodule_package/semodule
on a private copy of a throwaway store (``root=``/``store=``). Every real commit rebuilds the
policy (~4 s on the small test store), so the lifecycle tests chain several steps on one store; they are
marked ``slow``.
"""
import json
import os
import sys
import tempfile

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_semodule as mod
from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils'))
from helpers import run_module  # noqa: E402  pylint: disable=wrong-import-position
from test_semodule import RealModule, TE_V1, TE_V2, needs_tools, store  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

AUDIT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     'fixtures', 'audit')
NAME = 'perftest'


def run(capsys, check=False, diff=False, **args):
    return run_module(mod.main, capsys, check=check, diff=diff, **args)


def listing(st, name=NAME):
    return [m for m in sm.list_modules(RealModule(), st['root'], st['store']) if m['name'] == name]


def cnum(st):
    return sm.commit_num(st['root'], st['store'])


def S(st, **kw):
    return dict(kw, root=st['root'], store=st['store'])


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Point tempfile at an empty dir so we can check the module leaves nothing behind."""
    d = tmp_path / 'tmp'
    d.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(d))
    return d


@needs_tools
@pytest.mark.slow
def test_lifecycle_install_idempotent_change_absent(store, capsys, private_tmp):
    c0 = cnum(store)
    # check mode: reports the install, changes nothing
    r = run(capsys, check=True, diff=True, **S(store, name=NAME, content=TE_V1))
    assert r['changed'] is True and r['operations'] == ['install', 'enable']
    assert r['policy_rebuilt'] is False and r['installed'] is True and r['enabled'] is True
    assert r['diff']['before'] == '# absent\n\n'
    assert '(allow user_t self (perf_event (open kernel)))' in r['diff']['after']
    assert listing(store) == [] and cnum(store) == c0
    want_sum = r['checksum']

    # install
    r = run(capsys, **S(store, name=NAME, content=TE_V1))
    assert r['changed'] is True and r['policy_rebuilt'] is True and not r.get('failed')
    assert r['rules'] == ['allow user_t self:perf_event { kernel open };']
    lst = listing(store)
    assert [(m['priority'], m['enabled'], m['checksum']) for m in lst] == [(300, True, want_sum)]
    assert r['checksum'] == want_sum and r['commit_num'] == cnum(store) == c0 + 1

    # second identical run: no semodule transaction at all
    r = run(capsys, diff=True, **S(store, name=NAME, content=TE_V1))
    assert r['changed'] is False and r['policy_rebuilt'] is False and r['operations'] == []
    assert cnum(store) == c0 + 1 and r['diff']['before'] == r['diff']['after']

    # content change -> reinstall; diff is rule level
    r = run(capsys, diff=True, **S(store, name=NAME, content=TE_V2))
    assert r['changed'] is True and r['operations'] == ['install', 'enable']
    assert '(allow user_t self (perf_event (open kernel)))' in r['diff']['before']
    assert '(allow user_t self (perf_event (open kernel read)))' in r['diff']['after']
    assert cnum(store) == c0 + 2 and listing(store)[0]['checksum'] == r['checksum'] != want_sum

    # absent at another priority: nothing to do
    r = run(capsys, **S(store, name=NAME, state='absent', priority=400))
    assert r['changed'] is False and cnum(store) == c0 + 2
    # absent in check mode, then for real, then again
    r = run(capsys, check=True, **S(store, name=NAME, state='absent'))
    assert r['changed'] is True and r['operations'] == ['remove'] and len(listing(store)) == 1
    r = run(capsys, **S(store, name=NAME, state='absent'))
    assert r['changed'] is True and r['installed'] is False and listing(store) == []
    r = run(capsys, **S(store, name=NAME, state='absent'))
    assert r['changed'] is False and cnum(store) == c0 + 3
    assert os.listdir(str(private_tmp)) == []


@needs_tools
@pytest.mark.slow
def test_from_audit_disable_enable_and_src_pp(store, capsys, private_tmp, tmp_path):
    c0 = cnum(store)
    fa = {'paths': [os.path.join(AUDIT, 'perf_poisoned.log')], 'allowed_domains': ['user_t']}
    r = run(capsys, **S(store, name=NAME, from_audit=fa))
    assert r['changed'] is True and r['skipped_records'] == 20
    assert r['rules'] == ['allow user_t self:capability2 perfmon;',
                          'allow user_t self:perf_event { cpu kernel open read };']
    assert [(m['priority'], m['enabled']) for m in listing(store)] == [(300, True)]
    # the installed module holds exactly these rules and nothing else
    cil = sm.extract_cil(RealModule(), NAME, 300, store['root'], store['store'])
    allows = sorted(line for line in cil.splitlines() if line.startswith('(allow'))
    assert allows == ['(allow user_t self (capability2 (perfmon)))',
                      '(allow user_t self (perf_event (open cpu kernel read)))'] or \
        allows == ['(allow user_t self (capability2 (perfmon)))',
                   '(allow user_t self (perf_event (cpu kernel open read)))']
    assert 'typeattributeset' not in ''.join(allows)
    te_text = r['te']
    c1 = cnum(store)
    assert c1 == c0 + 1

    # the same records again (as text this time): idempotent
    with open(fa['paths'][0], 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    r = run(capsys, **S(store, name=NAME, from_audit={'records': text, 'allowed_domains': ['user_t']}))
    assert r['changed'] is False and cnum(store) == c1

    # disable: check mode, real, again
    r = run(capsys, check=True, **S(store, name=NAME, state='disabled'))
    assert r['changed'] is True and r['enabled'] is False and listing(store)[0]['enabled'] is True
    r = run(capsys, **S(store, name=NAME, state='disabled'))
    assert r['changed'] is True and r['operations'] == ['disable'] and r['enabled'] is False
    assert listing(store)[0]['enabled'] is False and cnum(store) == c1 + 1
    r = run(capsys, **S(store, name=NAME, state='disabled'))
    assert r['changed'] is False and cnum(store) == c1 + 1

    # enable without reinstalling (checksum unchanged)
    before_sum = listing(store)[0]['checksum']
    r = run(capsys, **S(store, name=NAME, state='enabled'))
    assert r['changed'] is True and r['operations'] == ['enable']
    assert listing(store)[0]['enabled'] is True and listing(store)[0]['checksum'] == before_sum
    assert cnum(store) == c1 + 2

    # a .pp built elsewhere with the same rules: nothing to do ("generate once, roll out")
    pp = str(tmp_path / 'elsewhere.pp')
    work = tmp_path / 'w'
    work.mkdir()
    from ansible_collections.perfsec.selinux.plugins.module_utils import te as temod
    built = temod.compile_te(RealModule(), te_text, NAME, str(work))
    os.rename(built, pp)
    r = run(capsys, **S(store, name=NAME, src=pp))
    assert r['changed'] is False and cnum(store) == c1 + 2
    assert os.listdir(str(private_tmp)) == []


@needs_tools
def test_check_mode_changes_nothing_for_every_state(store, capsys):
    c0 = cnum(store)
    for state in ('present', 'enabled', 'disabled'):
        r = run(capsys, check=True, **S(store, name=NAME, content=TE_V1, state=state))
        assert r['changed'] is True and r['installed'] is True
        assert r['enabled'] is (state != 'disabled')
    r = run(capsys, check=True, **S(store, name='base', state='disabled'))
    assert r['changed'] is True and r['operations'] == ['disable']
    assert listing(store) == [] and listing(store, 'base')[0]['enabled'] is True
    assert cnum(store) == c0


@needs_tools
def test_bad_te_shows_checkmodule_message(store, capsys):
    r = run(capsys, **S(store, name=NAME, content=TE_V1.replace('allow user_t', 'allow user_t oops')))
    assert r['failed'] is True
    assert 'checkmodule could not compile perftest.te' in r['msg'] and 'syntax error' in r['msg']
    assert 'fix the .te' in r['msg']


@needs_tools
def test_from_audit_without_matches_changes_nothing(store, capsys):
    c0 = cnum(store)
    r = run(capsys, **S(store, name=NAME, from_audit={'records': 'garbage\n', 'allowed_domains': ['user_t']}))
    assert r['changed'] is False and r['skipped_records'] == 1 and r['rules'] == []
    assert 'nothing to install' in json.dumps(r.get('warnings'))   # 2.19 returns dicts
    assert listing(store) == [] and cnum(store) == c0


@needs_tools
def test_enable_missing_module_fails(store, capsys):
    r = run(capsys, **S(store, name=NAME, state='enabled'))
    assert r['failed'] is True and 'is not installed' in r['msg']


@needs_tools
@pytest.mark.slow
def test_missing_class_fails_cleanly(store, capsys):
    c0 = cnum(store)
    te = TE_V1.replace('perf_event', 'perf_eventx')
    r = run(capsys, **S(store, name=NAME, content=te))
    assert r['failed'] is True and 'store is unchanged' in r['msg']
    assert 'perfsec.selinux.policy_build' in r['msg']
    assert listing(store) == [] and cnum(store) == c0


@pytest.mark.parametrize('args,msg', [
    ({'name': '1bad', 'content': 'x'}, 'invalid module name'),
    ({'name': 'ok', 'content': 'x', 'priority': 1000}, 'priority must be between 1 and 999'),
    ({'name': 'ok', 'from_audit': {'allowed_domains': ['user_t; allow']}}, 'invalid SELinux type'),
    ({'name': 'ok', 'content': 'x', 'src': '/x.te'}, 'mutually exclusive'),
    ({'name': 'ok'}, 'state is present but any of the following are missing'),
])
def test_argument_errors(capsys, args, msg):
    r = run(capsys, **args)
    assert r['failed'] is True and msg in r['msg']


@pytest.mark.skipif(os.path.exists('/sys/fs/selinux/enforce'), reason='SELinux is enabled here')
def test_selinux_disabled_message(capsys):
    r = run(capsys, name=NAME, content=TE_V1)
    assert r['failed'] is True and 'SELinux is disabled on this host' in r['msg']
    assert 'root=/' in r['msg']


def test_missing_store_message(capsys, tmp_path):
    r = run(capsys, name=NAME, content=TE_V1, root=str(tmp_path), store='nope')
    assert r['failed'] is True and 'no SELinux policy store nope' in r['msg']
    assert 'perfsec.selinux.policy_install' in r['msg']
