"""perf_boot: the relabel request before a reboot and the checks after it (roles relabel and
rollback), on fixture roots: the boot id, selinuxfs, /etc/selinux/config and /.autorelabel are
files under ``root``; the kernel log is this machine's real journalctl/dmesg; absent_modules is
checked with the real semodule in a throwaway store. The decision (module_utils/boot.verify_problems)
row by row."""
import os
import sys

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import boot
from ansible_collections.perfsec.selinux.plugins.modules import perf_boot, perf_semodule

from helpers import run_module, write_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils'))
from test_semodule import TE_V1, store  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

BOOT_A = '0f6d3a52-7f8e-4bd4-9a3e-2b3b8c7f1e21'
BOOT_B = '9a1c2e77-1111-4bd4-9a3e-2b3b8c7f1e22'


def host(base, boot_id=BOOT_A, mode='permissive', config='permissive', perf_event=True, autorelabel=False,
         policy_type='default'):
    write_file(os.path.join(base, 'proc/sys/kernel/random/boot_id'), boot_id + '\n')
    write_file(os.path.join(base, 'etc/selinux/config'), 'SELINUX=%s\nSELINUXTYPE=%s\n' % (config, policy_type))
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
    ('modules gone', (BOOT_A, BOOT_B, SE_OK, False, '', False, False, None, [], 300), []),
    ('modules not checked', (BOOT_A, BOOT_B, SE_OK, False, '', False, False, None, None, 300), []),
    ('a module left', (BOOT_A, BOOT_B, SE_OK, False, '', False, False, None, ['perfsec_perf', 'x'], 300),
     ['SELinux is permissive and still has these modules at priority 300: perfsec_perf, x']),
    ('store unreadable', (BOOT_A, BOOT_B, SE_OK, False, '', False, False, None, 'semodule failed', 300),
     ['the modules cannot be listed (semodule failed)']),
])
def test_verify_problems_rows(row, args, want):
    got = boot.verify_problems(*args)
    assert len(got) == len(want), row
    for g, w in zip(got, want):
        assert g.startswith(w), row


@pytest.mark.slow
def test_verify_absent_modules_in_a_real_store(store, capsys):
    """Row by row against semodule's list of a throwaway store with perftest installed at 400."""
    inst = run_module(perf_semodule.main, capsys, name='perftest', content=TE_V1, priority=400,
                      root=store['root'], store=store['store'])
    assert inst['changed'] is True and not inst.get('failed'), inst
    base = host(store['root'], boot_id=BOOT_B, policy_type=store['store'])

    def verify(names, priority=300, mode=''):
        return run(capsys, base, state='verify', boot_id=BOOT_A, absent_modules=names, absent_priority=priority,
                   expected_mode=mode)

    present = verify(['perftest', 'perfsec_perf'], 400)
    assert present['failed'] is True and present['leftover'] == ['perftest']
    assert present['msg'] == ('the host came back, but the reboot is not right: SELinux is permissive and still '
                              'has these modules at priority 400: perftest.')
    other_priority = verify(['perftest'], 300)
    assert other_priority.get('failed') is not True and other_priority['leftover'] == [], other_priority
    absent = verify(['perfsec_perf'], 400)
    assert absent.get('failed') is not True and absent['leftover'] == [], absent
    # SELinux not enabled after the boot: not checked, though the store still has it
    os.rename(os.path.join(base, 'sys'), os.path.join(base, 'sys.off'))
    disabled = verify(['perftest'], 400, mode='disabled')
    assert disabled.get('failed') is not True and disabled['leftover'] is None and disabled['problems'] == [], disabled


def test_verify_absent_modules_store_unreadable_and_bad_names(tmp_path, capsys):
    # SELinux enabled, but no store under the root: the real semodule fails, and verify says so
    base = host(str(tmp_path), boot_id=BOOT_B)
    r = run(capsys, base, state='verify', boot_id=BOOT_A, absent_modules=['perfsec_perf'])
    assert r['failed'] is True and r['leftover'] is None
    assert 'the modules cannot be listed (' in r['msg'], r['msg']
    bad = run(capsys, base, state='verify', boot_id=BOOT_A, absent_modules=['perf sec'])
    assert bad['failed'] is True and bad['msg'].startswith("absent_modules must be module names"), bad
    bad = run(capsys, base, state='verify', boot_id=BOOT_A, absent_modules=['perfsec_perf'], absent_priority=0)
    assert bad['failed'] is True and 'absent_priority 1..999' in bad['msg'], bad
