# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The selinux_state role's decisions, made once: the mode written (a kernel without a loaded
policy goes through permissive), the policy type, and whether a relabel or a reboot is needed.
The role calls them through the selinux_state_plan / selinux_state_reboot filters.
Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


def plan(selinux, mode, policy=''):
    """selinux is perf_mac_facts' selinux facts; mode the mode asked for; policy the type asked
    for (empty: the configured one, else targeted)."""
    enabled = bool(selinux.get('enabled'))
    return {
        'applied': 'permissive' if mode == 'enforcing' and not enabled else mode,
        'relabel_required': mode != 'disabled' and not enabled,
        'policy': policy or selinux.get('policy_type') or 'targeted',
    }


def reboot_required(decision, module_reboot_required, selinux):
    """After the change: ansible.posix.selinux's own reboot_required, a relabel, or a policy type
    other than the loaded one."""
    return bool(module_reboot_required or decision['relabel_required']
                or (selinux.get('enabled') and decision['policy'] != (selinux.get('policy_type') or '')))
