# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding and removing the security.selinux labels of local file systems (the rollback's last
level, once the kernel runs without SELinux). Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import os

XATTR = 'security.selinux'
# the sentence rollback_strip_labels_confirm must be, word for word
CONFIRM = 'I understand that this removes every SELinux label'
LOCAL_FSTYPES = ('ext2', 'ext3', 'ext4', 'xfs', 'btrfs')
# no label, or a file system without extended attributes: nothing to count or remove
_ABSENT = (errno.ENODATA, getattr(errno, 'ENOATTR', errno.ENODATA), errno.ENOTSUP, errno.EOPNOTSUPP)
MAX_ERRORS = 20


def _unescape(field):
    """/proc/self/mounts escapes space, tab, newline and backslash as octal (\\040)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == '\\' and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return ''.join(out)


def local_mounts(mounts_text, fstypes=LOCAL_FSTYPES):
    """Mount points of the given file system types, in /proc/self/mounts order, each once."""
    seen = []
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] in fstypes:
            target = _unescape(fields[1])
            if target not in seen:
                seen.append(target)
    return seen


class Tally(object):
    def __init__(self):
        self.labelled = 0
        self.removed = 0
        self.errors = []
        self.error_count = 0

    def error(self, path, exc):
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append('%s: %s' % (path, exc.strerror or exc))


def _visit(path, strip, tally):
    try:
        os.getxattr(path, XATTR, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _ABSENT and exc.errno != errno.ENOENT:
            tally.error(path, exc)
        return
    tally.labelled += 1
    if strip:
        try:
            os.removexattr(path, XATTR, follow_symlinks=False)
            tally.removed += 1
        except OSError as exc:
            tally.error(path, exc)


def walk(top, strip, tally):
    """Every path of top's file system (as find -xdev: other mounts are not entered), counted in
    tally when it has the label; with strip, the label removed."""
    try:
        dev = os.lstat(top).st_dev
    except OSError as exc:
        tally.error(top, exc)
        return
    stack = [top]
    while stack:
        directory = stack.pop()
        _visit(directory, strip, tally)
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            tally.error(directory, exc)
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.stat(follow_symlinks=False).st_dev == dev:
                        stack.append(entry.path)
                    continue
            except OSError as exc:
                tally.error(entry.path, exc)
                continue
            _visit(entry.path, strip, tally)
