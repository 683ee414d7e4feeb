"""perf_paranoid profile=stig and kptr_restrict (issue 17), on temp /proc and sysctl.d trees."""
import os

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_paranoid as mod
from ansible_collections.perfsec.selinux.plugins.module_utils import sysctl as sc

from helpers import make_proc, make_root, read_file as _read, run_module, write_file as _write

DROPIN = '/etc/sysctl.d/99-zz-perfsec-perf.conf'


@pytest.fixture
def host(tmp_path, monkeypatch):
    base = str(tmp_path)
    proc = make_proc(base, paranoid=3, version='#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1',
                     extra={'kptr_restrict': 0})
    _write(os.path.join(proc, '1/environ'), 'HOME=/\0')
    _write(os.path.join(proc, 'self/mountinfo'), '22 1 0:21 / /proc rw - proc proc rw\n')
    make_root(base, {'/etc/sysctl.conf': '# sysctl.conf\n',
                     '/etc/os-release': 'ID="rhel"\nVERSION_ID="9.4"\n'})
    os.makedirs(os.path.join(base, 'etc/sysctl.d'))
    os.symlink('../sysctl.conf', os.path.join(base, 'etc/sysctl.d/99-sysctl.conf'))
    monkeypatch.setattr(mod, 'PROC_ROOT', proc)
    monkeypatch.setattr(mod, 'ROOT', base)
    return {'base': base, 'proc': proc}


def run(capsys, check=False, **args):
    from ansible.module_utils.common import warnings as w
    w._global_warnings.clear()
    return run_module(mod.main, capsys, check=check, diff=True, **args)


def runtime(host, name='perf_event_paranoid'):
    return _read(os.path.join(host['proc'], 'sys/kernel', name)).strip()


def test_stig_sets_2_persisted_and_passes_then_idempotent(host, capsys):
    r = run(capsys, check=True, profile='stig')
    assert r['changed'] is True and r['stig']['status'] == 'pass' and runtime(host) == '3'
    r = run(capsys, profile='stig')
    assert r['changed'] is True and r['level'] == 2 and runtime(host) == '2'
    assert r['stig']['status'] == 'pass' and r['stig']['file'] == DROPIN
    assert r['stig']['cce'] == 'CCE-83959-7' and r['stig']['product'] == 'RHEL 9'
    assert run(capsys, profile='stig')['changed'] is False


@pytest.mark.parametrize('level', [-1, 0, 1, 3])
def test_stig_refuses_another_level_with_one_message(host, capsys, level):
    r = run(capsys, profile='stig', level=level)
    assert r['failed'] is True
    assert r['msg'].startswith('perfsec_profile stig keeps kernel.perf_event_paranoid at exactly 2')
    assert 'level %d was requested' % level in r['msg'] and 'CCE-83959-7' in r['msg']
    assert runtime(host) == '3' and not os.path.exists(os.path.join(host['base'], DROPIN[1:]))


def test_stig_refuses_runtime_only_or_persist_only(host, capsys):
    assert 'persist=true' in run(capsys, profile='stig', persist=False)['msg']
    assert 'runtime=true' in run(capsys, profile='stig', runtime=False)['msg']


def test_stig_comments_out_a_later_override(host, capsys):
    _write(os.path.join(host['base'], 'etc/sysctl.d/zz-late.conf'), 'kernel.perf_event_paranoid = 1\n')
    r = run(capsys, profile='stig')
    assert r['changed'] is True and r['stig']['status'] == 'pass'
    assert r['commented_out'] == ['/etc/sysctl.d/zz-late.conf']
    assert _read(os.path.join(host['base'], 'etc/sysctl.d/zz-late.conf')).startswith('# perfsec.selinux')


def test_default_profile_keeps_reporting_only(host, capsys):
    _write(os.path.join(host['base'], 'etc/sysctl.d/zz-late.conf'), 'kernel.perf_event_paranoid = 1\n')
    r = run(capsys, level=2, profile='default')
    assert r['changed'] is True and 'stig' not in r and r['commented_out'] == []


def test_kptr_restrict_only_when_asked(host, capsys):
    r = run(capsys, level=2)
    assert 'kernel.kptr_restrict' not in r['current'] and runtime(host, 'kptr_restrict') == '0'
    r = run(capsys, kptr_restrict=1)
    assert r['changed'] is True and runtime(host, 'kptr_restrict') == '1'
    assert 'kernel.kptr_restrict = 1' in _read(os.path.join(host['base'], DROPIN[1:]))
    assert run(capsys, kptr_restrict=1)['changed'] is False


def test_kptr_restrict_range_and_stig(host, capsys):
    assert run(capsys, kptr_restrict=3)['failed'] is True
    r = run(capsys, profile='stig', kptr_restrict=0)
    assert r['failed'] is True and 'kernel.kptr_restrict at 1' in r['msg']
    r = run(capsys, profile='stig', kptr_restrict=1)
    assert r['changed'] is True and r['current'] == {sc.PARANOID: 2, sc.KPTR_RESTRICT: 1}
