# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollback role's decisions, made once: which levels changed something, the mode the host
is expected in afterwards, and whether it reboots (with the reason printed). The role calls
decide() through the rollback_decide filter and publishes result() as rollback_result (the
rollback_result filter, plugins/filter/rollback.py). Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.perfsec.selinux.plugins.module_utils.labels import CONFIRM

# the levels in the order the role applies them
LEVELS = ('module', 'class_module', 'audit_rule', 'permissive', 'policy_packages', 'kernel_cmdline',
          'config_disabled')


def strip_refusal(confirm):
    """The message that stops rollback_strip_labels before anything changes unless
    rollback_strip_labels_confirm is the sentence perf_strip_labels checks again; '' when it is."""
    if confirm == CONFIRM:
        return ''
    return ('rollback_strip_labels removes every security.selinux label from the local file systems; re-enabling '
            'SELinux then needs a full relabel. Set rollback_strip_labels_confirm to exactly "%s" to go ahead.'
            % CONFIRM)


def _changed(value):
    """A level's bool, or whether its registered task result says it changed."""
    if isinstance(value, dict):
        return bool(value.get('changed'))
    return bool(value)


def decide(changed, reboot='auto', before=None, permissive=False, config_disabled=False,
           kernel_cmdline=False, strip_labels=False, disabled_reboot_required=False):
    """changed maps each level of LEVELS to whether its task changed something: a bool, or the
    task's registered result (its changed key; a skipped or absent task changed nothing; the
    config_disabled result's reboot_required counts as disabled_reboot_required); before is
    perf_mac_facts' selinux facts from before the rollback. Returns levels (those that changed),
    mode_expected, reboot (bool) and reboot_reason."""
    before = before or {}
    levels = [level for level in LEVELS if _changed(changed.get(level))]
    disabled = changed.get('config_disabled')
    if isinstance(disabled, dict) and disabled.get('reboot_required'):
        disabled_reboot_required = True
    if config_disabled or kernel_cmdline:
        expected = 'disabled'
    elif permissive:
        expected = 'permissive'
    else:
        expected = before.get('config_mode')
    reasons = []
    if reboot == 'always':
        reasons.append('rollback_reboot is always')
    elif reboot == 'auto':
        if 'kernel_cmdline' in levels:
            reasons.append('selinux=0 was put on the kernel command line')
        if 'config_disabled' in levels or disabled_reboot_required:
            reasons.append('SELINUX=disabled takes effect at boot')
        if 'policy_packages' in levels and not before.get('enabled'):
            reasons.append('SELinux is not running, so the original policy loads at boot')
        if strip_labels and before.get('enabled'):
            reasons.append('labels can only be stripped once the kernel runs without SELinux')
    return {'levels': levels, 'mode_expected': expected, 'reboot': bool(reasons),
            'reboot_reason': '; '.join(reasons) or 'no level needs a reboot (rollback_reboot %s)' % reboot}


def result(decision, before=None, strip=None, check_mode=False):
    """rollback_result from decide()'s decision: levels (strip_labels added when the strip task
    changed something), rebooted (not in check mode), mode_before, mode_expected, reboot_reason, and
    summary (the line the rollback playbook prints)."""
    levels = list(decision.get('levels') or [])
    if _changed(strip):
        levels.append('strip_labels')
    out = {'levels': levels, 'rebooted': bool(decision.get('reboot')) and not check_mode,
           'mode_before': (before or {}).get('mode'), 'mode_expected': decision.get('mode_expected'),
           'reboot_reason': decision.get('reboot_reason')}
    out['summary'] = '%s; rebooted=%s; mode before %s, expected now %s' % (
        ', '.join(levels) or 'nothing to roll back', out['rebooted'], out['mode_before'], out['mode_expected'])
    return out
