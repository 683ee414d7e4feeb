# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small shared readers used by every perfsec.selinux module.

Everything here takes an optional root (``proc_root``, ``sys_root``, ``root``) so the
unit tests can point it at fixture trees. Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re
import tempfile

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
PROC_ROOT = C.PROC_ROOT
SELINUXFS = C.SELINUXFS

SYSCTL_NAME_RE = re.compile(r'^[a-z0-9_]+(\.[a-z0-9_]+)+$')


def read_text(path, default=None):
    """Return the stripped content of a small text file, or ``default`` when unreadable."""
    try:
        with open(path, 'r') as f:
            return f.read().strip()
    except (IOError, OSError):
        return default


def read_int(path, default=None):
    value = read_text(path)
    if value is None:
        return default
    try:
        return int(value.split()[0])
    except (ValueError, IndexError):
        return default


def sysctl_path(name, proc_root=PROC_ROOT):
    """Path under /proc/sys for a dotted sysctl name; raises ValueError on a bad name."""
    if not SYSCTL_NAME_RE.match(name or ''):
        raise ValueError('invalid sysctl name %r' % (name,))
    return os.path.join(proc_root, 'sys', *name.split('.'))


def read_sysctl(name, proc_root=PROC_ROOT, default=None):
    """Integer value of a sysctl (first field), or ``default`` when absent/unreadable."""
    return read_int(sysctl_path(name, proc_root), default)


def in_container(proc_root=PROC_ROOT, root='/'):
    """Best-effort container detection (systemd's and podman/docker's markers)."""
    if os.path.exists(os.path.join(root, 'run/.containerenv')) or \
            os.path.exists(os.path.join(root, '.dockerenv')):
        return True
    env = read_text(os.path.join(proc_root, '1/environ'), '') or ''
    if 'container=' in env.replace('\0', '\n'):
        return True
    return read_text(os.path.join(root, 'run/systemd/container')) is not None


def kernel_version(proc_root=PROC_ROOT):
    """(major, minor) of the running kernel, or None."""
    rel = read_text(os.path.join(proc_root, 'sys/kernel/osrelease'))
    m = re.match(r'^(\d+)\.(\d+)', rel or '')
    return (int(m.group(1)), int(m.group(2))) if m else None


def file_capabilities(module, path):
    """File capabilities of ``path`` as getcap prints them (e.g. 'cap_perfmon,cap_syslog=ep').

    Returns '' when the file carries none and None when getcap is not installed.
    """
    getcap = module.get_bin_path('getcap')
    if not getcap or not os.path.exists(path):
        return None
    rc, out, err = module.run_command([getcap, path])
    if rc != 0:
        return None
    # getcap prints "PATH CAPS" (libcap >= 2.41) or "PATH = CAPS" (older)
    line = out.strip()
    if not line:
        return ''
    rest = line[len(path):].strip() if line.startswith(path) else line.split(None, 1)[-1]
    if rest.startswith('='):
        rest = rest[1:].strip()
    return rest


def atomic_write(module, path, text, mode=None):
    """Write ``text`` (UTF-8) to ``path`` through a temp file and module.atomic_move.

    An existing file keeps its mode, owner and SELinux context (atomic_move's doing); ``mode``,
    when given, is set on the result. Missing parent directories are created (0755).
    """
    dirname = os.path.dirname(path)
    if not os.path.isdir(dirname):
        os.makedirs(dirname, 0o755)
    fd, tmp = tempfile.mkstemp(prefix='.perfsec-', dir=dirname)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(text.encode('utf-8'))
    except Exception:
        os.unlink(tmp)
        raise
    module.atomic_move(tmp, path)
    if mode is not None:
        os.chmod(path, mode)


def rooted(root, path):
    """``path`` (absolute, as the host sees it) under the alternate root ``root`` (None, '' or
    '/': the host itself). The one helper for paths under an alternate root."""
    if not root or root == '/':
        return path
    return os.path.join(root, path.lstrip('/'))
