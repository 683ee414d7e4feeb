# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The selinux_state role's decisions, made once: the mode written (a kernel without a loaded
policy goes through permissive), the policy type, and whether a relabel or a reboot is needed.
The role calls them through the selinux_state_plan / selinux_state_reboot filters.
Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


NO_SELINUX = ('%s has no SELinux configuration (%s missing, no selinuxfs). Install the SELinux policy packages '
              'first (Debian: selinux-basics selinux-policy-default, then selinux-activate; Fedora/EL: '
              'selinux-policy-targeted).')
LEFT_TO_DO = ('%s: SELinux is disabled in the running kernel; %s was written to %s. Relabel and reboot '
              '(perfsec.selinux.relabel), then run this role again for %s.')


def plan(selinux, mode, policy='', host='this host', configfile='/etc/selinux/config'):
    """selinux is perf_mac_facts' selinux facts; mode the mode asked for; policy the type asked
    for (empty: the configured one, else targeted); host and configfile are named in the texts.
    ``refusal`` is the one message for a host without SELinux (status absent: what to install;
    the role fails with it before anything changes), else empty; ``note`` says what is left to do
    when the mode written is not the one asked for (else it is empty)."""
    enabled = bool(selinux.get('enabled'))
    applied = 'permissive' if mode == 'enforcing' and not enabled else mode
    return {
        'applied': applied,
        'relabel_required': mode != 'disabled' and not enabled,
        'policy': policy or selinux.get('policy_type') or 'targeted',
        'note': LEFT_TO_DO % (host, applied, configfile, mode) if applied != mode else '',
        'refusal': NO_SELINUX % (host, configfile) if selinux.get('status') == 'absent' else '',
    }


def reboot_required(decision, module_reboot_required, selinux):
    """After the change: ansible.posix.selinux's own reboot_required, a relabel, or a policy type
    other than the loaded one."""
    return bool(module_reboot_required or decision['relabel_required']
                or (selinux.get('enabled') and decision['policy'] != (selinux.get('policy_type') or '')))
