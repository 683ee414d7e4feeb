"""perf_kernel_cmdline run for real (its main(), in this process) against a temporary copy of
/etc/default/grub and stub update-grub / grubby first on PATH that record their argv
(tests/unit/cmdline_stubs.py): check mode, diff, a second run unchanged, the failures leaving the
file as it was. The distribution comes from a temporary os-release."""
import os
import stat

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_kernel_cmdline

import cmdline_stubs as stubs
from helpers import read_file, run_module, write_file

DEBIAN_GRUB = '''# If you change this file, run 'update-grub' afterwards to update
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="%s"
'''


@pytest.fixture
def host(tmp_path, monkeypatch):
    """here: the stubs' directory (PATH has only here/bin and the system's directories)."""
    here = str(tmp_path)
    os.makedirs(os.path.join(here, 'bin'))
    monkeypatch.setenv('PATH', os.path.join(here, 'bin') + os.pathsep + '/usr/bin:/bin')
    rel = os.path.join(here, 'os-release')
    write_file(rel, 'ID=debian\nVERSION_ID="12"\n')
    monkeypatch.setattr(perf_kernel_cmdline, 'OS_RELEASE', (rel,))
    return here


def redhat(here):
    write_file(os.path.join(here, 'os-release'), 'ID="rhel"\nID_LIKE="fedora"\n')


def grub_file(here, value=' security=selinux', mode=0o640):
    path = os.path.join(here, 'default-grub')
    write_file(path, DEBIAN_GRUB % value)
    os.chmod(path, mode)
    return path


def run(capsys, check=False, diff=False, **kw):
    return run_module(perf_kernel_cmdline.main, capsys, check=check, diff=diff, **kw)


def test_debian_check_diff_run_again(host, capsys):
    update = stubs.update_grub(host)
    path = grub_file(host)
    r = run(capsys, check=True, diff=True, grub_default=path)
    assert r['changed'] is True and r['method'] == 'default_grub' and r['os_family'] == 'debian'
    assert r['drop'] == ['selinux=1', 'security=selinux'] and r['commands'] == [[update]]
    assert r['entries'] == [{'name': 'GRUB_CMDLINE_LINUX', 'line': 6, 'before': ' security=selinux', 'after': ' selinux=0'}]
    assert r['diff']['before'] == DEBIAN_GRUB % ' security=selinux' and r['diff']['after'] == DEBIAN_GRUB % ' selinux=0'
    assert read_file(path) == DEBIAN_GRUB % ' security=selinux' and stubs.calls(host) == []
    r = run(capsys, grub_default=path)
    assert r['changed'] is True and r['reboot_required'] is True
    assert read_file(path) == DEBIAN_GRUB % ' selinux=0'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert stubs.calls(host) == [['update-grub']]
    r = run(capsys, grub_default=path)
    assert r['changed'] is False and r['reboot_required'] is False and r['entries'] == [] and r['commands'] == []
    assert stubs.calls(host) == [['update-grub']]


def test_other_family_keeps_security_selinux_and_uses_the_update_command(host, capsys):
    redhat(host)
    path = grub_file(host, 'selinux=1 security=selinux')
    write_file(os.path.join(host, 'mk'), '')
    mk = stubs.update_grub(host)
    r = run(capsys, grub_default=path, method='default_grub', update_command=[mk, '-o', '/boot/grub2/grub.cfg'])
    assert r['changed'] is True and r['os_family'] == 'other' and r['drop'] == ['selinux=1']
    assert read_file(path) == DEBIAN_GRUB % ' security=selinux selinux=0'
    assert stubs.calls(host) == [['update-grub', '-o', '/boot/grub2/grub.cfg']]


def test_update_failure_puts_the_file_back(host, capsys):
    stubs.update_grub(host)
    path = grub_file(host)
    write_file(os.path.join(host, 'update-grub.fail'), '')
    r = run(capsys, grub_default=path)
    assert r['failed'] is True
    assert 'update-grub failed (rc 1): update-grub: stub failure; %s was put back as it was' % path in r['msg']
    assert read_file(path) == DEBIAN_GRUB % ' security=selinux'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert stubs.calls(host) == [['update-grub']]


def test_bad_input_changes_nothing(host, capsys):
    r = run(capsys, grub_default=os.path.join(host, 'missing'))
    assert r['failed'] is True and 'cannot read %s/missing (method default_grub)' % host in r['msg']
    path = grub_file(host, '$GRUB_CMDLINE_LINUX security=selinux')
    stubs.update_grub(host)
    r = run(capsys, grub_default=path)
    assert r['failed'] is True and r['msg'].startswith('%s: line 6 (GRUB_CMDLINE_LINUX=' % path)
    assert read_file(path) == DEBIAN_GRUB % '$GRUB_CMDLINE_LINUX security=selinux'
    path = grub_file(host)
    os.unlink(os.path.join(host, 'bin', 'update-grub'))
    r = run(capsys, grub_default=path)
    assert r['failed'] is True and r['msg'].startswith('no boot loader update command found (update-grub, ')
    r = run(capsys, grub_default=path, update_command=['no-such-update-grub'])
    assert r['failed'] is True and 'no boot loader update command found (no-such-update-grub)' in r['msg']
    r = run(capsys, method='grubby', grub_default=path)
    assert r['failed'] is True and r['msg'].startswith('grubby not found (method grubby)')
    assert read_file(path) == DEBIAN_GRUB % ' security=selinux' and stubs.calls(host) == []


def test_grub_d_override_is_warned_about(host, capsys):
    stubs.update_grub(host)
    path = grub_file(host)
    write_file(os.path.join(host, 'default-grub.d', '50-cloud.cfg'), 'GRUB_CMDLINE_LINUX="console=ttyS0"\n')
    write_file(os.path.join(host, 'default-grub.d', 'init-select.cfg'), '# nothing\n')
    r = run(capsys, check=True, grub_default=path)
    assert r['changed'] is True
    assert [w for w in r['warnings'] if '50-cloud.cfg sets GRUB_CMDLINE_LINUX too' in str(w)]
    assert not [w for w in r['warnings'] if 'init-select' in str(w)]


def test_grubby_check_diff_run_again(host, capsys):
    redhat(host)
    stubs.grubby(host, extra1=' selinux=1')
    r = run(capsys, check=True, diff=True)
    assert r['changed'] is True and r['method'] == 'grubby' and r['drop'] == ['selinux=1']
    grubby = os.path.join(host, 'bin', 'grubby')
    assert r['commands'] == [[grubby, '--update-kernel=ALL', '--remove-args=selinux=1'],
                             [grubby, '--update-kernel=ALL', '--args=selinux=0']]
    assert [(e['index'], e['after']) for e in r['entries']] == [
        ('0', 'ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root selinux=0'),
        ('1', 'ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root selinux=0')]
    assert r['diff']['before'].splitlines()[1].endswith('rhel/root selinux=1')
    assert r['diff']['after'].splitlines()[1].endswith('rhel/root selinux=0')
    assert stubs.calls(host) == [['grubby', '--info=ALL']]
    del stubs.calls(host)[:]
    os.unlink(os.path.join(host, 'argv.log'))
    r = run(capsys)
    assert r['changed'] is True and r['reboot_required'] is True
    assert stubs.calls(host) == [['grubby', '--info=ALL'], ['grubby', '--update-kernel=ALL', '--remove-args=selinux=1'],
                                 ['grubby', '--update-kernel=ALL', '--args=selinux=0'], ['grubby', '--info=ALL']]
    assert stubs.entries(host) == ['ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root selinux=0'] * 2
    os.unlink(os.path.join(host, 'argv.log'))
    r = run(capsys)
    assert r['changed'] is False and stubs.calls(host) == [['grubby', '--info=ALL']]


def test_grubby_failures(host, capsys, monkeypatch):
    stubs.grubby(host)
    write_file(os.path.join(host, 'grubby.fail'), '')
    r = run(capsys)
    assert r['failed'] is True and r['msg'] == 'grubby --info=ALL failed (rc 1): grubby: stub failure'
    os.unlink(os.path.join(host, 'grubby.fail'))
    # an update that does not take: grubby exits 0 but the entries stay as they were (patched: the
    # stub always applies what it is given)
    real = perf_kernel_cmdline.AnsibleModule.run_command

    def no_update(self, args, **kw):
        if '--update-kernel=ALL' in args:
            return 0, '', ''
        return real(self, args, **kw)
    monkeypatch.setattr(perf_kernel_cmdline.AnsibleModule, 'run_command', no_update)
    r = run(capsys)
    assert r['failed'] is True and r['msg'].startswith('grubby ran but its entries still do not all have selinux=0')
