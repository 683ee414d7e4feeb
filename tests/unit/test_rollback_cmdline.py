"""perfsec.selinux.rollback's kernel command line level, run for real by ansible-playbook on a
local host: the whole role with only rollback_kernel_cmdline on and rollback_reboot never (no
reboot, no SELinux change on this machine; the relabel marker is a temporary path), its one task
perfsec.selinux.perf_kernel_cmdline pointed by the play's module_defaults at stub tools
(tests/unit/cmdline_stubs.py, first on PATH, recording every argv).

- grubby path: a stub `grubby` with two boot entries; the test reads the exact argv back.
- Debian path: a temporary file stands in for /etc/default/grub, a stub for update-grub. This
  machine's /etc/os-release decides the drops (the Debian rows need a Debian-family machine).

What the role decides from the task (rollback_result.levels, the reboot reason) is asserted too.
The boot-time effect is not shown here (see docs/testbed.md, "Rollback levels booted by hand").
"""
import json
import os
import subprocess
import sys

import pytest

import cmdline_stubs as stubs
from ansible_collections.perfsec.selinux.plugins.module_utils import cmdline as cl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK_BIN), reason='no ansible-playbook in this lane')


def this_family():
    for path in cl.OS_RELEASE:
        if os.path.exists(path):
            with open(path) as f:
                return cl.family(f.read())
    return 'other'


PLAYBOOK = """- hosts: all
  gather_facts: false
  module_defaults:
    perfsec.selinux.perf_kernel_cmdline: {defaults}
  tasks:
    - name: The role, kernel command line level only
      ansible.builtin.include_role:
        name: perfsec.selinux.rollback
      vars:
        rollback_kernel_cmdline: true
        rollback_reboot: never
        rollback_relabel_marker: {marker}
    - name: Result
      ansible.builtin.debug:
        msg: "RESULT={{{{ {{'changed': __perfsec_rollback_cmdline_result is changed, 'levels': rollback_result.levels,
          'reboot_reason': rollback_result.reboot_reason, 'method': __perfsec_rollback_cmdline_result.method}} | to_json }}}}"
"""


def play(here, defaults, check=False):
    inv = os.path.join(here, 'inventory.ini')
    with open(inv, 'w') as f:
        f.write('host1 ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    pb = os.path.join(here, 'play.yml')
    with open(pb, 'w') as f:
        f.write(PLAYBOOK.format(defaults=json.dumps(defaults), marker=os.path.join(here, 'relabel.done')))
    env = dict(os.environ, LC_ALL='C.UTF-8', ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCAL_TEMP=os.path.join(here, 'ansible-tmp'),
               PATH=os.path.join(here, 'bin') + os.pathsep + os.environ.get('PATH', ''))
    cmd = [PLAYBOOK_BIN, '-i', inv, pb]
    if check:
        cmd.append('--check')
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       env=env, check=False)
    assert p.returncode == 0, p.stdout[-4000:]
    line = [ln for ln in p.stdout.splitlines() if '"msg": "RESULT=' in ln]
    assert line, p.stdout[-3000:]
    return json.loads(json.loads('{%s}' % line[0].strip())['msg'][len('RESULT='):])


def test_grubby_adds_selinux_0_to_every_entry(tmp_path):
    here = str(tmp_path)
    stubs.grubby(here, extra1=' selinux=0')
    r = play(here, {'method': 'grubby'})
    assert stubs.calls(here) == [['grubby', '--info=ALL'], ['grubby', '--update-kernel=ALL', '--args=selinux=0'],
                                 ['grubby', '--info=ALL']]
    assert r['changed'] is True and r['levels'] == ['kernel_cmdline'] and r['method'] == 'grubby'
    assert r['reboot_reason'] == 'no level needs a reboot (rollback_reboot never)'
    assert stubs.entries(here)[0].endswith(' selinux=0')


def test_grubby_leaves_entries_that_all_have_selinux_0(tmp_path):
    here = str(tmp_path)
    stubs.grubby(here, extra0=' selinux=0', extra1=' quiet selinux=0')
    r = play(here, {'method': 'grubby'})
    assert stubs.calls(here) == [['grubby', '--info=ALL']]
    assert r['changed'] is False and r['levels'] == []


def test_grubby_check_mode_reads_only(tmp_path):
    here = str(tmp_path)
    stubs.grubby(here)
    r = play(here, {'method': 'grubby'}, check=True)
    assert stubs.calls(here) == [['grubby', '--info=ALL']]
    assert r['changed'] is True and r['levels'] == ['kernel_cmdline']


def debian(here, grub):
    update = stubs.update_grub(here)
    default = os.path.join(here, 'default-grub')
    with open(default, 'w') as f:
        f.write(grub)
    return default, {'grub_default': default, 'update_command': [update]}


def read(path):
    with open(path) as f:
        return f.read()


debian_only = pytest.mark.skipif(this_family() != 'debian', reason='the role drops security=selinux on Debian only')


# What selinux-activate (selinux-basics 0.5.8, Debian 12) leaves: security=selinux only; older
# releases wrote selinux=1 security=selinux. Debian's 6.1 kernel is built without
# CONFIG_SECURITY_SELINUX_BOOTPARAM, so selinux=0 alone is ignored there: security=selinux must go,
# and the role gets that from the module's table, without a variable.
@debian_only
@pytest.mark.parametrize('before,after', [
    ('GRUB_CMDLINE_LINUX=" security=selinux"', 'GRUB_CMDLINE_LINUX=" selinux=0"'),
    ('GRUB_CMDLINE_LINUX="console=ttyS0 selinux=1 security=selinux"', 'GRUB_CMDLINE_LINUX="console=ttyS0 selinux=0"'),
    ('GRUB_CMDLINE_LINUX="security=selinux quiet"', 'GRUB_CMDLINE_LINUX=" quiet selinux=0"'),
    ('GRUB_CMDLINE_LINUX=""', 'GRUB_CMDLINE_LINUX=" selinux=0"'),
])
def test_default_grub_drops_security_selinux_and_adds_selinux_0(tmp_path, before, after):
    here = str(tmp_path)
    text = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n%s\n' % before
    default, defaults = debian(here, text)
    r = play(here, defaults)
    assert read(default) == 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n%s\n' % after
    assert stubs.calls(here) == [['update-grub']]  # once, no arguments
    assert r['changed'] is True and r['levels'] == ['kernel_cmdline'] and r['method'] == 'default_grub'
    # a second run changes nothing and does not regenerate
    os.unlink(os.path.join(here, 'argv.log'))
    r = play(here, defaults)
    assert read(default).endswith(after + '\n')
    assert stubs.calls(here) == []
    assert r['changed'] is False and r['levels'] == []


def test_default_grub_check_mode_changes_nothing(tmp_path):
    here = str(tmp_path)
    text = 'GRUB_CMDLINE_LINUX="selinux=1"\n'
    default, defaults = debian(here, text)
    r = play(here, defaults, check=True)
    assert read(default) == text
    assert stubs.calls(here) == []
    assert r['changed'] is True and r['levels'] == ['kernel_cmdline']
