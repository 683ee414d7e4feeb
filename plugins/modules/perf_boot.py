#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_boot
short_description: Before and after a reboot the collection asks for - the relabel request and the checks
version_added: 0.2.0
description:
  - V(prepare) reads the boot id and, with O(autorelabel), asks for a relabel at the next boot
    (writes C(/.autorelabel), with O(autorelabel_options)); a relabel needs SELINUX=enforcing or
    permissive in C(/etc/selinux/config), else it fails with one message and writes nothing.
  - V(verify), after the reboot (the play's C(ansible.builtin.reboot)), checks that the boot id
    differs from O(boot_id), and with O(autorelabel) that C(/.autorelabel) is gone and a policy is
    loaded; that the runtime mode is O(expected_mode); and with O(require_perf_event) that this
    boot's kernel log (C(journalctl -k -b), else C(dmesg)) does not say
    C(Class perf_event not defined in policy); and, when SELinux is enabled, that none of
    O(absent_modules) is still installed at O(absent_priority). Anything wrong fails with one message naming each
    problem (and O(hint)). With O(marker) it then records when and why (O(reason)).
  - The roles perfsec.selinux.relabel and perfsec.selinux.rollback call it around their reboot.
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - action_common_attributes
options:
  state:
    description: V(prepare) before the reboot, V(verify) after it.
    type: str
    required: true
    choices: [prepare, verify]
  autorelabel:
    description: The reboot is a relabel boot (prepare writes C(/.autorelabel); verify requires it gone).
    type: bool
    default: false
  autorelabel_options:
    description: Content of C(/.autorelabel) (options for fixfiles, for example C(-F)); empty writes an empty file.
    type: str
    default: ""
  boot_id:
    description: The boot id V(prepare) returned (required for V(verify)).
    type: str
  expected_mode:
    description:
      - The runtime mode the host must be in after the reboot; empty takes SELINUX= of the config file
        (as read before the reboot by V(verify) itself).
    type: str
    choices: ['', enforcing, permissive, disabled]
    default: ""
  require_perf_event:
    description: Fail when this boot's kernel log says class perf_event is not defined in the policy.
    type: bool
    default: false
  absent_modules:
    description:
      - V(verify) - policy modules that must be gone after the reboot (removed before it, for example by
        perfsec.selinux.rollback), looked up in the store with C(semodule -lfull). Not checked when SELinux
        is not enabled after the reboot.
    type: list
    elements: str
    default: []
  absent_priority:
    description: The priority O(absent_modules) were installed at.
    type: int
    default: 300
  marker:
    description: After a successful V(verify), write this file (0644 root) with the time (UTC) and O(reason).
    type: path
  reason:
    description: Why the host was rebooted (written to O(marker)).
    type: str
    default: ""
  hint:
    description: Appended to a failure message (where to look, for example the console).
    type: str
    default: ""
  root:
    description: An alternate root for the files read and written (tests); the kernel log is the running kernel's.
    type: path
    default: /
attributes:
  check_mode:
    support: full
    details: V(prepare) reports the relabel request as a change and writes nothing; V(verify) checks and writes no marker.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Read-only apart from C(/.autorelabel) and O(marker).
'''

EXAMPLES = r'''
- name: Ask for a relabel at the next boot
  perfsec.selinux.perf_boot:
    state: prepare
    autorelabel: true
  register: before

- name: Reboot
  ansible.builtin.reboot:
    test_command: test ! -e /.autorelabel

- name: Check the relabel boot and record it
  perfsec.selinux.perf_boot:
    state: verify
    boot_id: "{{ before.boot_id }}"
    autorelabel: true
    expected_mode: permissive
    require_perf_event: true
    marker: /var/lib/perfsec/relabel.done
    reason: SELinux is being enabled
'''

RETURN = r'''
boot_id:
  description: This boot's id (before the reboot for V(prepare), after it for V(verify)).
  returned: always
  type: str
  sample: 0f6d3a52-7f8e-4bd4-9a3e-2b3b8c7f1e21
mode:
  description: The runtime SELinux mode now (enforcing, permissive or disabled).
  returned: always
  type: str
perf_event_class:
  description: Whether the loaded policy defines class perf_event.
  returned: always
  type: bool
autorelabel_pending:
  description: Whether C(/.autorelabel) exists after the task.
  returned: always
  type: bool
undefined:
  description: V(verify) - this boot's kernel log lines about classes or permissions not defined in the policy (null when unreadable).
  returned: when state is verify
  type: list
  elements: str
leftover:
  description:
    - V(verify) - those of O(absent_modules) still installed at O(absent_priority)
      (null when not checked - none asked for, or SELinux not enabled).
  returned: when state is verify
  type: list
  elements: str
problems:
  description: V(verify) - what is wrong (empty when the reboot is right).
  returned: when state is verify
  type: list
  elements: str
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.perfsec.selinux.plugins.module_utils import boot
from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
from ansible_collections.perfsec.selinux.plugins.module_utils.common import atomic_write, rooted
from ansible_collections.perfsec.selinux.plugins.module_utils.selinuxfs import read_config, runtime_state


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', required=True, choices=['prepare', 'verify']),
            autorelabel=dict(type='bool', default=False),
            autorelabel_options=dict(type='str', default=''),
            boot_id=dict(type='str'),
            expected_mode=dict(type='str', default='', choices=['', 'enforcing', 'permissive', 'disabled']),
            require_perf_event=dict(type='bool', default=False),
            absent_modules=dict(type='list', elements='str', default=[]),
            absent_priority=dict(type='int', default=300),
            marker=dict(type='path'),
            reason=dict(type='str', default=''),
            hint=dict(type='str', default=''),
            root=dict(type='path', default='/'),
        ),
        required_if=[['state', 'verify', ['boot_id']]],
        supports_check_mode=True,
    )
    p = module.params
    root = p['root']
    relabel_flag = rooted(root, boot.AUTORELABEL)
    se = runtime_state(rooted(root, C.SELINUXFS))
    config = read_config(rooted(root, C.SELINUX_CONFIG))
    now_id = boot.boot_id(root)
    result = dict(changed=False, boot_id=now_id, mode=se['mode'], perf_event_class=se['perf_event_class'],
                  autorelabel_pending=os.path.exists(relabel_flag))
    bad = [name for name in p['absent_modules'] if not sm.valid_name(name)]
    if bad or not sm.valid_priority(p['absent_priority']):
        module.fail_json(msg='absent_modules must be module names (letters, digits, _ and -) and absent_priority '
                             '1..999; got %s at %s' % (bad or p['absent_modules'], p['absent_priority']), **result)
    if now_id is None:
        module.fail_json(msg='cannot read the boot id (%s)' % rooted(root, boot.BOOT_ID), **result)
    if p['state'] == 'prepare':
        why = boot.prepare_problem(config['mode'], p['autorelabel'])
        if why:
            module.fail_json(msg=why, **result)
        if p['autorelabel']:
            text = p['autorelabel_options'] + '\n' if p['autorelabel_options'] else ''
            current = None
            if os.path.exists(relabel_flag):
                with open(relabel_flag) as f:
                    current = f.read()
            if current != text:
                result['changed'] = True
                if not module.check_mode:
                    atomic_write(module, relabel_flag, text, mode=0o644)
            result['autorelabel_pending'] = True
        module.exit_json(**result)

    klog = boot.undefined_class_lines(module) if p['require_perf_event'] else None
    result['undefined'] = klog
    result['leftover'] = left = None
    if p['absent_modules'] and se['enabled']:
        try:
            result['leftover'] = left = boot.installed_of(module, p['absent_modules'], p['absent_priority'], root)
        except sm.SemoduleError as e:
            left = str(e)   # verify_problems names it
    expected = p['expected_mode'] or (config['mode'] or '')
    result['problems'] = boot.verify_problems(p['boot_id'].strip(), now_id, se, result['autorelabel_pending'],
                                              expected, p['autorelabel'], p['require_perf_event'], klog,
                                              left, p['absent_priority'])
    if result['problems']:
        module.fail_json(msg='the host came back, but the reboot is not right: %s.%s' % (
            '; '.join(result['problems']), ' ' + p['hint'] if p['hint'] else ''), **result)
    if p['marker'] and not module.check_mode:
        stamp = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        atomic_write(module, rooted(root, p['marker']), '%s %s\n' % (stamp, p['reason']), mode=0o644)
        result['changed'] = True
    module.exit_json(**result)


if __name__ == '__main__':
    main()
