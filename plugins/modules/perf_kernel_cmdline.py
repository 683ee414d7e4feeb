#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_kernel_cmdline
short_description: Put selinux=0 on the kernel command line of every boot entry (grubby or /etc/default/grub)
version_added: "1.1.0"
description:
  - The kernel command line level of perfsec.selinux.rollback. Drops the arguments that turn SELinux
    on and adds C(selinux=0), on every boot entry; the running kernel keeps its command line until the
    next boot (RV(reboot_required)).
  - Which arguments go depends on the distribution, read from C(/etc/os-release) (C(ID) and C(ID_LIKE)).
    Debian and its derivatives drop C(selinux=1) and C(security=selinux) - Debian's kernel is built
    without C(CONFIG_SECURITY_SELINUX_BOOTPARAM), so it ignores C(selinux=0), and SELinux is on there
    because C(selinux-activate) put C(security=selinux) on the command line. Every other distribution
    drops C(selinux=1).
  - Which tool writes the boot entries is chosen by what is installed, not by the distribution name
    (O(method=auto)). Where C(grubby) is on PATH (Fedora, EL and their rebuilds) it edits the entry of
    every installed kernel (C(grubby --update-kernel=ALL --remove-args=... / --args=selinux=0)); a
    derivative the table does not name still gets the tool it has. Elsewhere C(GRUB_CMDLINE_LINUX) (and
    C(GRUB_CMDLINE_LINUX_DEFAULT), for the drops) in O(grub_default) is rewritten and the boot loader
    configuration regenerated (O(update_command)).
  - The file is only rewritten when its assignments are plain strings (double- or single-quoted,
    unquoted, empty); a line using a variable, a command substitution or an escape, or a value running
    over several lines, is refused with its line number and nothing is changed. Without any
    C(GRUB_CMDLINE_LINUX) line one is appended. The file is written atomically and keeps its mode,
    owner and SELinux context.
  - When the update command fails the file is put back as it was and the module fails, so the host
    is left as it was. After grubby changed the entries, C(grubby --info=ALL) is read again and every
    entry must have C(selinux=0).
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - action_common_attributes
options:
  state:
    description:
      - What the command line is to say. V(selinux_disabled) (the only state) drops the distribution's
        SELinux-on arguments and adds C(selinux=0).
    type: str
    choices: [selinux_disabled]
    default: selinux_disabled
  method:
    description:
      - V(auto) uses V(grubby) where C(grubby) is on PATH, else V(default_grub).
      - V(grubby) edits the boot entries with C(grubby --update-kernel=ALL).
      - V(default_grub) rewrites O(grub_default) and runs O(update_command).
    type: str
    choices: [auto, grubby, default_grub]
    default: auto
  grub_default:
    description: The file holding C(GRUB_CMDLINE_LINUX) (O(method=default_grub)).
    type: path
    default: /etc/default/grub
  update_command:
    description:
      - The command (an argv list) that regenerates the boot loader configuration after O(grub_default)
        changed. Empty - the first found on PATH of C(update-grub), C(grub-mkconfig -o /boot/grub/grub.cfg),
        C(grub2-mkconfig -o /boot/grub2/grub.cfg).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Reads the file, or runs the read-only C(grubby --info=ALL), and reports what would change.
  diff_mode:
    support: full
    details: The diff shows O(grub_default), or each boot entry's arguments (one line per entry).
  platform:
    platforms: posix
notes:
  - Needs root. C(GRUB_CMDLINE_LINUX) set again in C(/etc/default/grub.d/*.cfg) (O(grub_default) with C(.d)) overrides the file;
    such files are named in a warning, not changed.
  - An C(lsm=) list naming selinux keeps SELinux on; it is not changed.
seealso:
  - module: perfsec.selinux.perf_boot
  - module: perfsec.selinux.perf_strip_labels
'''

EXAMPLES = r'''
- name: SELinux off at the next boot (grubby on Fedora/EL, /etc/default/grub + update-grub on Debian)
  perfsec.selinux.perf_kernel_cmdline:
  register: cmdline

- name: A grub without update-grub
  perfsec.selinux.perf_kernel_cmdline:
    method: default_grub
    update_command: [grub-mkconfig, -o, /boot/grub/grub.cfg]
'''

RETURN = r'''
method:
  description: The method used, V(grubby) or V(default_grub).
  returned: always
  type: str
  sample: default_grub
os_family:
  description: The distribution family the drops were chosen by, C(debian) or C(other).
  returned: always
  type: str
  sample: debian
drop:
  description: The arguments removed from the command line.
  returned: always
  type: list
  elements: str
  sample: [selinux=1, security=selinux]
entries:
  description:
    - What changed (or would change in check mode). For V(default_grub) one item per assignment
      (C(name), C(line), C(before), C(after); C(before) null for an appended line), for V(grubby) one
      per boot entry (C(index), C(kernel), C(title), C(before), C(after)).
  returned: always
  type: list
  elements: dict
  sample: [{name: GRUB_CMDLINE_LINUX, line: 10, before: ' security=selinux', after: ' selinux=0'}]
commands:
  description: The commands that changed the boot entries (in check mode, that would run).
  returned: always
  type: list
  elements: list
  sample: [[/usr/sbin/update-grub]]
reboot_required:
  description: The boot entries changed; the running kernel has its old command line until the next boot.
  returned: always
  type: bool
'''

import glob
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.perfsec.selinux.plugins.module_utils import cmdline as cl
from ansible_collections.perfsec.selinux.plugins.module_utils.common import atomic_write

# Overridable for the unit tests (the os-release files read).
OS_RELEASE = cl.OS_RELEASE


def read_os_release():
    for path in OS_RELEASE:
        try:
            with open(path) as f:
                return f.read()
        except (IOError, OSError):
            continue
    return ''


def run(module, argv, what, **result):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg='%s failed (rc %d): %s' % (what, rc, (err or out).strip()[-2000:] or 'no output'),
                         cmd=argv, rc=rc, **result)
    return out


def grub_d_overrides(path):
    names = []
    for cfg in sorted(glob.glob(os.path.join(path + '.d', '*.cfg'))):
        try:
            with open(cfg) as f:
                if cl.parse_default_grub(f.read()):
                    names.append(cfg)
        except (IOError, OSError, cl.CmdlineError):
            names.append(cfg)
    return names


def do_default_grub(module, drop, result):
    p = module.params
    path = p['grub_default']
    try:
        with open(path, 'rb') as f:
            before = f.read().decode('utf-8')
    except (IOError, OSError) as e:
        module.fail_json(msg='cannot read %s (method default_grub): %s; is grub installed (Debian: grub-pc or '
                         'grub-efi)?' % (path, e.strerror), **result)
    except UnicodeDecodeError:
        module.fail_json(msg='%s is not UTF-8 text' % path, **result)
    try:
        after, changes = cl.edit_default_grub(before, drop)
    except cl.CmdlineError as e:
        module.fail_json(msg='%s: %s' % (path, e), **result)
    if p['update_command']:
        argv = list(p['update_command'])
        found = argv[0] if os.path.isabs(argv[0]) and os.access(argv[0], os.X_OK) else module.get_bin_path(argv[0])
        argv = [found] + argv[1:] if found else None
        missing = p['update_command'][0]
    else:
        argv = cl.choose_update_command(module.get_bin_path)
        missing = ', '.join(c[0] for c in cl.UPDATE_COMMANDS)
    result.update(entries=changes, commands=[argv] if changes and argv else [])
    if module._diff:
        result['diff'] = {'before_header': path, 'after_header': path, 'before': before, 'after': after}
    for cfg in grub_d_overrides(path):
        module.warn('%s sets GRUB_CMDLINE_LINUX too (after %s): check it, this module does not change it'
                    % (cfg, path))
    if not changes:
        return False
    if not argv:
        module.fail_json(msg='no boot loader update command found (%s): nothing was changed; set update_command'
                         % missing, **result)
    if module.check_mode:
        return True
    atomic_write(module, path, after)
    rc, out, err = module.run_command(argv)
    if rc != 0:
        atomic_write(module, path, before)
        module.fail_json(msg='%s failed (rc %d): %s; %s was put back as it was' % (
            ' '.join(argv), rc, (err or out).strip()[-2000:] or 'no output', path), cmd=argv, rc=rc, **result)
    return True


def entry_lines(entries):
    return ''.join('%s %s: %s\n' % (e['index'], e['kernel'], ' '.join(e['args'])) for e in entries)


def do_grubby(module, drop, result):
    grubby = module.get_bin_path('grubby')
    if not grubby:
        module.fail_json(msg='grubby not found (method grubby): install it (Fedora/EL package grubby) or use '
                         'method default_grub', **result)
    try:
        entries = cl.parse_grubby(run(module, [grubby, '--info=ALL'], 'grubby --info=ALL', **result))
    except cl.CmdlineError as e:
        module.fail_json(msg=str(e), **result)
    remove, need_add, changes = cl.grubby_plan(entries, drop)
    argvs = cl.grubby_argvs(grubby, remove, need_add)
    result.update(entries=changes, commands=argvs)
    if module._diff:
        after = [dict(e, args=[a for a in e['args'] if a not in drop] + ([] if cl.ADD in e['args'] else [cl.ADD]))
                 for e in entries]
        result['diff'] = {'before_header': 'grubby --info=ALL', 'after_header': 'grubby --info=ALL',
                          'before': entry_lines(entries), 'after': entry_lines(after)}
    if not argvs or module.check_mode:
        return bool(argvs)
    for argv in argvs:
        run(module, argv, 'grubby ' + ' '.join(argv[1:]), **result)
    try:
        entries = cl.parse_grubby(run(module, [grubby, '--info=ALL'], 'grubby --info=ALL', **result))
    except cl.CmdlineError as e:
        module.fail_json(msg='after the update: %s' % e, **result)
    remove, need_add, _changes = cl.grubby_plan(entries, drop)
    if remove or need_add:
        module.fail_json(msg='grubby ran but its entries still do not all have %s without %s: %s' % (
            cl.ADD, ', '.join(drop), entry_lines(entries).strip()), **result)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='selinux_disabled', choices=['selinux_disabled']),
            method=dict(type='str', default='auto', choices=['auto', 'grubby', 'default_grub']),
            grub_default=dict(type='path', default=cl.GRUB_DEFAULT),
            update_command=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p['update_command'] and not p['update_command'][0]:
        module.fail_json(msg='update_command must start with a program name or path')
    fam = cl.family(read_os_release())
    drop = list(cl.DROP[fam])
    method = cl.choose_method(p['method'], module.get_bin_path('grubby') is not None)
    result = dict(method=method, os_family=fam, drop=drop, entries=[], commands=[], reboot_required=False)
    if method == 'grubby':
        changed = do_grubby(module, drop, result)
    else:
        changed = do_default_grub(module, drop, result)
    result['reboot_required'] = changed
    module.exit_json(changed=changed, **result)


if __name__ == '__main__':
    main()
