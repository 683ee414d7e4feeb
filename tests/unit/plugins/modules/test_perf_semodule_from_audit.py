"""perf_semodule from_audit (issue 19): paths read through the byte prefilter, rotated logs,
since.

The module-level runs use a private copy of the throwaway store (check mode: compile only,
no commit), like test_perf_semodule.py; the reader tests need no SELinux tool.
"""
import os
import sys

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_semodule as mod
from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils'))
from helpers import run_module  # noqa: E402  pylint: disable=wrong-import-position
from test_semodule import needs_tools, store  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

AUDIT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     'fixtures', 'audit')
NAME = 'perftest'


class _Failed(Exception):
    pass


class _FailModule(object):
    def fail_json(self, **kw):
        raise _Failed(kw['msg'])


def run(capsys, check=False, **args):
    return run_module(mod.main, capsys, check=check, **args)


def S(st, **kw):
    return dict(kw, root=st['root'], store=st['store'])


def rec(ts, perm, stype='user_t', tclass='perf_event'):
    return ('type=AVC msg=audit(%s:%d): avc:  denied  { %s } for  pid=1 comm="perf" '
            'scontext=u:r:%s:s0 tcontext=u:r:%s:s0 tclass=%s\n' % (ts, int(float(ts)) % 1000, perm, stype, stype, tclass))


NOISE = 'type=SYSCALL msg=audit(1764300000.000:1): arch=c000003e syscall=298 success=no comm="perf"\n'


def write(path, text):
    with open(str(path), 'w') as f:
        f.write(text)
    return str(path)


def rotated_logs(d):
    """audit.log.3 (oldest) ... audit.log.1, audit.log, as auditd leaves them; audit.log.5 after a
    gap is not part of the set."""
    live = write(d / 'audit.log', NOISE + rec('1764340000.000', 'open'))
    write(d / 'audit.log.1', NOISE * 3 + rec('1764330000.000', 'read'))
    write(d / 'audit.log.2', rec('1764320000.000', 'perfmon', tclass='capability2') + NOISE)
    write(d / 'audit.log.3', rec('1764310000.000', 'kernel') + rec('1764310000.500', 'cpu', stype='staff_t'))
    write(d / 'audit.log.5', rec('1764300000.000', 'tracepoint'))
    return live


def test_audit_files_rotated_oldest_first(tmp_path):
    live = rotated_logs(tmp_path)
    assert mod._audit_files({'paths': [live], 'rotated': True}) == [live + '.3', live + '.2', live + '.1', live]
    assert mod._audit_files({'paths': [live], 'rotated': False}) == [live]
    assert mod._audit_files({'paths': [live]}) == [live]
    # a numbered path is read as given; every file once (first time it comes)
    assert mod._audit_files({'paths': [live + '.2'], 'rotated': True}) == [live + '.2']
    assert mod._audit_files({'paths': [live + '.1', live, live], 'rotated': True}) == [
        live + '.1', live + '.3', live + '.2', live]
    # no rotation at all
    other = write(tmp_path / 'other.log', NOISE)
    assert mod._audit_files({'paths': [other], 'rotated': True}) == [other]


def test_read_audit_rotated_and_since(tmp_path):
    live = rotated_logs(tmp_path)
    spec = {'paths': [live], 'rotated': True}
    rules, skipped = au.generate_rules(mod._read_audit(_FailModule(), spec), ['user_t', 'staff_t'], ['perf'])
    assert rules == [('staff_t', 'self', 'perf_event', ['cpu']), ('user_t', 'self', 'capability2', ['perfmon']),
                     ('user_t', 'self', 'perf_event', ['kernel', 'open', 'read'])]
    assert skipped[au.NOT_PERF] == 5 and skipped['total'] == 5
    # only the live log
    rules, skipped = au.generate_rules(mod._read_audit(_FailModule(), {'paths': [live]}), ['user_t'], ['perf'])
    assert rules == [('user_t', 'self', 'perf_event', ['open'])]
    # since: the records' own stamps decide (audit.log.2's perfmon at 1764320000 is older)
    rules, skipped = au.generate_rules(mod._read_audit(_FailModule(), spec), ['user_t', 'staff_t'], ['perf'],
                                       since=1764320000.001)
    assert rules == [('user_t', 'self', 'perf_event', ['open', 'read'])]
    assert skipped['before_since'] == 3 and skipped['no_time'] == 0 and skipped['total'] == 8


@pytest.mark.parametrize('kind', ['fifo', 'directory'])
def test_a_rotated_copy_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    live = write(tmp_path / 'audit.log', rec('1764340000.000', 'open'))
    write(tmp_path / 'audit.log.1', rec('1764330000.000', 'read'))
    if kind == 'fifo':
        os.mkfifo(live + '.2')
    else:
        os.mkdir(live + '.2')
    with pytest.raises(_Failed) as e:
        list(mod._read_audit(_FailModule(), {'paths': [live], 'rotated': True}))
    assert '%s.2 is not a regular file' % live in str(e.value)


def test_read_audit_yields_bulk_counts_for_paths_and_lines_for_records(tmp_path):
    path = write(tmp_path / 'a.log', NOISE * 4 + rec('1764340000.000', 'open'))
    items = list(mod._read_audit(_FailModule(), {'paths': [path], 'records': NOISE * 2}))
    bulk = [i for i in items if isinstance(i, au.BulkSkip)]
    lines = [i for i in items if not isinstance(i, au.BulkSkip)]
    assert sum(b.count for b in bulk) == 4
    assert lines == [rec('1764340000.000', 'open').rstrip('\n')] + [NOISE.rstrip('\n')] * 2


@pytest.mark.parametrize('since', ['checkpoint', '2025-11-28T00:00:00Z', '2025-02-30', 'today -if /tmp/forged.log',
                                   'now 13:00', '25:00', True, -1, '-5', '1e9', 'nan', [1764337200], {'epoch': 1}])
def test_since_must_be_a_start_time(capsys, since):
    r = run(capsys, name='ok', from_audit={'allowed_domains': ['user_t'], 'since': since})
    assert r['failed'] is True and 'from_audit.since must be a start time' in r['msg']
    assert 'epoch seconds (1764337200)' in r['msg'] and 'today' in r['msg']


@needs_tools
def test_since_keyword_is_resolved_on_the_host_and_returned(store, capsys, tmp_path):
    """since: today means the host's last midnight (the records of 2025 are older: nothing to
    install, nothing changed); the result says what it meant and when the module looked."""
    live = rotated_logs(tmp_path)
    before = au.resolve_since('now')
    r = run(capsys, check=True, **S(store, name=NAME, from_audit={
        'paths': [live], 'rotated': True, 'since': 'today', 'allowed_domains': ['user_t', 'staff_t']}))
    assert r.get('failed') is not True, r
    assert r['changed'] is False and r['rules'] == []
    assert r['since'] == au.resolve_since('today')
    assert before <= r['checked_at'] <= au.resolve_since('now')
    assert r['skipped_reasons']['before_since'] == 5      # audit.log.3 ... audit.log, every record


@needs_tools
def test_paths_give_the_rules_of_records_on_every_fixture(store, capsys):
    """The module with from_audit.paths (prefiltered) and with the same text as records (parsed
    line by line): the same rules, the same module checksum, on every fixture log."""
    names = sorted(f for f in os.listdir(AUDIT) if f.endswith('.log'))
    paths = [os.path.join(AUDIT, f) for f in names]
    text = ''
    for p in paths:
        with open(p, 'rb') as f:
            text += f.read().decode('utf-8', 'surrogateescape')
    for domains in (['user_t'], ['user_t', 'staff_t', 'unconfined_t']):
        by_path = run(capsys, check=True, **S(store, name=NAME, from_audit={'paths': paths, 'allowed_domains': domains}))
        by_text = run(capsys, check=True, **S(store, name=NAME, from_audit={'records': text, 'allowed_domains': domains}))
        assert not by_path.get('failed') and by_path['rules'] and by_path['rules'] == by_text['rules']
        assert by_path['checksum'] == by_text['checksum'] and by_path['te'] == by_text['te']
        assert by_path['skipped_reasons'][au.NOT_PERF] > 0 and au.NOT_PERF not in by_text['skipped_reasons']
        for reason in ('domain', 'perm', 'target', 'too_long'):
            assert by_path['skipped_reasons'][reason] == by_text['skipped_reasons'][reason]


@needs_tools
def test_module_rotated_and_since(store, capsys, tmp_path):
    live = rotated_logs(tmp_path)
    fa = {'paths': [live], 'rotated': True, 'since': '1764320000.001', 'allowed_domains': ['user_t', 'staff_t']}
    r = run(capsys, check=True, **S(store, name=NAME, from_audit=fa))
    assert not r.get('failed') and r['changed'] is True
    assert r['rules'] == ['allow user_t self:perf_event { open read };']
    sk = r['skipped_reasons']
    assert (sk['before_since'], sk['no_time'], sk[au.NOT_PERF], sk['total']) == (3, 0, 5, 8)
    assert r['skipped_records'] == 8 and r['record_forms']['auditd'] == 2
    # epoch seconds as a number; without rotated only the live log
    fa.update(since=1764330000, rotated=False)
    r = run(capsys, check=True, **S(store, name=NAME, from_audit=fa))
    assert r['rules'] == ['allow user_t self:perf_event open;'] and r['skipped_reasons']['before_since'] == 0
    # no since: neither reason is there; records without a stamp are no_time only with since
    fa = {'records': 'AVC ' + rec('1.0', 'open').split(': ', 1)[1], 'allowed_domains': ['user_t']}
    r = run(capsys, check=True, **S(store, name=NAME, from_audit=fa))
    assert r['rules'] == ['allow user_t self:perf_event open;'] and 'no_time' not in r['skipped_reasons']
    fa['since'] = 0
    r = run(capsys, check=True, **S(store, name=NAME, from_audit=fa))
    assert r['rules'] == [] and r['skipped_reasons']['no_time'] == 1 and r['changed'] is False
