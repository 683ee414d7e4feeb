# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The perf_users decisions (the kernel perf security guide's privileged perf group): which perf
ELF to copy, which file capabilities it gets on this kernel, and the pure parts of managing the
group, its directory and the copy (name and path checks, getcap parsing, the capabilities the
binary ends up with). Used by perfsec.selinux.perf_users and perfsec.selinux.perf_users_binary.
Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import os
import re

from ansible_collections.perfsec.selinux.plugins.module_utils.common import read_int, read_text

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


def decide(source, requested, allow_cap_sys_admin, proc_root, libcap_knows_perfmon):
    """Which perf ELF to copy and its capabilities on the running kernel (read-only).

    ``libcap_knows_perfmon`` is called (once) only when the answer matters. Returns
    (result, error, warning): ``result`` holds tried, kernel_release, cap_last_cap, paranoid and,
    without error, source, capabilities and remove; ``error`` is the one message to fail with."""
    release = read_text(os.path.join(proc_root, 'sys/kernel/osrelease')) or ''
    cap_last = read_int(os.path.join(proc_root, 'sys/kernel/cap_last_cap'))
    paranoid = read_int(os.path.join(proc_root, 'sys/kernel/perf_event_paranoid'))
    tried = candidates(release, source)
    result = dict(tried=tried, kernel_release=release, cap_last_cap=cap_last, paranoid=paranoid)
    if source and not source.startswith('/'):
        return result, 'source=%r must be an absolute path (or empty to find perf)' % source[:80], None
    bad = [c for c in requested if not CAP_RE.match(c)]
    if bad:
        return result, 'invalid capability name %r: use cap_NAME (for example cap_perfmon)' % bad[0][:40], None
    if (cap_last is None or cap_last < CAP_PERFMON) and not allow_cap_sys_admin:
        return result, ('This kernel (%s, cap_last_cap %s) has no CAP_PERFMON (Linux 5.8+). Upgrade the kernel, '
                        'or set perf_users_allow_cap_sys_admin=true to give the group\'s perf cap_sys_admin '
                        'instead (it grants far more than performance monitoring).' % (release, cap_last)), None
    found = next((c for c in tried if is_elf(c)), None)
    if found is None:
        return result, ('No perf ELF binary found (tried %s). Install perf (Debian linux-perf, Fedora/EL perf, '
                        'Ubuntu linux-tools-$(uname -r)) or set perf_users_source to the real binary (not a '
                        'wrapper script: file capabilities on a script do nothing).' % ', '.join(tried)), None
    caps = capabilities(requested, cap_last, libcap_knows_perfmon())
    warning = None
    if paranoid is not None and paranoid > 2:
        warning = ('kernel.perf_event_paranoid is %d: at 3 (Debian) and 4 (Ubuntu) perf_event_open() needs '
                   'CAP_SYS_ADMIN and the group\'s perf is refused. Set level 2 with the perfsec.selinux.paranoid '
                   'role.' % paranoid)
    result.update(source=found, capabilities=caps, remove=unwanted(caps))
    return result, None, warning


def libcap_knows_perfmon(module):
    """Whether libcap names capability 38 (capsh --decode of bit 38 prints cap_perfmon)."""
    capsh = module.get_bin_path('capsh')
    if not capsh:
        return False
    rc, out, _err = module.run_command([capsh, '--decode=0x%x' % (1 << CAP_PERFMON)])
    return rc == 0 and 'cap_perfmon' in out


# --- the state the perf_users module manages (group, directory, copy, file capabilities) ---

# a group perfsec creates: what shadow's groupadd accepts by default, at most 32 characters
GROUP_RE = re.compile(r'^[a-z_][a-z0-9_-]{0,31}$')
# an existing account (local or from NSS): no leading '-' (it is a command argument), not all
# digits (usermod/gpasswd would read a number as an id), at most 32 characters
USER_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$')
BINARY = 'perf'             # the group's perf: DIR/perf
TMP_PREFIX = '.perf-'       # the copy is written as DIR/.perf-XXXX, then renamed
WANTED_ACTION = '=ep'       # each wanted capability, effective and permitted


def bad_group(name):
    """Why ``name`` is refused as the group's name, or None."""
    if not GROUP_RE.match(name or ''):
        return ('group=%r is not a safe group name: lower-case letters, digits, _ and -, starting with a '
                'letter or _, at most 32 characters' % (name or '')[:40])
    return None


def bad_user(name):
    """Why ``name`` is refused as a member's name, or None."""
    if not USER_RE.match(name or '') or (name or '').isdigit():
        return ('members: %r is not a safe user name: letters, digits, _ . and -, not starting with - and '
                'not all digits, at most 32 characters' % (name or '')[:40])
    return None


def bad_dir(path):
    """Why ``path`` is refused as the group's directory, or None. It is removed with state=absent,
    so it must be absolute, normalised and at least two levels deep (never / or /opt)."""
    path = path or ''
    if not path.startswith('/') or path != '/' + '/'.join(p for p in path.split('/') if p) \
            or '/./' in path + '/' or '/../' in path + '/':
        return 'dir=%r must be an absolute, normalised path (no trailing /, . or ..)' % path[:80]
    if path.count('/') < 2:
        return 'dir=%r is too close to / (the directory is removed with state=absent): use e.g. /opt/perf_users' % path
    return None


_CLAUSE = re.compile(r'^([a-z0-9_,]*)((?:[=+-][eip]*)+)$')


def parse_getcap(text, path):
    """getcap's output for ``path`` as [(name, '=FLAGS')], e.g. [('cap_perfmon', '=ep')], in the
    order getcap names them. getcap prints a sequence of clauses applied in turn (libcap's
    cap_to_text, e.g. ``cap_perfmon=eip cap_syslog+ep`` where the second adds to nothing): each is
    evaluated, so the result is each capability's effective set of flags. Handles
    ``PATH CAPS`` (libcap 2.41+) and ``PATH = CAPS`` (older); '' or ``PATH`` alone is none."""
    line = (text or '').strip()
    if line.startswith(path):
        line = line[len(path):].strip()
    if line.startswith('= ') or line == '=':
        line = line[1:].strip()
    flags, order = {}, []
    for clause in line.lower().split():
        m = _CLAUSE.match(clause)
        if not m:
            continue
        names = m.group(1).split(',') if m.group(1) else ['all']
        for op, fl in re.findall(r'([=+-])([eip]*)', m.group(2)):
            for name in names:
                if name not in flags:
                    flags[name] = set()
                    order.append(name)
                if op == '=':
                    flags[name] = set(fl)
                elif op == '+':
                    flags[name] |= set(fl)
                else:
                    flags[name] -= set(fl)
    return [(n, '=' + ''.join(f for f in 'eip' if f in flags[n])) for n in order if flags[n]]


def caps_text(caps):
    """[(name, action)] as setcap takes it (one clause each), '' for none."""
    return ' '.join(name + action for name, action in caps)


def caps_display(caps):
    """[(name, action)] in getcap's style, names sorted within each action
    (``cap_perfmon,cap_sys_ptrace,cap_syslog=ep``), '' for none."""
    by_action = {}
    for name, action in caps:
        by_action.setdefault(action, set()).add(name)
    return ' '.join(','.join(sorted(names)) + action for action, names in sorted(by_action.items()))


def desired_caps(current, wanted, remove):
    """The binary's capabilities once the role's rules are applied to ``current`` (as
    community.general.capabilities did them, task by task): each wanted name set to exactly
    ``=ep`` (replacing other flags of that name), each ``remove`` name dropped, every other
    capability on the file kept."""
    managed = set(wanted) | set(remove)
    keep = [(n, a) for n, a in current if n not in managed]
    seen = []
    for n in wanted:
        if n not in seen:
            seen.append(n)
    return keep + [(n, WANTED_ACTION) for n in seen]


def same_caps(a, b):
    return sorted(set(a)) == sorted(set(b))


def sha256(path, bufsize=1 << 20):
    """Hex sha256 of a file's content, or None when it does not exist."""
    h = hashlib.sha256()
    try:
        with open(path, 'rb') as f:
            while True:
                chunk = f.read(bufsize)
                if not chunk:
                    break
                h.update(chunk)
    except (IOError, OSError):
        return None
    return h.hexdigest()
