#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_strip_labels
short_description: Remove every security.selinux label from the local file systems, once SELinux is off
version_added: "1.1.0"
description:
  - The last rollback level of perfsec.selinux.rollback (O(confirm) must be the sentence
    C(I understand that this removes every SELinux label)). Re-enabling SELinux afterwards needs a full relabel.
  - Walks each file system of O(paths) without entering other mounts (as C(find -xdev)) and removes the
    C(security.selinux) extended attribute of every file, directory and link that has one.
  - Refuses, with one message and nothing changed, while the running kernel has a SELinux policy loaded
    (stripping labels then would break the host), unless O(ignore_selinux_state).
  - Files whose label cannot be read or removed are counted in RV(error_count), the first ones listed in
    RV(errors), and a warning says so; the others are still stripped.
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - action_common_attributes
options:
  confirm:
    description: Must be exactly C(I understand that this removes every SELinux label).
    type: str
    required: true
  paths:
    description:
      - Mount points (or directories) to strip; empty means every mounted file system of O(fstypes)
        (from C(/proc/self/mounts)).
    type: list
    elements: path
    default: []
  fstypes:
    description: The local file system types stripped when O(paths) is empty.
    type: list
    elements: str
    default: [ext2, ext3, ext4, xfs, btrfs]
  ignore_selinux_state:
    description: Strip even while SELinux is enabled in the running kernel (an image or a tree not in use; tests).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Counts the labels that would be removed and removes none (also while SELinux is still enabled).
  diff_mode:
    support: none
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Strip the labels after a reboot with selinux=0
  perfsec.selinux.perf_strip_labels:
    confirm: I understand that this removes every SELinux label
'''

RETURN = r'''
paths:
  description: The file systems walked.
  returned: always
  type: list
  elements: str
  sample: [/, /boot]
labelled:
  description: Paths that had a label (before this task).
  returned: always
  type: int
removed:
  description: Labels removed (0 in check mode).
  returned: always
  type: int
error_count:
  description: Paths whose label could not be read or removed.
  returned: always
  type: int
errors:
  description: The first 20 of them, each with the error.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils import labels
from ansible_collections.perfsec.selinux.plugins.module_utils.common import read_text
from ansible_collections.perfsec.selinux.plugins.module_utils.selinuxfs import runtime_state


def main():
    module = AnsibleModule(
        argument_spec=dict(
            confirm=dict(type='str', required=True),
            paths=dict(type='list', elements='path', default=[]),
            fstypes=dict(type='list', elements='str', default=list(labels.LOCAL_FSTYPES)),
            ignore_selinux_state=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, paths=[], labelled=0, removed=0, error_count=0, errors=[])
    if p['confirm'] != labels.CONFIRM:
        module.fail_json(msg='stripping removes every %s label from the local file systems; re-enabling SELinux '
                             'then needs a full relabel. Set confirm to exactly "%s" to go ahead.'
                             % (labels.XATTR, labels.CONFIRM), **result)
    if runtime_state(C.SELINUXFS)['enabled'] and not p['ignore_selinux_state'] and not module.check_mode:
        module.fail_json(msg='the running kernel has SELinux enabled; stripping labels now would break the host. '
                             'Disable it first and reboot (perfsec.selinux.rollback - rollback_config_disabled or rollback_kernel_cmdline).', **result)
    for path in p['paths']:
        if not path.startswith('/'):
            module.fail_json(msg='paths must be absolute: %r' % path, **result)
    paths = p['paths'] or labels.local_mounts(read_text('/proc/self/mounts', ''), p['fstypes'])
    tally = labels.Tally()
    for path in paths:
        labels.walk(path, not module.check_mode, tally)
    result.update(paths=paths, labelled=tally.labelled, removed=tally.removed, error_count=tally.error_count,
                  errors=tally.errors, changed=tally.labelled > 0)
    if tally.error_count:
        module.warn('%d paths kept their label or could not be read, for example %s'
                    % (tally.error_count, '; '.join(tally.errors[:3])))
    verb, count = ('would remove', tally.labelled) if module.check_mode else ('removed', tally.removed)
    result['msg'] = '%s %d of %d labels on %s' % (verb, count, tally.labelled, ', '.join(paths) or 'no file system')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
