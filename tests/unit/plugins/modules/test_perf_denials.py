"""perf_denials (issue 20): a host's perf denials since a point in time from audit.log and its
rotated files, bounded, aggregated, read-only; the installed module from a fake store; the
journal fallback with a stub journalctl. No SELinux tool needed. Python 3.6 compatible.
"""
import hashlib
import json
import os
import stat

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_denials as mod

from helpers import run_module

AUDIT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     'fixtures', 'audit')
T0 = 1764337200


def avc(perm, ts, serial, stype='user_t', tclass='perf_event'):
    return ('type=AVC msg=audit(%d.000:%d): avc:  denied  { %s } for  pid=1 comm="perf" scontext=u:r:%s:s0 '
            'tcontext=u:r:%s:s0 tclass=%s permissive=0\n' % (ts, serial, perm, stype, stype, tclass))


NOISE = 'type=SYSCALL msg=audit(1764300000.000:1): arch=c000003e syscall=1 success=yes comm="sh" exe="/bin/sh"\n'


def write(path, text, mtime=None):
    with open(str(path), 'w') as f:
        f.write(text)
    if mtime is not None:
        os.utime(str(path), (mtime, mtime))
    return str(path)


def run(capsys, check=False, **args):
    return run_module(mod.main, capsys, check=check, **args)


def snapshot(d):
    return sorted((p, os.stat(os.path.join(d, p)).st_mtime, os.stat(os.path.join(d, p)).st_size)
                  for p in os.listdir(d))


def rotated(d):
    write(d / 'audit.log', NOISE + avc('open', T0 + 300, 4))
    write(d / 'audit.log.1', avc('read', T0 + 200, 3) + NOISE, mtime=T0 + 250)
    write(d / 'audit.log.2', avc('kernel', T0 + 100, 2), mtime=T0 + 150)
    write(d / 'audit.log.3', avc('cpu', T0 - 100, 1), mtime=T0 - 50)         # before since: not read
    write(d / 'audit.log.5', avc('write', T0 + 400, 9))                      # after a gap: not a rotation
    return str(d / 'audit.log')


def test_rotated_logs_newest_first_since_and_read_only(tmp_path, capsys):
    log = rotated(tmp_path)
    before = snapshot(str(tmp_path))
    r = run(capsys, since=T0, path=log, root='/')
    assert r['changed'] is False and r['available'] is True and r['source'] == 'auditd'
    assert [(os.path.basename(f['path']), f['status']) for f in r['files']] == [
        ('audit.log', 'read'), ('audit.log.1', 'read'), ('audit.log.2', 'read'), ('audit.log.3', 'before_since')]
    assert sorted(g['perm'] for g in r['denials']) == ['kernel', 'open', 'read']
    assert r['records'] == 3 and r['skipped_reasons']['not_perf'] == 2 and r['by_class'] == {'perf_event': 3}
    assert r['since'] == T0 and 'since 2025-11-28T13:40:00Z' in r['msg']
    assert snapshot(str(tmp_path)) == before
    # check mode: the same, nothing written either
    assert run(capsys, check=True, since=str(T0), path=log)['denials'] == r['denials']
    # without rotated files
    r = run(capsys, since=T0, path=log, rotated=False)
    assert [g['perm'] for g in r['denials']] == ['open'] and len(r['files']) == 1


def test_poisoned_log_is_aggregated_and_counted(tmp_path, capsys):
    log = write(tmp_path / 'audit.log', open(os.path.join(AUDIT, 'perf_poisoned.log')).read())
    r = run(capsys, since=0, path=log)
    for g in r['denials']:
        assert g['tclass'] in ('perf_event', 'capability2') and g['perm'] in (
            'open', 'cpu', 'kernel', 'tracepoint', 'read', 'write', 'perfmon')
    doms = set(g['stype'] for g in r['denials'])
    assert doms == {'user_t', 'staff_t', 'sshd_t'}        # the host does not filter domains: the merge does
    sk = r['skipped_reasons']
    assert sk['not_avc'] == 1 and sk['perm'] == 1 and sk['total'] == sum(v for k, v in sk.items() if k != 'total')
    exe = [g['exe'] for g in r['denials'] if g['perm'] == 'open' and g['stype'] == 'user_t']
    assert '/usr/bin/perf' in exe
    # per class, what the perf_module role's verification counts
    for tclass in ('perf_event', 'capability2'):
        assert r['by_class'][tclass] == sum(g['count'] for g in r['denials'] if g['tclass'] == tclass) > 0
    assert sum(r['by_class'].values()) >= r['records']     # a record denying two permissions counts twice


def test_max_bytes_reads_the_newest_part(tmp_path, capsys):
    lines = ''.join(avc('open', T0 + i, i) for i in range(100))
    log = write(tmp_path / 'audit.log', lines)
    write(tmp_path / 'audit.log.1', avc('read', T0, 200), mtime=T0 + 1)
    size = len(lines)
    r = run(capsys, since=0, path=log, max_bytes=size // 2)
    assert r['truncated'] is True and r['bytes_read'] <= size // 2
    assert [f['status'] for f in r['files']] == ['tail', 'over_max_bytes']
    g = r['denials'][0]
    assert g['last'] == T0 + 99 and g['first'] > T0 + 40 and r['skipped_reasons'].get('partial') == 1
    assert r['skipped_reasons']['unparsable'] == 0         # the cut line is never parsed


def test_max_records(tmp_path, capsys):
    log = write(tmp_path / 'audit.log', ''.join(avc('open', T0 + i, i) for i in range(50)))
    r = run(capsys, since=0, path=log, max_records=10)
    assert r['records'] == 10 and r['skipped_reasons']['over_cap'] == 40 and r['truncated'] is True


def test_no_audit_log(tmp_path, capsys):
    r = run(capsys, since=0, path=str(tmp_path / 'audit.log'), journal='never')
    assert r['available'] is False and r['denials'] == [] and r['changed'] is False
    assert r['msg'].startswith('no audit log ') and 'journal=never' in r['msg']


def test_not_a_regular_file(tmp_path, capsys):
    os.mkfifo(str(tmp_path / 'audit.log'))
    r = run(capsys, since=0, path=str(tmp_path / 'audit.log'))
    assert r['available'] is False and r['files'][0]['status'] == 'not_regular'


def test_invalid_options(tmp_path, capsys):
    for args in ({'since': 'yesterday'}, {'since': True}, {'since': -5}, {'since': 0, 'max_bytes': 0},
                 {'since': 0, 'module_name': 'a b'}):
        r = run(capsys, path=str(tmp_path / 'x'), **args)
        assert r.get('failed') is True, args


def stub_journalctl(d, entries, rc=0):
    data = d / 'journal.json'
    data.write_text(''.join(json.dumps(e) + '\n' for e in entries))
    stub = d / 'journalctl'
    stub.write_text('#!/bin/sh\necho "$@" > %s/argv\ncat %s\nexit %d\n' % (d, data, rc))
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    return str(d)


def test_journal_fallback(tmp_path, capsys, monkeypatch):
    msg = ('AVC avc:  denied  { open } for  pid=1 comm="perf" scontext=u:r:user_t:s0 tcontext=u:r:user_t:s0 '
           'tclass=perf_event permissive=0')
    entries = [{'MESSAGE': msg, '_SOURCE_REALTIME_TIMESTAMP': str((T0 + 5) * 1000000)},
               {'MESSAGE': msg, '__REALTIME_TIMESTAMP': str((T0 - 5) * 1000000)},
               {'MESSAGE': 'SYSCALL arch=c000003e syscall=298', '__REALTIME_TIMESTAMP': str(T0 * 1000000)},
               {'MESSAGE': [65, 86, 67, 255], '__REALTIME_TIMESTAMP': '1'}]
    bindir = stub_journalctl(tmp_path, entries)
    monkeypatch.setenv('PATH', bindir + os.pathsep + os.environ['PATH'])
    r = run(capsys, since=T0, path=str(tmp_path / 'none.log'))
    assert r['source'] == 'journal' and r['available'] is True
    assert [(g['perm'], g['count'], g['first']) for g in r['denials']] == [('open', 1, T0 + 5)]
    assert r['skipped_reasons']['before_since'] == 1 and r['skipped_reasons']['not_avc'] == 2
    argv = (tmp_path / 'argv').read_text()
    assert '_TRANSPORT=audit _AUDIT_TYPE=1400' in argv and '--since' in argv
    # journalctl failing: not available, with its message
    stub_journalctl(tmp_path, [], rc=1)
    r = run(capsys, since=T0, path=str(tmp_path / 'none.log'))
    assert r['available'] is False and r['msg'].startswith('no audit log ') and 'journal could not be read' in r['msg']
    # journal=always reads the journal even where a log exists
    stub_journalctl(tmp_path, entries)
    log = write(tmp_path / 'audit.log', avc('read', T0 + 1, 1))
    r = run(capsys, since=T0, path=log, journal='always')
    assert r['source'] == 'journal' and [g['perm'] for g in r['denials']] == ['open']


def test_installed_module_from_the_store(tmp_path, capsys):
    cil = '(allow user_t self (perf_event (open read)))\n(allow user_t self (capability2 (perfmon)))\n'
    mdir = tmp_path / 'var/lib/selinux/default/active/modules/300/perfsec_perf'
    mdir.mkdir(parents=True)
    (mdir / 'cil').write_text(cil)
    (tmp_path / 'etc/selinux').mkdir(parents=True)
    (tmp_path / 'etc/selinux/config').write_text('SELINUX=enforcing\nSELINUXTYPE=default\n')
    r = run(capsys, since=0, root=str(tmp_path), path='/var/log/audit/audit.log', journal='never')
    assert r['installed'] == {'name': 'perfsec_perf', 'priority': 300,
                              'checksum': hashlib.sha256(cil.encode()).hexdigest(),
                              'rules': [['user_t', 'self', 'capability2', ['perfmon']],
                                        ['user_t', 'self', 'perf_event', ['open', 'read']]]}
    assert run(capsys, since=0, root=str(tmp_path), module_priority=400, journal='never')['installed'] is None


@pytest.mark.parametrize('log', ['form_auditd.log', 'perf_clean.log'])
def test_fixture_logs(tmp_path, capsys, log):
    path = write(tmp_path / 'audit.log', open(os.path.join(AUDIT, log)).read())
    r = run(capsys, since=0, path=path)
    assert r['records'] >= 1 and all(g['count'] >= 1 for g in r['denials'])
    json.dumps(r)
