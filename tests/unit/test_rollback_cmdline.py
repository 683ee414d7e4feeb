"""perfsec.selinux.rollback's kernel command line level, run for real by ansible-playbook on a
local host against stub tools: the task files cmdline_grubby.yml (Fedora/EL) and
cmdline_default_grub.yml (Debian), entered with include_role tasks_from so that nothing else of
the role runs (no reboot, no SELinux change on this machine).

- grubby path: a stub `grubby` first on PATH prints the boot entries it is given and appends
  every argv it is called with to a log; the test reads the exact argv back.
- Debian path: a temporary file stands in for /etc/default/grub and a stub for update-grub
  (the role takes both from vars/Debian.yml; here they are passed as the same variable).

The boot-time effect of either is not shown here (see docs/testbed.md, "Rollback levels booted
by hand").
"""
import json
import os
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK_BIN), reason='no ansible-playbook in this lane')

# One argv per line, arguments separated by a tab.
STUB = """#!/bin/sh
log={log}
printf '%s' "$(basename "$0")" >> "$log"
for a in "$@"; do printf '\\t%s' "$a" >> "$log"; done
printf '\\n' >> "$log"
case "$1" in
  --info=ALL) cat {info} ;;
esac
exit 0
"""

GRUBBY_INFO = """index=0
kernel="/boot/vmlinuz-5.14.0-427.el9.x86_64"
args="ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root{extra0}"
root="/dev/mapper/rhel-root"
initrd="/boot/initramfs-5.14.0-427.el9.x86_64.img"
title="Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4 (Plow)"
id="0123456789abcdef-5.14.0-427.el9.x86_64"
index=1
kernel="/boot/vmlinuz-0-rescue-0123456789abcdef"
args="ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root{extra1}"
root="/dev/mapper/rhel-root"
initrd="/boot/initramfs-0-rescue-0123456789abcdef.img"
title="Red Hat Enterprise Linux (0-rescue-0123456789abcdef) 9.4 (Plow)"
id="0123456789abcdef-0-rescue"
"""

PLAYBOOK = """- hosts: all
  gather_facts: false
  tasks:
    - name: The role's kernel command line task file
      ansible.builtin.include_role:
        name: perfsec.selinux.rollback
        tasks_from: {tasks}
    - name: Result
      ansible.builtin.debug:
        msg: "CHANGED={{{{ __perfsec_rollback_cmdline_changed }}}}"
"""


def stub(tmp_path, name, info_text=''):
    bindir = tmp_path / 'bin'
    bindir.mkdir(exist_ok=True)
    info = tmp_path / ('%s.info' % name)
    info.write_text(info_text)
    path = bindir / name
    path.write_text(STUB.format(log=str(tmp_path / 'argv.log'), info=str(info)))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def calls(tmp_path):
    log = tmp_path / 'argv.log'
    if not log.exists():
        return []
    return [line.split('\t') for line in log.read_text().splitlines()]


def play(tmp_path, tasks, extra_vars=None, check=False):
    inv = tmp_path / 'inventory.ini'
    inv.write_text('host1 ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    pb = tmp_path / 'play.yml'
    pb.write_text(PLAYBOOK.format(tasks=tasks))
    env = dict(os.environ, LC_ALL='C.UTF-8', ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'),
               PATH=str(tmp_path / 'bin') + os.pathsep + os.environ.get('PATH', ''))
    cmd = [PLAYBOOK_BIN, '-i', str(inv), str(pb)]
    if check:
        cmd.append('--check')
    if extra_vars:
        cmd += ['-e', json.dumps(extra_vars)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       env=env, check=False)
    assert p.returncode == 0, p.stdout[-4000:]
    return p.stdout


def test_grubby_adds_selinux_0_to_every_entry(tmp_path):
    stub(tmp_path, 'grubby', GRUBBY_INFO.format(extra0='', extra1=' selinux=0'))
    out = play(tmp_path, 'cmdline_grubby.yml')
    assert calls(tmp_path) == [['grubby', '--info=ALL'], ['grubby', '--update-kernel=ALL', '--args=selinux=0']]
    assert 'CHANGED=True' in out, out[-3000:]


def test_grubby_leaves_entries_that_all_have_selinux_0(tmp_path):
    stub(tmp_path, 'grubby', GRUBBY_INFO.format(extra0=' selinux=0', extra1=' quiet selinux=0'))
    out = play(tmp_path, 'cmdline_grubby.yml')
    assert calls(tmp_path) == [['grubby', '--info=ALL']]
    assert 'CHANGED=False' in out, out[-3000:]


def test_grubby_check_mode_reads_only(tmp_path):
    # check mode: the read runs (check_mode: false), the update is not run
    stub(tmp_path, 'grubby', GRUBBY_INFO.format(extra0='', extra1=''))
    out = play(tmp_path, 'cmdline_grubby.yml', check=True)
    assert calls(tmp_path) == [['grubby', '--info=ALL']]
    assert 'CHANGED=True' in out, out[-3000:]


def debian_vars(tmp_path, grub):
    update = stub(tmp_path, 'update-grub')
    default = tmp_path / 'default-grub'
    default.write_text(grub)
    return default, {'__perfsec_rollback_os': {'rollback_os_cmdline_method': 'default_grub',
                                               'rollback_os_grub_default': str(default),
                                               'rollback_os_grub_update': [str(update)],
                                               'rollback_os_grub_drop': ['selinux=1', 'security=selinux']}}


# What selinux-activate (selinux-basics 0.5.8, Debian 12) leaves: security=selinux only; older
# releases wrote selinux=1 security=selinux. Debian's 6.1 kernel is built without
# CONFIG_SECURITY_SELINUX_BOOTPARAM, so selinux=0 alone is ignored there: security=selinux must go.
@pytest.mark.parametrize('before,after', [
    ('GRUB_CMDLINE_LINUX=" security=selinux"', 'GRUB_CMDLINE_LINUX=" selinux=0"'),
    ('GRUB_CMDLINE_LINUX="console=ttyS0 selinux=1 security=selinux"', 'GRUB_CMDLINE_LINUX="console=ttyS0 selinux=0"'),
    ('GRUB_CMDLINE_LINUX="security=selinux quiet"', 'GRUB_CMDLINE_LINUX=" quiet selinux=0"'),
    ('GRUB_CMDLINE_LINUX=""', 'GRUB_CMDLINE_LINUX=" selinux=0"'),
])
def test_default_grub_drops_security_selinux_and_adds_selinux_0(tmp_path, before, after):
    text = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n%s\n' % before
    default, extra = debian_vars(tmp_path, text)
    out = play(tmp_path, 'cmdline_default_grub.yml', extra)
    assert default.read_text() == 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n%s\n' % after
    assert [c[1:] for c in calls(tmp_path)] == [[]]  # update-grub, once, no arguments
    assert 'CHANGED=True' in out, out[-3000:]
    # a second run changes nothing and does not regenerate
    (tmp_path / 'argv.log').unlink()
    out = play(tmp_path, 'cmdline_default_grub.yml', extra)
    assert default.read_text().endswith(after + '\n')
    assert calls(tmp_path) == []
    assert 'CHANGED=False' in out, out[-3000:]


def test_default_grub_check_mode_changes_nothing(tmp_path):
    text = 'GRUB_CMDLINE_LINUX=" security=selinux"\n'
    default, extra = debian_vars(tmp_path, text)
    out = play(tmp_path, 'cmdline_default_grub.yml', extra, check=True)
    assert default.read_text() == text
    assert calls(tmp_path) == []
    assert 'CHANGED=True' in out, out[-3000:]
