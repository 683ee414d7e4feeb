#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_users_binary
short_description: Which perf ELF the perf_users group gets, and with which file capabilities
version_added: 0.2.0
description:
  - Read-only. Finds the perf ELF to copy for the privileged perf group (O(source), else
    C(/usr/lib/linux-tools/RELEASE/perf), C(/usr/bin/perf_X.Y), C(/usr/bin/perf) - the first that
    is an ELF file; file capabilities on a wrapper script do nothing) and decides its file
    capabilities on the running kernel - O(capabilities) where it has CAP_PERFMON
    (C(cap_last_cap) >= 38; C(cap_perfmon) by number where libcap's C(capsh) does not know the
    name), else C(cap_sys_admin) in place of C(cap_perfmon), which it refuses unless
    O(allow_cap_sys_admin).
  - Warns when C(kernel.perf_event_paranoid) is above 2 (Debian 3, Ubuntu 4), where the group's
    perf is refused anyway.
  - The role perfsec.selinux.perf_users calls it, then copies the binary and sets the capabilities.
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - action_common_attributes
options:
  source:
    description: The perf ELF to copy (an absolute path); empty finds it.
    type: str
    default: ""
  capabilities:
    description: The file capabilities wanted (C(cap_perfmon) is replaced where the kernel lacks it).
    type: list
    elements: str
    default: [cap_perfmon, cap_sys_ptrace, cap_syslog]
  allow_cap_sys_admin:
    description: On a kernel without CAP_PERFMON, give the binary C(cap_sys_admin) instead of failing.
    type: bool
    default: false
  proc_root:
    description: Where procfs is (tests).
    type: path
    default: /proc
attributes:
  check_mode:
    support: full
    details: Read-only; the same answer in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Decide the perf binary and its capabilities
  perfsec.selinux.perf_users_binary:
    capabilities: [cap_perfmon, cap_sys_ptrace, cap_syslog]
  register: perf_bin
'''

RETURN = r'''
source:
  description: The perf ELF to copy.
  returned: success
  type: str
  sample: /usr/bin/perf_6.1
tried:
  description: The candidates looked at, in order.
  returned: always
  type: list
  elements: str
capabilities:
  description: The file capabilities to set (each as C(NAME=ep)).
  returned: success
  type: list
  elements: str
  sample: [cap_perfmon, cap_sys_ptrace, cap_syslog]
remove:
  description: Capabilities the role manages that the binary must not keep.
  returned: success
  type: list
  elements: str
kernel_release:
  description: The running kernel's release.
  returned: always
  type: str
cap_last_cap:
  description: The highest capability the kernel knows (null when unreadable).
  returned: always
  type: int
paranoid:
  description: kernel.perf_event_paranoid (null when unreadable).
  returned: always
  type: int
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.perfsec.selinux.plugins.module_utils import perfusers as pu
from ansible_collections.perfsec.selinux.plugins.module_utils.common import read_int, read_text


def libcap_knows_perfmon(module):
    """Whether libcap names capability 38 (capsh --decode of bit 38 prints cap_perfmon)."""
    capsh = module.get_bin_path('capsh')
    if not capsh:
        return False
    rc, out, _err = module.run_command([capsh, '--decode=0x%x' % (1 << pu.CAP_PERFMON)])
    return rc == 0 and 'cap_perfmon' in out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            source=dict(type='str', default=''),
            capabilities=dict(type='list', elements='str', default=['cap_perfmon', 'cap_sys_ptrace', 'cap_syslog']),
            allow_cap_sys_admin=dict(type='bool', default=False),
            proc_root=dict(type='path', default='/proc'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    proc = p['proc_root']
    release = read_text(os.path.join(proc, 'sys/kernel/osrelease')) or ''
    cap_last = read_int(os.path.join(proc, 'sys/kernel/cap_last_cap'))
    paranoid = read_int(os.path.join(proc, 'sys/kernel/perf_event_paranoid'))
    tried = pu.candidates(release, p['source'])
    result = dict(changed=False, tried=tried, kernel_release=release, cap_last_cap=cap_last, paranoid=paranoid)
    if p['source'] and not p['source'].startswith('/'):
        module.fail_json(msg='source=%r must be an absolute path (or empty to find perf)' % p['source'][:80], **result)
    bad = [c for c in p['capabilities'] if not pu.CAP_RE.match(c)]
    if bad:
        module.fail_json(msg='invalid capability name %r: use cap_NAME (for example cap_perfmon)' % bad[0][:40], **result)
    if (cap_last is None or cap_last < pu.CAP_PERFMON) and not p['allow_cap_sys_admin']:
        module.fail_json(msg='This kernel (%s, cap_last_cap %s) has no CAP_PERFMON (Linux 5.8+). Upgrade the kernel, '
                             'or set perf_users_allow_cap_sys_admin=true to give the group\'s perf cap_sys_admin '
                             'instead (it grants far more than performance monitoring).' % (release, cap_last), **result)
    source = next((c for c in tried if pu.is_elf(c)), None)
    if source is None:
        module.fail_json(msg='No perf ELF binary found (tried %s). Install perf (Debian linux-perf, Fedora/EL perf, '
                             'Ubuntu linux-tools-$(uname -r)) or set perf_users_source to the real binary (not a '
                             'wrapper script: file capabilities on a script do nothing).' % ', '.join(tried), **result)
    caps = pu.capabilities(p['capabilities'], cap_last, libcap_knows_perfmon(module))
    if paranoid is not None and paranoid > 2:
        module.warn('kernel.perf_event_paranoid is %d: at 3 (Debian) and 4 (Ubuntu) perf_event_open() needs '
                    'CAP_SYS_ADMIN and the group\'s perf is refused. Set level 2 with the perfsec.selinux.paranoid '
                    'role.' % paranoid)
    result.update(source=source, capabilities=caps, remove=pu.unwanted(caps))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
