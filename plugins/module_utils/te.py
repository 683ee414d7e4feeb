# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compile a type-enforcement (.te) module with the real checkmodule + semodule_package
in a private (0700) temporary directory. Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import os
import re
import shutil
import stat
import tempfile

# The .te parsers read text the way checkpolicy's lexer does: lines end at '\n' only, and
# only ASCII blanks separate tokens (checkpolicy: ' ', '\t', '\f'; '\r' is taken too so a
# CRLF file gets checkmodule's own message). Never str.splitlines() or \s, which also take
# '\v', '\x1c'-'\x1e', '\x85', U+2028 or NBSP. Every scan is linear in the text's length.
BLANKS = ' \t\f\r'
_LINE_START_RE = re.compile(r'[ \t\f\r]*((?:policy_)?module|class)(?=[ \t\f\r\n])')
_SPACE_RE = re.compile(r'[ \t\f\r\n]*')
_MODULE_NAME_RE = re.compile(r'[A-Za-z][A-Za-z0-9_-]*')
_IDENT_RE = re.compile(r'[A-Za-z0-9_.-]+')
CLASS_NAME_RE = re.compile(r'[a-z][a-z0-9_]*\Z')
# a module file given as src: a regular file, and no bigger than this
MAX_SOURCE_BYTES = 64 * 1024 * 1024


class CompileError(Exception):
    def __init__(self, msg, stderr=''):
        super(CompileError, self).__init__(msg)
        self.msg = msg
        self.stderr = stderr


class SourceError(Exception):
    """A module file given as src cannot be used; ``msg`` says why (never its content)."""

    def __init__(self, msg):
        super(SourceError, self).__init__(msg)
        self.msg = msg


def _statements(text, keyword):
    """The offset just after ``keyword`` on every line that starts with it (after blanks),
    followed by a blank or the line end. One pass over the lines."""
    pos = 0
    n = len(text)
    while pos <= n:
        eol = text.find('\n', pos)
        if eol < 0:
            eol = n
        m = _LINE_START_RE.match(text, pos, eol + 1)
        if m and (m.group(1) == keyword or (keyword == 'module' and m.group(1) == 'policy_module')):
            yield m.end()
        pos = eol + 1


def module_decl(te_text):
    """The name of the first ``module NAME VERSION;`` statement at the start of a line, or None."""
    text = te_text or ''
    last_semicolon = text.rfind(';')
    for end in _statements(text, 'module'):
        start = _SPACE_RE.match(text, end).end()
        m = _MODULE_NAME_RE.match(text, start)
        if not m:
            continue
        after = text[m.end():m.end() + 1]
        if after == ';' or (after != '' and after in BLANKS + '\n' and last_semicolon > m.end()):
            return m.group(0)
    return None


def required_classes(te_text):
    """Class names a .te mentions in ``class X ...;`` statements (its require block), each a
    valid class name; lines that start with ``class`` followed by anything else are ignored."""
    text = te_text or ''
    found = set()
    for end in _statements(text, 'class'):
        m = _IDENT_RE.match(text, _SPACE_RE.match(text, end).end())
        if m and CLASS_NAME_RE.match(m.group(0)):
            found.add(m.group(0))
    return sorted(found)


def private_dir(prefix='perfsec-semodule-'):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o700)
    return d


def write_private(path, data):
    if not isinstance(data, bytes):
        data = data.encode('utf-8')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.chmod(path, 0o600)


def _tool(module, name, package):
    path = module.get_bin_path(name)
    if not path:
        raise CompileError('%s not found: install %s on the target' % (name, package))
    return path


def compile_te(module, te_text, name, workdir):
    """Write NAME.te in ``workdir``, build NAME.mod and NAME.pp; return the .pp path."""
    decl = module_decl(te_text)
    if decl != name:
        raise CompileError('the .te declares module %r but name is %r: they must be equal '
                           '(the .pp keeps the module statement\'s name)' % (decl, name))
    checkmodule = _tool(module, 'checkmodule', 'checkpolicy')
    semodule_package = _tool(module, 'semodule_package', 'semodule-utils (Debian) / policycoreutils (RHEL)')
    te = os.path.join(workdir, name + '.te')
    mod = os.path.join(workdir, name + '.mod')
    pp = os.path.join(workdir, name + '.pp')
    try:
        data = te_text.encode('utf-8')
    except UnicodeError:
        raise CompileError('the .te text is not valid UTF-8 (it holds an undecodable byte or a lone '
                           'surrogate): write it in UTF-8 or ASCII')
    write_private(te, data)
    old = os.umask(0o077)
    try:
        rc, out, err = module.run_command([checkmodule, '-M', '-m', '-o', mod, te], cwd=workdir)
        if rc != 0:
            raise CompileError('checkmodule could not compile %s.te: %s'
                               % (name, (err or out).strip()), stderr=err or out)
        rc, out, err = module.run_command([semodule_package, '-o', pp, '-m', mod], cwd=workdir)
        if rc != 0:
            raise CompileError('semodule_package failed for %s: %s' % (name, (err or out).strip()),
                               stderr=err or out)
    finally:
        os.umask(old)
    return pp


def _kind(mode):
    for test, kind in ((stat.S_ISLNK, 'a symlink'), (stat.S_ISDIR, 'a directory'),
                       (stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device'),
                       (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISSOCK, 'a socket')):
        if test(mode):
            return kind
    return 'not a regular file'


def read_source(path, max_bytes=MAX_SOURCE_BYTES):
    """The bytes of a module file given as src. Only a regular file is read: a symlink (even
    to a regular file), a directory, a device or a FIFO raises SourceError, so the module never
    reads, and never shows, a file other than the one named. The message never holds content."""
    refuse = ('src %s is %s: only a regular file is accepted (not a symlink, directory or device), '
              'so that no other file is read or shown; give the path of the module file itself')
    try:
        st = os.lstat(path)
    except (IOError, OSError) as e:
        if e.errno == errno.ENOENT:
            raise SourceError('src %s does not exist on the target' % path)
        raise SourceError('cannot read src %s: %s' % (path, e.strerror or e))
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(refuse % (path, _kind(st.st_mode)))
    flags = os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except (IOError, OSError) as e:
        if e.errno == errno.ELOOP:
            raise SourceError(refuse % (path, 'a symlink'))
        raise SourceError('cannot read src %s: %s' % (path, e.strerror or e))
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            raise SourceError('src %s changed while it was opened: run again' % path)
        chunks = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1024 * 1024, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise SourceError('src %s is bigger than %d MiB: not a module file'
                              % (path, max_bytes // (1024 * 1024)))
        return b''.join(chunks)
    except (IOError, OSError) as e:
        raise SourceError('cannot read src %s: %s' % (path, e.strerror or e))
    finally:
        os.close(fd)


def stage_file(src, name, workdir, data=None):
    """Copy a user-supplied .pp/.cil to WORKDIR/NAME.EXT (semodule takes the name from it).
    ``data``: its content, already read with read_source (read here otherwise)."""
    ext = os.path.splitext(src)[1]
    dest = os.path.join(workdir, name + ext)
    if data is None:
        data = read_source(src)
    write_private(dest, data)
    return dest


def cleanup(workdir):
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
