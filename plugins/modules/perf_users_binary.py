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
  - The same decision perfsec.selinux.perf_users makes before it manages the group, the copy and its
    capabilities (the role perfsec.selinux.perf_users calls that module).
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - action_common_attributes
  - perfsec.selinux.perf_users
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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.perfsec.selinux.plugins.module_utils import perfusers as pu


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
    result, error, warning = pu.decide(p['source'], p['capabilities'], p['allow_cap_sys_admin'], p['proc_root'],
                                       lambda: pu.libcap_knows_perfmon(module))
    result['changed'] = False
    if error:
        module.fail_json(msg=error, **result)
    if warning:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
