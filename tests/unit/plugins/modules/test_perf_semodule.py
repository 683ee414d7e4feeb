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
    # 20 skipped records, plus the ---- and time-> separators: paths are prefiltered (issue 19),
    # lines without a perf class are counted under not_perf (separators included), not parsed
    assert r['changed'] is True and r['skipped_records'] == 22
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
    r = run(capsys, check=True, **S(store, name='base', state='disabled', allow_distribution_module=True))
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
    assert 'ignore_selinux_state=true' in r['msg'] and 'root=/' in r['msg']


class _Fail(Exception):
    pass


class _Module(object):
    def fail_json(self, **kw):
        raise _Fail(kw['msg'])


def _params(**kw):
    p = {'root': None, 'ignore_selinux_state': False, 'reload': True, 'store': None}
    p.update(kw)
    return p


def test_store_ignore_selinux_state(monkeypatch, tmp_path):
    """A host without selinuxfs: refused with the way out named, or managed offline as root=/
    with ignore_selinux_state; with SELinux enabled the option changes nothing."""
    monkeypatch.setattr(mod, 'SELINUXFS', str(tmp_path / 'selinuxfs'))
    monkeypatch.setattr(mod.sm, 'store_dir', lambda root, store: str(tmp_path))
    with pytest.raises(_Fail) as e:
        mod._store(_Module(), _params())
    assert 'SELinux is disabled on this host' in str(e.value) and 'ignore_selinux_state=true' in str(e.value)
    assert mod._store(_Module(), _params(ignore_selinux_state=True)) == ('/', None, False)
    assert mod._store(_Module(), _params(root='/')) == ('/', None, False)
    (tmp_path / 'selinuxfs').mkdir()
    (tmp_path / 'selinuxfs' / 'enforce').write_text(u'1')
    assert mod._store(_Module(), _params(ignore_selinux_state=True)) == (None, None, False)
    assert mod._store(_Module(), _params(reload=False)) == (None, None, True)
    assert mod._store(_Module(), _params(root=str(tmp_path / 'img'))) == (str(tmp_path / 'img'), None, True)


def test_missing_store_message(capsys, tmp_path):
    r = run(capsys, name=NAME, content=TE_V1, root=str(tmp_path), store='nope')
    assert r['failed'] is True and 'no SELinux policy store nope' in r['msg']
    assert 'perfsec.selinux.policy_install' in r['msg']


# --- issue 13: hostile and malformed input (findings 3, 7, 8) ---------------------------------
# Every new error path fails before any semodule transaction; the store fixture is used so the
# same test, run on the old code, shows what it did there (a leak, a traceback, a change).

SECRET = 'root:$6$SECRETHASH$abc:19000:0:99999:7:::\n'


@needs_tools
@pytest.mark.parametrize('ext', ['.te', '.cil'])
def test_src_symlink_to_a_secret_is_refused(store, capsys, tmp_path, ext):
    secret = tmp_path / 'shadow'
    secret.write_text(SECRET)
    link = tmp_path / ('perftest' + ext)
    os.symlink(str(secret), str(link))
    for check in (True, False):
        r = run(capsys, check=check, diff=True, **S(store, name=NAME, src=str(link)))
        assert r['failed'] is True and 'is a symlink' in r['msg'] and 'only a regular file' in r['msg']
        assert 'SECRETHASH' not in json.dumps(r) and r.get('te') is None and 'diff' not in r


@needs_tools
def test_src_that_does_not_parse_is_never_echoed(store, capsys, tmp_path):
    te = tmp_path / 'perftest.te'
    te.write_text(SECRET)
    r = run(capsys, check=True, diff=True, **S(store, name=NAME, src=str(te)))
    assert r['failed'] is True and 'declares module None' in r['msg']
    assert r.get('te') is None and 'SECRETHASH' not in json.dumps(r)
    cil = tmp_path / 'perftest.cil'
    cil.write_text(SECRET)
    r = run(capsys, check=True, diff=True, **S(store, name=NAME, src=str(cil)))
    assert r['failed'] is True and 'is not a CIL module (line 1: text outside parentheses)' in r['msg']
    assert 'SECRETHASH' not in json.dumps(r)
    assert listing(store) == []


@needs_tools
def test_cil_src_diff_shows_parsed_rules_only(store, capsys, tmp_path):
    cil = tmp_path / 'perftest.cil'
    cil.write_text('; token SECRETHASH\n(typeattributeset cil_gen_require user_t)\n'
                   '(allow  user_t self\n   (perf_event (open kernel)))  ; SECRETHASH\n')
    r = run(capsys, check=True, diff=True, **S(store, name=NAME, src=str(cil)))
    assert r['changed'] is True and r['operations'] == ['install', 'enable']
    assert r['diff']['after'] == ('# enabled\n(allow user_t self\n(perf_event (open kernel)))\n'
                                  '(typeattributeset cil_gen_require user_t)\n')
    assert 'SECRETHASH' not in json.dumps(r) and r['te'] is None


@needs_tools
@pytest.mark.parametrize('kind', ['missing', 'directory'])
def test_te_src_missing_or_directory_fails_with_a_message(store, capsys, tmp_path, kind):
    path = tmp_path / 'perftest.te'
    if kind == 'directory':
        path.mkdir()
    r = run(capsys, **S(store, name=NAME, src=str(path)))
    assert r['failed'] is True
    assert ('%s does not exist on the target' % path if kind == 'missing' else 'is a directory') in r['msg']


@needs_tools
def test_te_src_invalid_utf8_fails_with_a_message(store, capsys, tmp_path):
    path = tmp_path / 'perftest.te'
    path.write_bytes(TE_V1.encode('utf-8') + b'# \xff\xfe\n')
    r = run(capsys, **S(store, name=NAME, src=str(path)))
    assert r['failed'] is True and 'is not UTF-8 text' in r['msg']
    assert 'offset %d' % (len(TE_V1) + 2) in r['msg'] and r.get('te') is None
    assert listing(store) == []


@needs_tools
def test_long_or_newline_name_fails_with_a_message(store, capsys):
    long_name = 'a' * 300
    r = run(capsys, check=True, **S(store, name=long_name, content=TE_V1.replace(NAME, long_name)))
    assert r['failed'] is True and 'at most 128 characters' in r['msg'] and long_name not in r['msg']
    r = run(capsys, check=True, **S(store, name=NAME + '\n', content=TE_V1))
    assert r['failed'] is True and 'invalid module name' in r['msg']


@needs_tools
def test_priority_true_is_refused(store, capsys):
    for args in (dict(content=TE_V1), dict(state='absent'), dict(state='disabled')):
        r = run(capsys, check=True, **S(store, name=NAME, priority=True, **args))
        assert r['failed'] is True and 'got the boolean True' in r['msg']


@needs_tools
def test_from_audit_empty_allowed_domains_fails(store, capsys):
    c0 = cnum(store)
    fa = {'paths': [os.path.join(AUDIT, 'perf_poisoned.log')], 'allowed_domains': []}
    r = run(capsys, **S(store, name=NAME, from_audit=fa))
    assert r['failed'] is True and 'from_audit.allowed_domains is empty' in r['msg']
    assert listing(store) == [] and cnum(store) == c0


@needs_tools
def test_distribution_module_needs_confirmation(store, capsys):
    c0 = cnum(store)
    te_unconfined = TE_V1.replace('module perftest', 'module unconfined')
    for args, what in [
            (dict(state='absent', priority=100), 'refusing to remove it at priority 100'),
            (dict(state='disabled'), 'refusing to disable it'),
            (dict(content=te_unconfined, priority=100), 'refusing to install over it at priority 100'),
            (dict(content=te_unconfined, priority=400), 'refusing to install over it at priority 400')]:
        for check in (True, False):
            r = run(capsys, check=check, **S(store, name='unconfined', **args))
            assert r['failed'] is True and what in r['msg'], r
            assert 'unconfined is a distribution module (installed at priority 100' in r['msg']
            assert 'allow_distribution_module=true' in r['msg']
    assert [(m['priority'], m['enabled']) for m in listing(store, 'unconfined')] == [(100, True)]
    assert cnum(store) == c0
    # confirmed: planned as before
    r = run(capsys, check=True, **S(store, name='unconfined', state='absent', priority=100,
                                    allow_distribution_module=True))
    assert r['changed'] is True and r['operations'] == ['remove']
    r = run(capsys, check=True, **S(store, name='unconfined', state='disabled', allow_distribution_module=True))
    assert r['changed'] is True and r['operations'] == ['disable']
    # not a distribution module (nothing of that name below 200), or nothing to do: no confirmation
    r = run(capsys, check=True, **S(store, name=NAME, content=TE_V1, priority=100))
    assert r['changed'] is True and not r.get('failed')
    r = run(capsys, check=True, **S(store, name='unconfined', state='absent', priority=300))
    assert r['changed'] is False and not r.get('failed')
    r = run(capsys, check=True, **S(store, name='unconfined', state='enabled'))
    assert r['changed'] is False and not r.get('failed')
    assert cnum(store) == c0


# --- issue 13: from_audit (findings 1, 2, 9) ---------------------------------------------------
# allowed_targets, record_forms, bounded reading of from_audit.paths.

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au  # noqa: E402

CAP = getattr(au, 'MAX_LINE', 10240)     # the literal lets the tests fail for the right reason on the old code


class _Failed(Exception):
    pass


class _FailModule(object):
    """What _read_audit needs of AnsibleModule: fail_json, raising with the message."""
    def fail_json(self, **kw):
        raise _Failed(kw['msg'])


FORGED = ('type=AVC msg=audit(1764337300.%03d:%d): avc:  denied  { %s } for  pid=4242 comm="perf" '
          'scontext=user_u:user_r:user_t:s0 tcontext=system_u:system_r:%s:s0 tclass=%s permissive=0')
FORGED_RECORDS = [FORGED % (i, 600 + i, perms, t, c) for i, (perms, t, c) in enumerate([
    ('read write', 'domain', 'perf_event'), ('cpu kernel tracepoint', 'kernel_t', 'perf_event'),
    ('open', 'init_t', 'perf_event'), ('read', 'q' * 5000, 'perf_event'),
    ('perfmon', 'kernel_t', 'capability2'), ('read write', 'kernel_t', 'perf_event')])]
POISONED_RULES = ['allow user_t self:capability2 perfmon;',
                  'allow user_t self:perf_event { cpu kernel open read };']


@needs_tools
@pytest.mark.slow
def test_from_audit_forged_targets_check_mode_and_real_run_agree(store, capsys, private_tmp):
    """Finding 1: records whose target is an attribute (domain), kernel_t, init_t or a
    5,000-character type. Before, the .te granted `user_t domain:perf_event { read write }` and
    `user_t kernel_t:perf_event ...`, and the real install failed ("Failed to resolve") while check
    mode predicted success. Now they are skipped (target) and both runs install the same rules."""
    with open(os.path.join(AUDIT, 'perf_poisoned.log'), 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    fa = {'records': text + '\n'.join(FORGED_RECORDS) + '\n', 'allowed_domains': ['user_t']}
    r = run(capsys, check=True, **S(store, name=NAME, from_audit=fa))
    assert r['changed'] is True and r['rules'] == POISONED_RULES
    assert r['skipped_reasons']['target'] == 6 and r['skipped_records'] == 26
    for bad in ('domain', 'kernel_t', 'init_t', 'qqqq'):
        assert bad not in r['te']
    want_sum = r['checksum']
    r = run(capsys, **S(store, name=NAME, from_audit=fa))
    assert not r.get('failed') and r['changed'] is True and r['rules'] == POISONED_RULES
    assert r['checksum'] == want_sum and r['record_forms']['auditd'] == 13 + 6
    cil = sm.extract_cil(RealModule(), NAME, 300, store['root'], store['store'])
    allows = [line for line in cil.splitlines() if line.startswith('(allow')]
    assert len(allows) == 2 and all(line.startswith('(allow user_t self ') for line in allows)

    # allowed_targets: kernel_t may get read/write (the base policy defines it), nothing else
    fa['allowed_targets'] = ['kernel_t']
    r = run(capsys, **S(store, name=NAME, from_audit=fa))
    assert not r.get('failed') and r['changed'] is True
    assert r['rules'] == ['allow user_t kernel_t:perf_event { read write };'] + POISONED_RULES
    assert r['skipped_reasons']['target'] == 5
    cil = sm.extract_cil(RealModule(), NAME, 300, store['root'], store['store'])
    assert '(allow user_t kernel_t (perf_event (read write)))' in cil
    assert os.listdir(str(private_tmp)) == []


FORM_TE_RULES = ['allow staff_t self:perf_event { cpu open };', 'allow user_t self:capability2 perfmon;',
                 'allow user_t self:perf_event { kernel open read };']


@needs_tools
def test_from_audit_record_forms(store, capsys):
    """Finding 9: journalctl, dmesg and ausearch -i files give the rules of the auditd form, and
    the result says how many records of each form were read."""
    forms = ('form_journal.log', 'form_dmesg.log', 'form_ausearch_interpreted.log')
    fa = {'paths': [os.path.join(AUDIT, f) for f in forms],
          'allowed_domains': ['user_t', 'staff_t']}
    r = run(capsys, check=True, **S(store, name=NAME, from_audit=fa))
    assert r['changed'] is True and r['rules'] == FORM_TE_RULES
    # paths are prefiltered (issue 19): the granted tclass=security and the tclass=file records of
    # each file, and the SYSCALL lines, are counted under not_perf, not parsed; the USER_AVC lines
    # (tclass=perf_event in their msg) are parsed and not_avc
    assert r['record_forms'] == {'auditd': 0, 'ausearch_interpreted': 5, 'kernel': 0, 'dmesg': 5,
                                 'journal': 8, 'journal_cat': 0}
    assert r['skipped_reasons']['target'] == 3 and r['skipped_reasons']['not_avc'] == 3
    assert r['skipped_reasons']['not_perf'] == 11 + 4 + 4
    with open(os.path.join(AUDIT, 'form_journal_cat.log')) as f:
        records = f.read()
    r = run(capsys, check=True, **S(store, name=NAME, from_audit={'records': records,
                                                                  'allowed_domains': ['user_t', 'staff_t']}))
    assert r['rules'] == FORM_TE_RULES and r['record_forms']['journal_cat'] == 7
    r = run(capsys, check=True, **S(store, name=NAME, content=TE_V1))
    assert r['record_forms'] == {}


@needs_tools
def test_from_audit_dev_zero_is_refused(store, capsys):
    """Finding 2 / 8: /dev/zero used to be read until MemoryError (do not run this on the old code
    without a memory limit)."""
    c0 = cnum(store)
    r = run(capsys, **S(store, name=NAME, from_audit={'paths': ['/dev/zero'], 'allowed_domains': ['user_t']}))
    assert r['failed'] is True and '/dev/zero is not a regular file' in r['msg']
    assert listing(store) == [] and cnum(store) == c0


@pytest.mark.parametrize('targets,msg', [
    (['kernel_t; allow user_t self:capability sys_admin'], 'invalid SELinux type in from_audit.allowed_targets'),
    (['kernel_t\n'], 'invalid SELinux type in from_audit.allowed_targets'),
    (['-kernel_t'], 'invalid SELinux type in from_audit.allowed_targets'),
    (['self'], 'self is always a target'),
])
def test_from_audit_allowed_targets_validation(capsys, targets, msg):
    r = run(capsys, name='ok', from_audit={'allowed_domains': ['user_t'], 'allowed_targets': targets})
    assert r['failed'] is True and msg in r['msg']


def _record(perm):
    return ('type=AVC msg=audit(1.2:3): avc:  denied  { %s } for  pid=1 comm="perf" '
            'scontext=u:r:user_t:s0 tcontext=u:r:user_t:s0 tclass=perf_event' % perm)


def test_read_audit_memory_is_bounded_on_a_line_without_newline(tmp_path):
    """Finding 2 (/dev/zero-like input): a 4 MB line without a newline, between two records, is
    read au.MAX_LINE + 1 bytes at a time and passed on as one too_long line; the old reader
    (`for raw in f`) held the whole line. A regular file rather than /dev/zero, which the old
    code read until MemoryError."""
    path = str(tmp_path / 'huge.log')
    with open(path, 'wb') as f:
        f.write(_record('open').encode() + b'\n' + b'\0' * (4 << 20) + b'\n' + _record('read').encode())
    lines = list(mod._read_audit(_FailModule(), {'paths': [path]}))
    assert max(len(line) for line in lines) <= CAP + 1
    assert len(lines) == 3 and lines[1] == au.TOO_LONG_LINE
    rules, skipped = au.generate_rules(iter(lines), ['user_t'], [])
    assert rules == [('user_t', 'self', 'perf_event', ['open', 'read'])]
    assert skipped['too_long'] == 1 and skipped['total'] == 1


def test_read_audit_line_lengths_at_the_cap(tmp_path):
    """A line of exactly au.MAX_LINE bytes (with or without its newline) is read whole; one byte
    more is too_long, also as the last line of the file."""
    rec = _record('open')
    at_cap = (rec + ' x="' + 'a' * (CAP - len(rec) - 5) + '"').encode()
    assert len(at_cap) == CAP
    over = at_cap[:-1] + b'a"'
    for data, want in [(at_cap + b'\n' + at_cap, (2, 0)), (over + b'\n' + at_cap, (1, 1)),
                       (at_cap + b'\n' + over, (1, 1)), (over + b'\n' + over + b'\n', (0, 2))]:
        path = str(tmp_path / 'cap.log')
        with open(path, 'wb') as f:
            f.write(data)
        forms = {}
        rules, skipped = au.generate_rules(mod._read_audit(_FailModule(), {'paths': [path]}), ['user_t'], [],
                                           forms=forms)
        assert (forms['auditd'], skipped['too_long']) == want


@pytest.mark.parametrize('kind', ['dev_zero', 'fifo', 'directory'])
def test_read_audit_refuses_what_is_not_a_regular_file(tmp_path, kind):
    """/dev/zero (old code: MemoryError once the memory is gone), a FIFO (old code: blocked in
    open() for ever), a directory. Do not run the first two on the old code without limits."""
    if kind == 'dev_zero':
        path = '/dev/zero'
    elif kind == 'fifo':
        path = str(tmp_path / 'fifo')
        os.mkfifo(path)
    else:
        path = str(tmp_path)
    with pytest.raises(_Failed) as e:
        list(mod._read_audit(_FailModule(), {'paths': [path]}))
    assert '%s is not a regular file' % path in str(e.value)


def test_read_audit_records_split_on_newline_only():
    spec = {'records': 'perf[1]: x\x0c' + _record('open') + '\r\n' + _record('read') + '\u2028x'}
    lines = list(mod._read_audit(_FailModule(), spec))
    assert len(lines) == 2
    rules, skipped = au.generate_rules(iter(lines), ['user_t'], [])
    assert rules == [] and skipped['unparsable'] == 2


@needs_tools
def test_grant_declares_the_module_and_matches_its_te(store, capsys, private_tmp):
    """grant renders the declared module in Python: check mode changes nothing, the install is the
    module the same .te gives (no change when given as content), a second run is unchanged, and a
    bad grant fails with one message before the store is touched."""
    c0 = cnum(store)
    grant = dict(domains=['user_t'], permissions=['open', 'read'])
    chk = run(capsys, check=True, diff=True, **S(store, name=NAME, grant=grant))
    assert chk['changed'] is True and listing(store) == [] and cnum(store) == c0
    assert '(allow user_t self (perf_event (open read)))' in chk['diff']['after']
    r = run(capsys, **S(store, name=NAME, grant=grant))
    assert r['changed'] is True and r['rules'] == ['allow user_t self:perf_event { open read };'], r
    again = run(capsys, **S(store, name=NAME, grant=grant))
    assert again['changed'] is False and cnum(store) == c0 + 1
    from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
    same = run(capsys, **S(store, name=NAME, content=au.grant_te(NAME, ['user_t'], ['open', 'read'])))
    assert same['changed'] is False and same['checksum'] == r['checksum']
    bad = run(capsys, **S(store, name=NAME, grant=dict(domains=['user_t'], permissions=['open', 'ptrace'])))
    assert bad['failed'] is True and 'ptrace' in bad['msg'] and cnum(store) == c0 + 1
    empty = run(capsys, **S(store, name=NAME, grant=dict(domains=[])))
    assert empty['failed'] is True and 'grant.domains is empty' in empty['msg']
