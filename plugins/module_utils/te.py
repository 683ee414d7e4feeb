# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compile a type-enforcement (.te) module with the real checkmodule + semodule_package
in a private (0700) temporary directory. Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re
import shutil
import tempfile

MODULE_DECL_RE = re.compile(r'^\s*(?:policy_)?module\s+([A-Za-z][A-Za-z0-9_-]*)\s*(?:\s[^;]*)?;', re.M)
REQUIRE_CLASS_RE = re.compile(r'^\s*class\s+([a-z][a-z0-9_]*)\b', re.M)


class CompileError(Exception):
    def __init__(self, msg, stderr=''):
        super(CompileError, self).__init__(msg)
        self.msg = msg
        self.stderr = stderr


def module_decl(te_text):
    m = MODULE_DECL_RE.search(te_text or '')
    return m.group(1) if m else None


def required_classes(te_text):
    """Class names a .te mentions in ``class X ...;`` statements (its require block)."""
    return sorted(set(REQUIRE_CLASS_RE.findall(te_text or '')))


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
    write_private(te, te_text)
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


def stage_file(src, name, workdir):
    """Copy a user-supplied .pp/.cil to WORKDIR/NAME.EXT (semodule takes the name from it)."""
    ext = os.path.splitext(src)[1]
    dest = os.path.join(workdir, name + ext)
    with open(src, 'rb') as f:
        write_private(dest, f.read())
    return dest


def cleanup(workdir):
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
