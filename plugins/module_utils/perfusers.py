# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The perf_users decisions (the kernel perf security guide's privileged perf group): which perf
ELF to copy, and which file capabilities it gets on this kernel. Used by
perfsec.selinux.perf_users_binary. Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

CAP_PERFMON = 38            # CAP_PERFMON is capability 38 (Linux 5.8)
ELF_MAGIC = b'\x7fELF'
CAP_RE = re.compile(r'^cap_[a-z_]+$')
# what the role removes from the binary when it does not want it
MANAGED_CAPS = ('cap_sys_admin', 'cap_perfmon', '38')


def candidates(release, source=''):
    """The perf binaries to try, in order: the given one, else Ubuntu's linux-tools for this
    kernel, Debian's perf_X.Y, /usr/bin/perf (on Debian/Ubuntu a wrapper script)."""
    if source:
        return [source]
    m = re.match(r'^(\d+\.\d+)', release or '')
    out = ['/usr/lib/linux-tools/%s/perf' % release] if release else []
    if m:
        out.append('/usr/bin/perf_%s' % m.group(1))
    return out + ['/usr/bin/perf']


def is_elf(path):
    """Whether ``path`` (followed, as exec would) starts with the ELF magic."""
    try:
        with open(path, 'rb') as f:
            return f.read(4) == ELF_MAGIC
    except (IOError, OSError):
        return False


def capabilities(requested, cap_last_cap, libcap_knows_perfmon):
    """The file capabilities for the group's perf: ``requested`` where the kernel has CAP_PERFMON
    (cap_perfmon written by number, 38, where libcap does not know its name); else cap_sys_admin
    in place of cap_perfmon (the caller has refused that unless explicitly allowed)."""
    if cap_last_cap is not None and cap_last_cap >= CAP_PERFMON:
        name = 'cap_perfmon' if libcap_knows_perfmon else str(CAP_PERFMON)
        return [name if c == 'cap_perfmon' else c for c in requested]
    return ['cap_sys_admin'] + [c for c in requested if c != 'cap_perfmon']


def unwanted(caps):
    """The capabilities the role manages that the binary must not keep."""
    return [c for c in MANAGED_CAPS if c not in caps]
