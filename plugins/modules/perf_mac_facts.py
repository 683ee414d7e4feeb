#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_mac_facts
short_description: Gather SELinux and perf_event_open() access-control facts about a host
version_added: 0.1.0
description:
  - Reads what the kernel and the host say about mandatory access control for
    C(perf_event_open()), that is whether SELinux is enabled, its mode in C(/etc/selinux/config)
    and at runtime, the policy type, whether the loaded policy defines class C(perf_event)
    and capability2 C(perfmon), C(deny_unknown), the C(kernel.perf_event_*) sysctls,
    a pending C(/.autorelabel), the installed policy modules with priority, state and
    checksum, and the perf binary with its file capabilities.
  - Works on hosts without SELinux (it reports C(disabled) or C(absent)) and changes nothing.
  - Results are returned under C(ansible_facts.perfsec).
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
options:
  gather_modules:
    description:
      - List the installed SELinux policy modules (runs C(semodule -lfull -m)).
      - Costs a second or two per host; turn off when only the kernel state is needed.
    type: bool
    default: true
  module_filter:
    description:
      - Only report installed modules whose name matches one of these regular expressions.
      - The default reports every module at a priority other than 100 (the distribution's
        own modules sit at 100), which keeps the facts small.
    type: list
    elements: str
    default: []
  perf_path:
    description:
      - The perf binary to describe. Default is C(perf) from the PATH.
    type: path
notes:
  - Read-only; check mode is supported and returns the same facts.
  - Uses only selinuxfs, procfs and files, plus C(semodule) and C(getcap) when they are installed.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
seealso:
  - module: perfsec.selinux.perf_semodule
  - module: perfsec.selinux.perf_paranoid
'''

EXAMPLES = r'''
- name: Gather perf MAC facts
  perfsec.selinux.perf_mac_facts:

- name: Decide whether the policy needs the perf_event rebuild
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} needs the policy rebuild"
  when:
    - ansible_facts.perfsec.selinux.enabled
    - not ansible_facts.perfsec.selinux.perf_event_class

- name: Only our own modules, quickly
  perfsec.selinux.perf_mac_facts:
    module_filter:
      - '^perf'
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    perfsec:
      description: Everything this module found, under one key.
      type: complex
      returned: always
      contains:
        selinux:
          description:
            - SELinux state. C(status) is C(enabled), C(disabled) (config present, kernel off)
              or C(absent) (no SELinux configuration and no selinuxfs).
            - C(mode) is the runtime mode (C(enforcing), C(permissive), C(disabled));
              C(config_mode) and C(policy_type) come from C(/etc/selinux/config).
            - C(perf_event_class), C(perf_event_perms), C(perfmon), C(bpf) describe the loaded policy.
          type: dict
          returned: always
          sample:
            status: enabled
            enabled: true
            mode: enforcing
            config_mode: enforcing
            config_exists: true
            policy_type: targeted
            policyvers: 33
            deny_unknown: true
            reject_unknown: false
            mls: true
            perf_event_class: true
            perf_event_perms: [cpu, kernel, open, read, tracepoint, write]
            perfmon: true
            bpf: true
            autorelabel_pending: false
        kernel:
          description: Kernel release, whether the host looks like a container, and the perf sysctls (null where absent).
          type: dict
          returned: always
          sample:
            release: 6.1.0-28-amd64
            cap_perfmon: true
            container: false
            perf_event_paranoid: 2
            perf_event_mlock_kb: 516
            perf_event_max_sample_rate: 100000
            perf_cpu_time_max_percent: 25
        modules:
          description:
            - Installed policy modules (filtered by I(module_filter)) with priority, enabled and
              the sha256 of their CIL. Empty when C(semodule) is missing or I(gather_modules=false).
          type: list
          elements: dict
          returned: always
          sample:
            - name: perf_local
              priority: 300
              enabled: true
              checksum: sha256:6f1d...
              lang: pp
        modules_error:
          description: Why the module list is empty when listing failed, else null.
          type: str
          returned: always
        perf:
          description: The perf binary (null path when not installed) and its file capabilities.
          type: dict
          returned: always
          sample:
            path: /usr/bin/perf
            real_path: /usr/bin/perf
            capabilities: ''
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.perfsec.selinux.plugins.module_utils.common import (
    PROC_ROOT, SELINUXFS, file_capabilities, in_container, kernel_version, read_sysctl, read_text,
)
from ansible_collections.perfsec.selinux.plugins.module_utils.selinuxfs import (
    SELINUX_CONFIG, read_config, runtime_state,
)

PERF_SYSCTLS = (
    'kernel.perf_event_paranoid',
    'kernel.perf_event_mlock_kb',
    'kernel.perf_event_max_sample_rate',
    'kernel.perf_cpu_time_max_percent',
)


def gather_selinux(selinuxfs=SELINUXFS, config=SELINUX_CONFIG, root='/'):
    facts = runtime_state(selinuxfs)
    conf = read_config(config)
    facts['config_exists'] = conf['exists']
    facts['config_mode'] = conf['mode']
    facts['policy_type'] = conf['policy_type']
    if facts['enabled']:
        facts['status'] = 'enabled'
    elif conf['exists']:
        facts['status'] = 'disabled'
    else:
        facts['status'] = 'absent'
    facts['autorelabel_pending'] = os.path.exists(os.path.join(root, '.autorelabel'))
    return facts


def gather_kernel(proc_root=PROC_ROOT, root='/'):
    facts = {
        'release': read_text(os.path.join(proc_root, 'sys/kernel/osrelease')),
        'container': in_container(proc_root, root),
    }
    ver = kernel_version(proc_root)
    facts['cap_perfmon'] = bool(ver and ver >= (5, 8))
    for name in PERF_SYSCTLS:
        facts[name.split('.', 1)[1]] = read_sysctl(name, proc_root)
    return facts


def gather_modules(module, patterns):
    try:
        from ansible_collections.perfsec.selinux.plugins.module_utils.semodule import list_modules
    except ImportError:  # pragma: no cover - only during development
        return [], 'semodule helpers unavailable'
    if not module.get_bin_path('semodule'):
        return [], 'semodule is not installed'
    try:
        mods = list_modules(module)
    except Exception as e:  # the store may be missing or locked; facts must not fail
        return [], str(e)
    if patterns:
        regexes = [re.compile(p) for p in patterns]
        mods = [m for m in mods if any(r.search(m['name']) for r in regexes)]
    else:
        mods = [m for m in mods if m['priority'] != 100]
    return mods, None


def gather_perf(module, path=None):
    perf = path or module.get_bin_path('perf')
    if not perf or not os.path.exists(perf):
        return {'path': None, 'real_path': None, 'capabilities': None}
    real = os.path.realpath(perf)
    return {'path': perf, 'real_path': real, 'capabilities': file_capabilities(module, real)}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather_modules=dict(type='bool', default=True),
            module_filter=dict(type='list', elements='str', default=[]),
            perf_path=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    for pattern in module.params['module_filter']:
        try:
            re.compile(pattern)
        except re.error as e:
            module.fail_json(msg='module_filter %r is not a valid regular expression: %s' % (pattern, e))

    facts = {
        'selinux': gather_selinux(),
        'kernel': gather_kernel(),
        'modules': [],
        'modules_error': None,
        'perf': gather_perf(module, module.params['perf_path']),
    }
    if module.params['gather_modules']:
        facts['modules'], facts['modules_error'] = gather_modules(module, module.params['module_filter'])
    module.exit_json(changed=False, ansible_facts={'perfsec': facts})


if __name__ == '__main__':
    main()
