# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A reboot the collection asks for, in one place: before it, the boot id (and the relabel
request, /.autorelabel); after it, what must hold - another boot id, /.autorelabel gone, a
policy loaded, the expected mode, no "Class perf_event not defined in policy" in this boot's
kernel log, no module that was removed before the reboot still installed. Used by
perfsec.selinux.perf_boot, which the roles relabel and rollback call around their reboot. Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
from ansible_collections.perfsec.selinux.plugins.module_utils.common import read_text, rooted

BOOT_ID = C.PROC_ROOT + '/sys/kernel/random/boot_id'
AUTORELABEL = '/.autorelabel'
UNDEFINED = 'not defined in policy'
PERF_EVENT_UNDEFINED = 'Class perf_event not defined'
RELABEL_MODES = ('enforcing', 'permissive')


def boot_id(root=None):
    """This boot's id (the kernel's random boot_id), or None when unreadable."""
    return read_text(rooted(root, BOOT_ID))


def undefined_class_lines(module):
    """This boot's kernel log lines saying a class or permission is not defined in the policy:
    journalctl -k -b, or dmesg where there is no journal. None when neither could be read."""
    for argv in (['journalctl', '-k', '-b', '-o', 'cat', '--no-pager'], ['dmesg']):
        path = module.get_bin_path(argv[0])
        if not path:
            continue
        rc, out, _err = module.run_command([path] + argv[1:])
        if rc == 0:
            return [ln.strip() for ln in out.splitlines() if UNDEFINED in ln]
    return None


def installed_of(module, names, priority, root=None):
    """Which of ``names`` the store still has at ``priority`` (semodule's list, as
    perf_mac_facts reads it); raises semodule.SemoduleError when the store cannot be listed."""
    mods = sm.list_host_modules(module, root)
    return [name for name in names if sm.find_module(mods, name, priority)]


def prepare_problem(config_mode, autorelabel):
    """Why the relabel cannot be asked for (None: it can): a relabel boot needs SELinux on."""
    if autorelabel and config_mode not in RELABEL_MODES:
        said = 'says SELINUX=%s' % config_mode if config_mode else 'is missing or sets no SELINUX='
        return ('/etc/selinux/config %s; a relabel boot needs enforcing or permissive '
                '(run perfsec.selinux.selinux_state first)' % said)
    return None


def verify_problems(before, after, se, autorelabel_pending, expected_mode, relabel, require_perf_event,
                    klog, leftover=None, priority=None):
    """What is wrong after the reboot, one phrase each (empty: all holds). se: selinuxfs'
    runtime_state(); klog: undefined_class_lines() (None: unreadable); leftover: installed_of()
    for the modules that must be gone (None: not checked; a str: why they could not be listed)."""
    problems = []
    if before and after == before:
        problems.append('the boot id did not change (%s): the host did not reboot' % before)
    if relabel:
        if autorelabel_pending:
            problems.append('/.autorelabel is still there: the relabel did not run')
        if not se.get('enabled') or se.get('policyvers') is None:
            problems.append('no SELinux policy is loaded')
    if expected_mode and se.get('mode') != expected_mode:
        problems.append('SELinux is %s, expected %s' % (se.get('mode'), expected_mode))
    if require_perf_event and klog and any(PERF_EVENT_UNDEFINED in ln for ln in klog):
        problems.append('the kernel log says: %s' % '; '.join(ln for ln in klog if PERF_EVENT_UNDEFINED in ln))
    if isinstance(leftover, str):
        problems.append('the modules cannot be listed (%s)' % leftover)
    elif leftover:
        problems.append('SELinux is %s and still has these modules at priority %s: %s' % (
            se.get('mode'), priority, ', '.join(leftover)))
    return problems
