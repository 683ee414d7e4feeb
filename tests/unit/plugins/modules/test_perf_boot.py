"""perf_boot: the relabel request before a reboot and the checks after it (roles relabel and
rollback), on fixture roots: the boot id, selinuxfs, /etc/selinux/config and /.autorelabel are
files under ``root``; the kernel log is this machine's real journalctl/dmesg. The decision
(module_utils/boot.verify_problems) row by row."""
import os

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import boot
from ansible_collections.perfsec.selinux.plugins.modules import perf_boot

from helpers import run_module, write_file

BOOT_A = '0f6d3a52-7f8e-4bd4-9a3e-2b3b8c7f1e21'
BOOT_B = '9a1c2e77-1111-4bd4-9a3e-2b3b8c7f1e22'


def host(base, boot_id=BOOT_A, mode='permissive', config='permissive', perf_event=True, autorelabel=False):
    write_file(os.path.join(base, 'proc/sys/kernel/random/boot_id'), boot_id + '\n')
    write_file(os.path.join(base, 'etc/selinux/config'), 'SELINUX=%s\nSELINUXTYPE=default\n' % config)
    fs = os.path.join(base, 'sys/fs/selinux')
    if mode != 'disabled':
        write_file(os.path.join(fs, 'enforce'), '1' if mode == 'enforcing' else '0')
        write_file(os.path.join(fs, 'policyvers'), '33')
        write_file(os.path.join(fs, 'class/process/perms/fork'), '1')
        if perf_event:
            write_file(os.path.join(fs, 'class/perf_event/perms/open'), '1')
    if autorelabel:
        write_file(os.path.join(base, '.autorelabel'), '')
    return base


def run(capsys, base, check=False, **kw):
    return run_module(perf_boot.main, capsys, check=check, root=base, **kw)


def test_prepare_writes_the_request_once_and_check_mode_writes_nothing(tmp_path, capsys):
    base = host(str(tmp_path))
    r = run(capsys, base, check=True, state='prepare', autorelabel=True, autorelabel_options='-F')
    assert r['changed'] is True and r['boot_id'] == BOOT_A and not os.path.exists(os.path.join(base, '.autorelabel'))
    r = run(capsys, base, state='prepare', autorelabel=True, autorelabel_options='-F')
    assert r['changed'] is True and r['autorelabel_pending'] is True
    path = os.path.join(base, '.autorelabel')
    assert open(path).read() == '-F\n' and oct(os.stat(path).st_mode & 0o777) == '0o644'
    again = run(capsys, base, state='prepare', autorelabel=True, autorelabel_options='-F')
    assert again['changed'] is False
    plain = run(capsys, base, state='prepare')
    assert plain['changed'] is False and plain['boot_id'] == BOOT_A


def test_prepare_refuses_a_disabled_config(tmp_path, capsys):
    base = host(str(tmp_path), mode='disabled', config='disabled')
    r = run(capsys, base, state='prepare', autorelabel=True)
    assert r['failed'] is True and 'SELINUX=disabled; a relabel boot needs enforcing or permissive' in r['msg']
    assert not os.path.exists(os.path.join(base, '.autorelabel'))
    os.unlink(os.path.join(base, 'etc/selinux/config'))
    r = run(capsys, base, state='prepare', autorelabel=True)
    assert r['failed'] is True and 'config is missing or sets no SELINUX=; a relabel boot needs' in r['msg']


def test_verify_a_good_relabel_boot_writes_the_marker(tmp_path, capsys):
    base = host(str(tmp_path), boot_id=BOOT_B)
    marker = '/var/lib/perfsec/relabel.done'
    chk = run(capsys, base, check=True, state='verify', boot_id=BOOT_A, autorelabel=True, marker=marker, reason='why')
    assert chk['changed'] is False and chk['problems'] == [] and not os.path.exists(base + marker)
    r = run(capsys, base, state='verify', boot_id=BOOT_A, autorelabel=True, expected_mode='permissive',
            require_perf_event=True, marker=marker, reason='SELinux is being enabled')
    assert r.get('failed') is not True and r['changed'] is True and r['problems'] == [], r
    text = open(base + marker).read()
    assert text.endswith(' SELinux is being enabled\n') and text[:4].isdigit()
    # the kernel log was read from this machine (journalctl or dmesg), or unreadable (None)
    assert r['undefined'] is None or isinstance(r['undefined'], list)


def test_verify_names_every_problem_and_writes_nothing(tmp_path, capsys):
    base = host(str(tmp_path), boot_id=BOOT_A, mode='enforcing', autorelabel=True)
    marker = '/var/lib/perfsec/relabel.done'
    r = run(capsys, base, state='verify', boot_id=BOOT_A, autorelabel=True, expected_mode='permissive',
            marker=marker, hint='Look at the console.')
    assert r['failed'] is True and not os.path.exists(base + marker)
    assert r['msg'] == ('the host came back, but the reboot is not right: the boot id did not change (%s): the host '
                        'did not reboot; /.autorelabel is still there: the relabel did not run; SELinux is enforcing, '
                        'expected permissive. Look at the console.' % BOOT_A)


def test_verify_expected_mode_defaults_to_the_config(tmp_path, capsys):
    base = host(str(tmp_path), boot_id=BOOT_B, mode='permissive', config='enforcing')
    r = run(capsys, base, state='verify', boot_id=BOOT_A)
    assert r['failed'] is True and 'SELinux is permissive, expected enforcing' in r['msg']
    base2 = host(str(tmp_path / 'off'), boot_id=BOOT_B, mode='disabled', config='disabled')
    assert run(capsys, base2, state='verify', boot_id=BOOT_A)['problems'] == []


def test_verify_needs_the_boot_id(tmp_path, capsys):
    r = run(capsys, host(str(tmp_path)), state='verify')
    assert r['failed'] is True and 'boot_id' in r['msg']


SE_OK = {'enabled': True, 'policyvers': 33, 'mode': 'permissive', 'perf_event_class': True}
KLOG_UNDEF = ['SELinux:  Class perf_event not defined in policy.', 'SELinux:  Class anon_inode not defined in policy.']


@pytest.mark.parametrize('row, args, want', [
    ('all good', (BOOT_A, BOOT_B, SE_OK, False, 'permissive', True, True, []), []),
    ('no reboot', (BOOT_A, BOOT_A, SE_OK, False, 'permissive', True, False, []), ['the boot id did not change']),
    ('relabel not run', (BOOT_A, BOOT_B, SE_OK, True, '', True, False, []), ['/.autorelabel is still there']),
    ('pending is fine without a relabel', (BOOT_A, BOOT_B, SE_OK, True, '', False, False, []), []),
    ('no policy', (BOOT_A, BOOT_B, dict(SE_OK, enabled=False, policyvers=None, mode='disabled'), False, '', True,
                   False, None), ['no SELinux policy is loaded']),
    ('wrong mode', (BOOT_A, BOOT_B, SE_OK, False, 'enforcing', False, False, None), ['SELinux is permissive, expected enforcing']),
    ('class undefined', (BOOT_A, BOOT_B, SE_OK, False, '', True, True, KLOG_UNDEF),
     ['the kernel log says: SELinux:  Class perf_event not defined in policy.']),
    ('class undefined, not required', (BOOT_A, BOOT_B, SE_OK, False, '', True, False, KLOG_UNDEF), []),
    ('other classes undefined only', (BOOT_A, BOOT_B, SE_OK, False, '', True, True, KLOG_UNDEF[1:]), []),
    ('kernel log unreadable', (BOOT_A, BOOT_B, SE_OK, False, '', True, True, None), []),
])
def test_verify_problems_rows(row, args, want):
    got = boot.verify_problems(*args)
    assert len(got) == len(want), row
    for g, w in zip(got, want):
        assert g.startswith(w), row
