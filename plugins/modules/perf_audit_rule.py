#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_audit_rule
short_description: An auditd rule that logs every perf_event_open() call, persisted in rules.d and loaded
version_added: 0.2.0
description:
  - Writes an auditd rules file (default C(/etc/audit/rules.d/perfsec-perf.rules), mode C(0600),
    C(root:root)) with C(-a always,exit -F arch=b64 -S perf_event_open -k perfsec-perf), and the
    same rule for C(arch=b32) where the architecture has a 32-bit ABI (x86_64, aarch64, s390x...).
  - Loads it with C(augenrules --load) when the file changed or C(auditctl -l) does not list the
    rule, so a second run changes nothing.
  - With O(state=absent), removes the file, reloads, and deletes with C(auditctl -d) any of its
    rules still loaded (a rules.d set without C(-D) keeps them).
  - The records carry the key, so C(ausearch -k perfsec-perf) lists who opened perf events, and
    perfsec.selinux.perf_mac_facts summarises them (C(audit_rule.hits)).
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  state:
    description: Whether the rule is present (written and loaded) or absent.
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - The rules file, a C(NAME.rules) file directly in C(/etc/audit/rules.d) (augenrules reads
        that directory). An existing file there is only replaced when this module wrote it (its
        first line says C(Managed by perfsec.selinux)); symbolic links are refused.
    type: path
    default: /etc/audit/rules.d/perfsec-perf.rules
  key:
    description: The audit key of the rule (C(-k)), 1-63 letters, digits, C(_ . -).
    type: str
    default: perfsec-perf
  arches:
    description:
      - The audit ABIs to log. Empty - from the running architecture (C(uname -m)) - C(b64) and
        C(b32) on x86_64, aarch64, s390x and ppc64, C(b64) only on ppc64le and riscv64, C(b32) on
        32-bit machines.
    type: list
    elements: str
    choices: [b64, b32]
    default: []
  load:
    description:
      - Load the rules now (C(augenrules --load)). With V(false) only the file is written (loaded
        at the next boot or auditd restart).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the rules file and the loaded rules of the key.
  platform:
    platforms: posix
notes:
  - Needs root, auditd's C(auditctl) and C(augenrules) (Debian/Ubuntu package C(auditd), Fedora/EL
    C(audit)). Where the loaded rules are immutable (C(-e 2)), the file is written and
    RV(reboot_required) is true.
seealso:
  - module: perfsec.selinux.perf_mac_facts
'''

EXAMPLES = r'''
- name: Log who opens perf events
  perfsec.selinux.perf_audit_rule:

- name: Only 64-bit programs, and only in the file (loaded at the next boot)
  perfsec.selinux.perf_audit_rule:
    arches: [b64]
    load: false

- name: Remove the rule
  perfsec.selinux.perf_audit_rule:
    state: absent
'''

RETURN = r'''
path:
  description: The rules file.
  returned: always
  type: str
  sample: /etc/audit/rules.d/perfsec-perf.rules
key:
  description: The audit key.
  returned: always
  type: str
  sample: perfsec-perf
arches:
  description: The ABIs the rule covers.
  returned: always
  type: list
  elements: str
  sample: [b64, b32]
rules:
  description: The rules (as written in the file).
  returned: always
  type: list
  elements: str
  sample: ['-a always,exit -F arch=b64 -S perf_event_open -k perfsec-perf']
file_changed:
  description: The file was (or would be) written, removed, or its mode or owner fixed.
  returned: always
  type: bool
loaded_before:
  description: ABIs whose rule C(auditctl -l) listed before the task (null with O(load=false)).
  returned: always
  type: list
  elements: str
loaded:
  description: ABIs whose rule is loaded after the task (in check mode, what they would be).
  returned: always
  type: list
  elements: str
reloaded:
  description: C(augenrules --load) (or C(auditctl -d)) ran or would run.
  returned: always
  type: bool
immutable:
  description: The loaded audit rules are locked (C(enabled 2)) until reboot.
  returned: always
  type: bool
reboot_required:
  description: The file differs from the loaded rules and they are immutable.
  returned: always
  type: bool
'''

import errno
import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.perfsec.selinux.plugins.module_utils.common import atomic_write, rooted as common_rooted
from ansible_collections.perfsec.selinux.plugins.module_utils import auditrules as ar

# Overridable for the unit tests (a fake root for the files; commands come from PATH).
ROOT = '/'
FILE_MODE = 0o600


def rooted(path):
    return common_rooted(ROOT, path)


def read_file(path):
    """(text or None, stat or None); fails for symlinks and non-regular files (raises ValueError)."""
    real = rooted(path)
    try:
        st = os.lstat(real)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None, None
        raise ValueError('cannot read %s: %s' % (path, e.strerror))
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise ValueError('%s is not a regular file (a symbolic link or a device): refusing to read or '
                         'replace it; remove it or choose another path' % path)
    with open(real, 'rb') as f:
        data = f.read(1024 * 1024)
    return data.decode('utf-8', 'replace'), st


def attrs_wrong(st):
    if st is None:
        return False
    owner_ok = os.geteuid() != 0 or (st.st_uid, st.st_gid) == (0, 0)
    return stat.S_IMODE(st.st_mode) != FILE_MODE or not owner_ok


def run(module, argv, what):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg='%s failed (rc %d): %s' % (what, rc, (err or out).strip()[:2000]),
                         cmd=argv, rc=rc)
    return out


def auditctl_state(module, auditctl, key):
    listing = run(module, [auditctl, '-l'], 'auditctl -l (are you root, is the audit subsystem there?)')
    status = run(module, [auditctl, '-s'], 'auditctl -s')
    return ar.loaded_abis(listing, key), ar.immutable(status), listing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            path=dict(type='path', default=ar.DEFAULT_PATH),
            key=dict(type='str', default=ar.KEY, no_log=False),
            arches=dict(type='list', elements='str', default=[], choices=['b64', 'b32']),
            load=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for err in (ar.check_path(p['path']), ar.check_key(p['key'])):
        if err:
            module.fail_json(msg=err)
    abis = list(p['arches']) or list(ar.abis(os.uname()[4]))
    abis = [a for a in ('b64', 'b32') if a in abis]
    rules = ar.rule_lines(abis, p['key'])
    want = ar.render(abis, p['key'])
    present = p['state'] == 'present'

    try:
        before, st = read_file(p['path'])
    except ValueError as e:
        module.fail_json(msg=str(e))
    if present and before is not None and not before.startswith(ar.MANAGED_PREFIX):
        module.fail_json(msg='%s exists and was not written by perfsec.selinux (no "%s" first line): '
                         'refusing to replace it; choose another path' % (p['path'], ar.MANAGED_PREFIX))
    if not present and before is not None and not before.startswith(ar.MANAGED_PREFIX):
        module.fail_json(msg='%s was not written by perfsec.selinux: refusing to remove it' % p['path'])
    if present and not os.path.isdir(rooted(ar.RULES_DIR)):
        module.fail_json(msg='%s does not exist: install auditd (Debian/Ubuntu: auditd, Fedora/EL: audit) '
                         'first' % ar.RULES_DIR)

    if present:
        file_changed = before != want or attrs_wrong(st)
    else:
        file_changed = before is not None

    loaded_before, immutable, listing = None, False, ''
    auditctl = augenrules = None
    if p['load']:
        auditctl = module.get_bin_path('auditctl')
        augenrules = module.get_bin_path('augenrules')
        if not auditctl or (present and not augenrules):
            module.fail_json(msg='auditctl/augenrules not found: install auditd (Debian/Ubuntu: auditd, '
                             'Fedora/EL: audit), or set load=false to only write the file')
        loaded_set, immutable, listing = auditctl_state(module, auditctl, p['key'])
        loaded_before = sorted(loaded_set)
        want_loaded = set(abis) if present else set()
        need_load = file_changed or loaded_set != want_loaded
    else:
        need_load = False
    reboot_required = bool(need_load and immutable)
    if reboot_required:
        need_load = False
        module.warn('the audit rules are immutable (auditctl -s: enabled 2): %s is %s, the running rules '
                    'change at the next boot' % (p['path'], 'written' if present else 'removed'))

    changed = file_changed or need_load
    result = dict(path=p['path'], key=p['key'], arches=abis, rules=rules, file_changed=file_changed,
                  loaded_before=loaded_before, reloaded=need_load, immutable=immutable,
                  reboot_required=reboot_required,
                  loaded=(sorted(abis) if present else []) if need_load else loaded_before or [])
    if module._diff:
        result['diff'] = [{'before_header': p['path'] if before is not None else '%s (absent)' % p['path'],
                           'after_header': p['path'] if present else '%s (absent)' % p['path'],
                           'before': before or '', 'after': want if present else ''}]
        if loaded_before is not None:
            result['diff'].append({'before_header': 'auditctl -l (key %s)' % p['key'],
                                   'after_header': 'auditctl -l (key %s)' % p['key'],
                                   'before': ''.join('%s\n' % a for a in loaded_before),
                                   'after': ''.join('%s\n' % a for a in sorted(result['loaded']))})
    if module.check_mode or not changed:
        module.exit_json(changed=changed, **result)

    real = rooted(p['path'])
    if present:
        if before != want:
            atomic_write(module, real, want, mode=FILE_MODE)
        os.chmod(real, FILE_MODE)
        if os.geteuid() == 0:
            os.chown(real, 0, 0)
    elif before is not None:
        os.unlink(real)
    if need_load:
        run(module, [augenrules, '--load'] if augenrules else [auditctl, '-l'], 'augenrules --load')
        loaded_set, immutable, listing = auditctl_state(module, auditctl, p['key'])
        if not present:
            # a rules.d set without -D keeps the deleted file's rules loaded: delete ours by hand
            for a in sorted(loaded_set):
                run(module, [auditctl, '-d', 'always,exit', '-F', 'arch=%s' % a, '-S', ar.SYSCALL,
                             '-k', p['key']], 'auditctl -d')
            loaded_set, immutable, listing = auditctl_state(module, auditctl, p['key'])
            if loaded_set:
                module.fail_json(msg='the %s rules of key %s are still loaded after augenrules --load and '
                                 'auditctl -d: %s' % (ar.SYSCALL, p['key'], ', '.join(sorted(loaded_set))),
                                 **result)
        elif loaded_set != set(abis):
            module.fail_json(msg='augenrules --load ran but auditctl -l lists the rule for %s, not %s: check '
                             '"augenrules --check" and the other files in %s (a rule there may fail to load, '
                             'or -e 2 lock the rules)' % (', '.join(sorted(loaded_set)) or 'no ABI',
                                                          ', '.join(abis), ar.RULES_DIR), **result)
        result['loaded'] = sorted(loaded_set)
    module.exit_json(changed=True, **result)


if __name__ == '__main__':
    main()
