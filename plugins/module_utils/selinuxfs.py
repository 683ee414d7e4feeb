# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the running kernel and /etc/selinux say about SELinux.

Reads selinuxfs (/sys/fs/selinux) and /etc/selinux/config only: no tool needs to be
installed and nothing is changed, so it works on hosts without SELinux and in check mode.
Every function takes the roots as arguments so the unit tests can use fixture trees.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils.common import (
    SELINUXFS, read_int, read_text,
)

SELINUX_CONFIG = C.SELINUX_CONFIG
PERF_EVENT_PERMS = tuple(sorted(C.PERF_EVENT_PERMS))
UNDEFINED_CLASS_MSG = 'SELinux:  Class perf_event not defined in policy.'
_CONFIG_LINE = re.compile(r'^\s*(SELINUX|SELINUXTYPE)\s*=\s*"?([A-Za-z0-9_.-]*)"?\s*(#.*)?$')


def read_config(path=SELINUX_CONFIG):
    """Parse /etc/selinux/config: {'exists', 'mode', 'policy_type'} (None where unset)."""
    text = read_text(path)
    result = {'exists': text is not None, 'mode': None, 'policy_type': None}
    for line in (text or '').splitlines():
        m = _CONFIG_LINE.match(line)
        if not m:
            continue
        if m.group(1) == 'SELINUX':
            result['mode'] = m.group(2).lower() or None
        else:
            result['policy_type'] = m.group(2) or None
    return result


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def class_perms(name, selinuxfs=SELINUXFS):
    """Sorted permission names of a class in the loaded policy, or None if the class is undefined."""
    perms_dir = os.path.join(selinuxfs, 'class', name, 'perms')
    if not os.path.isdir(perms_dir):
        return None
    return sorted(os.listdir(perms_dir))


def runtime_state(selinuxfs=SELINUXFS):
    """State of the loaded policy as the kernel shows it in selinuxfs."""
    enforce = read_int(os.path.join(selinuxfs, 'enforce'))
    # The kernel fills selinuxfs/class only once a policy is loaded: a kernel with SELinux but
    # no policy (SELINUX=disabled on kernels without runtime disable, RHEL 9+) is not enabled.
    # With SELINUX=disabled there, systemd does not even mount selinuxfs; securityfs still
    # lists the active LSMs (Linux >= 4.15), which tells "no policy" from "no SELinux LSM".
    loaded = enforce is not None and bool(_listdir(os.path.join(selinuxfs, 'class')))
    lsms = read_text(os.path.normpath(os.path.join(selinuxfs, '..', '..', 'kernel', 'security', 'lsm')))
    state = {
        'enabled': loaded,
        'lsm': enforce is not None or (lsms is not None and 'selinux' in lsms.split(',')),
        'mode': 'disabled',
        'policyvers': None,
        'deny_unknown': None,
        'reject_unknown': None,
        'mls': None,
        'perf_event_class': False,
        'perf_event_perms': [],
        'perfmon': False,
        'bpf': False,
    }
    if not loaded:
        return state
    state['mode'] = 'enforcing' if enforce == 1 else 'permissive'
    state['policyvers'] = read_int(os.path.join(selinuxfs, 'policyvers'))
    for key in ('deny_unknown', 'reject_unknown', 'mls'):
        value = read_int(os.path.join(selinuxfs, key))
        state[key] = None if value is None else bool(value)
    perf = class_perms('perf_event', selinuxfs)
    state['perf_event_class'] = perf is not None
    state['perf_event_perms'] = perf or []
    cap2 = class_perms('capability2', selinuxfs) or []
    state['perfmon'] = 'perfmon' in cap2
    state['bpf'] = 'bpf' in cap2
    return state
