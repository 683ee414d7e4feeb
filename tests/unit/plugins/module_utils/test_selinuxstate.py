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
