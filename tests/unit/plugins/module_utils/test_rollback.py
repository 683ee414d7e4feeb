"""module_utils/rollback.py row by row: the levels, the expected mode and the reboot decision."""
import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import rollback

RUNNING = {'enabled': True, 'mode': 'enforcing', 'config_mode': 'enforcing'}
OFF = {'enabled': False, 'mode': 'disabled', 'config_mode': 'permissive'}


def test_levels_in_order_and_only_changed():
    got = rollback.decide({'config_disabled': True, 'module': True, 'audit_rule': False}, before=RUNNING,
                          config_disabled=True)
    assert got['levels'] == ['module', 'config_disabled']


@pytest.mark.parametrize('kw,expected', [
    ({}, 'enforcing'),
    ({'permissive': True}, 'permissive'),
    ({'permissive': True, 'config_disabled': True}, 'disabled'),
    ({'kernel_cmdline': True}, 'disabled'),
])
def test_expected_mode(kw, expected):
    assert rollback.decide({}, before=RUNNING, **kw)['mode_expected'] == expected


@pytest.mark.parametrize('changed,reboot,before,kw,want', [
    ({'module': True, 'permissive': True}, 'auto', RUNNING, {}, False),     # live levels: no reboot
    ({'module': True}, 'always', RUNNING, {}, True),
    ({'kernel_cmdline': True}, 'never', RUNNING, {'kernel_cmdline': True}, False),
    ({'kernel_cmdline': True}, 'auto', RUNNING, {'kernel_cmdline': True}, True),
    ({'config_disabled': True}, 'auto', RUNNING, {'config_disabled': True}, True),
    ({}, 'auto', RUNNING, {'config_disabled': True, 'disabled_reboot_required': True}, True),
    ({}, 'auto', RUNNING, {'config_disabled': True}, False),                # already disabled in the file
    ({'policy_packages': True}, 'auto', RUNNING, {}, False),                # %post loaded the policy live
    ({'policy_packages': True}, 'auto', OFF, {}, True),
    ({}, 'auto', RUNNING, {'strip_labels': True}, True),
    ({}, 'auto', OFF, {'strip_labels': True}, False),                       # already booted without SELinux
])
def test_reboot(changed, reboot, before, kw, want):
    got = rollback.decide(changed, reboot, before, **kw)
    assert got['reboot'] is want
    assert got['reboot_reason'].startswith('no level') is not want


def test_reason_names_every_cause():
    got = rollback.decide({'kernel_cmdline': True, 'policy_packages': True}, 'auto', OFF, kernel_cmdline=True)
    assert got['reboot_reason'] == ('selinux=0 was put on the kernel command line; '
                                    'SELinux is not running, so the original policy loads at boot')


SKIPPED = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'}


@pytest.mark.parametrize('changed,want', [
    ({'module': {'changed': True, 'results': []}, 'audit_rule': SKIPPED}, ['module']),  # a loop's registered result
    ({'module': SKIPPED, 'permissive': {'changed': False}}, []),
    ({'policy_packages': {}, 'kernel_cmdline': {'changed': True}}, ['kernel_cmdline']),  # {}: include skipped
])
def test_levels_from_registered_results(changed, want):
    assert rollback.decide(changed, before=RUNNING)['levels'] == want


def test_disabled_result_reboot_required_counts():
    # SELINUX=disabled already in the file (unchanged) but the module says the kernel still runs SELinux
    got = rollback.decide({'config_disabled': {'changed': False, 'reboot_required': True}}, 'auto', RUNNING,
                          config_disabled=True)
    assert got['reboot'] is True and got['reboot_reason'] == 'SELINUX=disabled takes effect at boot'
    assert rollback.decide({'config_disabled': SKIPPED}, 'auto', RUNNING)['reboot'] is False


@pytest.mark.parametrize('strip,check_mode,levels,rebooted', [
    ({}, False, ['module', 'config_disabled'], True),
    ({'changed': True}, False, ['module', 'config_disabled', 'strip_labels'], True),
    (SKIPPED, True, ['module', 'config_disabled'], False),                 # check mode reboots nothing
])
def test_result(strip, check_mode, levels, rebooted):
    decision = rollback.decide({'module': True, 'config_disabled': True}, 'auto', RUNNING, config_disabled=True)
    got = rollback.result(decision, RUNNING, strip, check_mode)
    summary = '%s; rebooted=%s; mode before enforcing, expected now disabled' % (', '.join(levels), rebooted)
    assert got == {'levels': levels, 'rebooted': rebooted, 'mode_before': 'enforcing', 'mode_expected': 'disabled',
                   'reboot_reason': 'SELINUX=disabled takes effect at boot', 'summary': summary}
    assert decision['levels'] == ['module', 'config_disabled']           # the decision is not changed


def test_result_summary_when_nothing_changed():
    decision = rollback.decide({'module': {'changed': False}}, 'auto', RUNNING)
    assert rollback.result(decision, RUNNING)['summary'] == (
        'nothing to roll back; rebooted=False; mode before enforcing, expected now enforcing')


@pytest.mark.parametrize('confirm,refused', [
    ('I understand that this removes every SELinux label', False),
    ('', True),
    ('I understand that this removes every SELinux label.', True),          # word for word
    ('i understand that this removes every selinux label', True),
])
def test_strip_refusal(confirm, refused):
    from ansible_collections.perfsec.selinux.plugins.module_utils.labels import CONFIRM
    got = rollback.strip_refusal(confirm)
    assert (got != '') is refused
    if refused:
        assert got.startswith('rollback_strip_labels removes every security.selinux label from the local file systems')
        assert 'rollback_strip_labels_confirm to exactly "%s" to go ahead' % CONFIRM in got
