"""module_utils/selinuxstate.py row by row: the mode written, the policy type, the relabel and
the reboot."""
import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import selinuxstate

ON = {'enabled': True, 'mode': 'enforcing', 'policy_type': 'default'}
OFF = {'enabled': False, 'mode': 'disabled', 'policy_type': 'default'}


@pytest.mark.parametrize('selinux,mode,applied,relabel', [
    (ON, 'enforcing', 'enforcing', False),
    (ON, 'permissive', 'permissive', False),
    (ON, 'disabled', 'disabled', False),
    (OFF, 'enforcing', 'permissive', True),       # a kernel without a loaded policy goes through permissive
    (OFF, 'permissive', 'permissive', True),
    (OFF, 'disabled', 'disabled', False),
])
def test_mode_and_relabel(selinux, mode, applied, relabel):
    got = selinuxstate.plan(selinux, mode)
    assert (got['applied'], got['relabel_required']) == (applied, relabel)


@pytest.mark.parametrize('selinux,policy,want', [
    (ON, '', 'default'), (ON, 'mls', 'mls'), ({'enabled': True, 'policy_type': None}, '', 'targeted'),
])
def test_policy_type(selinux, policy, want):
    assert selinuxstate.plan(selinux, 'enforcing', policy)['policy'] == want


@pytest.mark.parametrize('selinux,mode,policy,module_says,want', [
    (ON, 'enforcing', '', False, False),
    (ON, 'disabled', '', True, True),             # ansible.posix.selinux says so
    (OFF, 'enforcing', '', False, True),          # the relabel boot
    (ON, 'enforcing', 'mls', False, True),        # another policy type than the loaded one
    (OFF, 'disabled', 'mls', False, False),       # nothing loaded to differ from
])
def test_reboot(selinux, mode, policy, module_says, want):
    decision = selinuxstate.plan(selinux, mode, policy)
    assert selinuxstate.reboot_required(decision, module_says, selinux) is want


NOTE = ('web1: SELinux is disabled in the running kernel; permissive was written to /etc/selinux/config. '
        'Relabel and reboot (perfsec.selinux.relabel), then run this role again for enforcing.')
NO_SELINUX = ('web1 has no SELinux configuration (/etc/selinux/config missing, no selinuxfs). Install the SELinux '
              'policy packages first (Debian: selinux-basics selinux-policy-default, then selinux-activate; '
              'Fedora/EL: selinux-policy-targeted).')


@pytest.mark.parametrize('selinux,mode,note', [
    (OFF, 'enforcing', NOTE),                     # written permissive: relabel, reboot, run again
    (OFF, 'permissive', ''), (OFF, 'disabled', ''),
    (ON, 'enforcing', ''), (ON, 'permissive', ''),
])
def test_note(selinux, mode, note):
    assert selinuxstate.plan(selinux, mode, '', 'web1', '/etc/selinux/config')['note'] == note


def test_note_names_the_config_file():
    got = selinuxstate.plan(OFF, 'enforcing', '', 'web1', '/srv/img/etc/selinux/config')['note']
    assert 'permissive was written to /srv/img/etc/selinux/config. ' in got


@pytest.mark.parametrize('status,refused', [('absent', True), ('disabled', False), ('enabled', False)])
def test_a_host_without_selinux_is_refused(status, refused):
    selinux = dict(OFF if status != 'enabled' else ON, status=status)
    got = selinuxstate.plan(selinux, 'enforcing', '', 'web1', '/etc/selinux/config')
    assert got['refusal'] == (NO_SELINUX if refused else '')
    assert got['applied'] in ('enforcing', 'permissive')
