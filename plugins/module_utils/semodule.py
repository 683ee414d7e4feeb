# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SELinux module store operations through the real ``semodule`` tool.

Every function takes an AnsibleModule (``module.run_command`` / ``module.get_bin_path``)
and an optional alternate policy root (``semodule -p ROOT``) and store name
(``semodule -s NAME``), so unit tests can work on a throwaway store.

Facts this relies on (docs/design.md section 3):
- ``semodule -lfull -m`` prints ``PRIO NAME LANG [disabled] sha256:HEX`` (libsemanage >= 3.4);
  the checksum is the sha256 of the module's CIL, i.e. of ``/usr/libexec/selinux/hll/pp < m.pp``.
- A repeated identical ``semodule -i`` is not a no-op (full rebuild): compare content first.
- ``-d``/``-e`` act on the module name at every priority; ``-r`` needs ``-X``.
- Never pass ``-v``: it turns tolerated warnings on Debian's policy into failures.
Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import os
import re
import shutil
import tempfile

# \Z, not $: '$' also matches before a trailing newline ("name\n" would pass)
MODULE_NAME_RE = re.compile(r'[a-zA-Z][a-zA-Z0-9_-]*\Z')
# module names longer than this are refused (NAME.te/.mod/.pp and the store's paths must fit
# in NAME_MAX; distribution modules are far shorter)
MAX_NAME_LEN = 128
HLL_PP = '/usr/libexec/selinux/hll/pp'
SHA256_RE = re.compile(r'(?:sha256:)?([0-9a-f]{64})\Z')
# modules installed below this priority come from the distribution's policy packages (100)
DISTRIBUTION_PRIORITY_MAX = 199


class SemoduleError(Exception):
    """A semodule/store operation failed; ``str(exc)`` says what to do next."""

    def __init__(self, msg, rc=None, stdout='', stderr='', cmd=None):
        super(SemoduleError, self).__init__(msg)
        self.msg = msg
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.cmd = cmd


def valid_name(name):
    if not isinstance(name, str) or len(name) > MAX_NAME_LEN:
        return False
    return bool(MODULE_NAME_RE.match(name))


def valid_priority(priority):
    """An int 1..999, and not a bool (True is an int to Python, and would run ``-X True``)."""
    return isinstance(priority, int) and not isinstance(priority, bool) and 1 <= priority <= 999


def _check_priority(priority):
    if not valid_priority(priority):
        raise SemoduleError('invalid module priority %r: use an integer from 1 to 999' % (priority,))


def distribution_entries(modules, name):
    """The entries of ``name`` installed at a distribution priority (below 200, e.g. 100)."""
    return [m for m in modules if m['name'] == name and m['priority'] <= DISTRIBUTION_PRIORITY_MAX]


def semodule_bin(module):
    path = module.get_bin_path('semodule')
    if not path:
        raise SemoduleError('semodule not found: install policycoreutils '
                            '(Debian/Ubuntu) or policycoreutils (RHEL/Fedora) on the target')
    return path


def base_argv(module, root=None, store=None):
    argv = [semodule_bin(module)]
    if root:
        argv += ['-p', root]
    if store:
        argv += ['-s', store]
    return argv


def _root_path(root, *parts):
    return os.path.join(root or '/', *parts)


def store_name(root=None, store=None):
    """The store to operate on: ``store`` or SELINUXTYPE from ROOT/etc/selinux/config."""
    if store:
        return store
    try:
        with open(_root_path(root, 'etc/selinux/config')) as f:
            for line in f:
                m = re.match(r'^\s*SELINUXTYPE\s*=\s*(\S+)', line)
                if m:
                    return m.group(1).strip('"\'')
    except (IOError, OSError):
        pass
    return None


def store_dir(root=None, store=None):
    name = store_name(root, store)
    if not name:
        return None
    return _root_path(root, 'var/lib/selinux', name)


def commit_num(root=None, store=None):
    """The store's commit counter (``active/commit_num``), or None when unreadable.

    libsemanage writes it as a NUL-padded decimal string; very old versions wrote a raw int.
    """
    d = store_dir(root, store)
    if not d:
        return None
    try:
        with open(os.path.join(d, 'active', 'commit_num'), 'rb') as f:
            data = f.read()
    except (IOError, OSError):
        return None
    text = data.split(b'\0', 1)[0].strip()
    if text.isdigit():
        return int(text)
    if len(data) >= 4:
        import struct
        return struct.unpack('=i', data[:4])[0]
    return None


def parse_list_full(text):
    """Parse ``semodule -lfull [-m]`` output into a list of dicts."""
    mods = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        entry = {'name': fields[1], 'priority': int(fields[0]), 'lang': fields[2],
                 'enabled': True, 'checksum': None}
        for extra in fields[3:]:
            if extra == 'disabled':
                entry['enabled'] = False
            else:
                m = SHA256_RE.match(extra)
                if m:
                    entry['checksum'] = m.group(1)
        mods.append(entry)
    return mods


def run(module, argv, check_rc=True, cwd=None):
    kwargs = {}
    if cwd:
        kwargs['cwd'] = cwd
    rc, out, err = module.run_command(argv, **kwargs)
    if check_rc and rc != 0:
        raise SemoduleError('%s failed (rc=%s): %s' % (' '.join(argv), rc, (err or out).strip()),
                            rc=rc, stdout=out, stderr=err, cmd=argv)
    return rc, out, err


def list_modules(module, root=None, store=None):
    """All modules in the store: [{name, priority, enabled, checksum, lang}].

    Uses ``semodule -lfull -m`` (checksums, libsemanage >= 3.4); falls back to
    ``semodule -lfull`` with ``checksum`` None on older tools.
    """
    argv = base_argv(module, root, store)
    rc, out, err = module.run_command(argv + ['-lfull', '-m'])
    if rc == 0:
        return parse_list_full(out)
    rc, out2, err2 = run(module, argv + ['-lfull'])
    return parse_list_full(out2)


def list_host_modules(module, root=None):
    """list_modules() of the host's store, or, for an alternate ``root`` (tests, images), of
    ROOT's store named by its SELINUXTYPE. perf_mac_facts and perf_boot read the store this way."""
    if root and root != '/':
        return list_modules(module, root=root, store=store_name(root))
    return list_modules(module)


def find_module(modules, name, priority=None):
    """The entry for ``name`` at ``priority`` (or the highest one when priority is None)."""
    cands = [m for m in modules if m['name'] == name and
             (priority is None or m['priority'] == priority)]
    if not cands:
        return None
    return sorted(cands, key=lambda m: m['priority'])[-1]


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def pp_to_cil(module, pp_path):
    """The CIL text of a .pp, via libsemanage's own converter (what the store keeps)."""
    conv = HLL_PP if os.access(HLL_PP, os.X_OK) else None
    if not conv:
        raise SemoduleError('%s not found: install policycoreutils to convert .pp modules' % HLL_PP)
    with open(pp_path, 'rb') as f:
        data = f.read()
    rc, out, err = module.run_command([conv], data=data, binary_data=True, encoding=None)
    if rc != 0:
        raise SemoduleError('%s could not convert %s: %s' % (conv, pp_path, _text(err).strip()),
                            rc=rc, stderr=_text(err))
    return out


def _text(data):
    if isinstance(data, bytes):
        return data.decode('utf-8', 'replace')
    return data or ''


def _bytes(data):
    if isinstance(data, bytes):
        return data
    return (data or '').encode('utf-8')


def file_checksum(module, path):
    """The checksum ``semodule -lfull -m`` would show for this module file."""
    if path.endswith('.pp'):
        return sha256_bytes(_bytes(pp_to_cil(module, path)))
    with open(path, 'rb') as f:
        return sha256_bytes(f.read())


# CIL statement keywords (libsepol cil.c cil_init_keys): the first symbol of a top-level list
CIL_STATEMENTS = frozenset((
    'allow', 'allowx', 'auditallow', 'auditallowx', 'block', 'blockabstract', 'blockinherit',
    'boolean', 'booleanif', 'call', 'category', 'categoryalias', 'categoryaliasactual',
    'categoryorder', 'categoryset', 'class', 'classcommon', 'classmap', 'classmapping',
    'classorder', 'classpermission', 'classpermissionset', 'common', 'constrain', 'context',
    'defaultrange', 'defaultrole', 'defaulttype', 'defaultuser', 'deny', 'devicetreecon',
    'dontaudit', 'dontauditx', 'expandtypeattribute', 'filecon', 'fsuse', 'genfscon',
    'handleunknown', 'ibendportcon', 'ibpkeycon', 'in', 'iomemcon', 'ioportcon', 'ipaddr',
    'level', 'levelrange', 'macro', 'mls', 'mlsconstrain', 'mlsvalidatetrans', 'netifcon',
    'neverallow', 'neverallowx', 'neveraudit', 'nodecon', 'optional', 'pcidevicecon', 'permissionx',
    'pirqcon', 'policycap', 'portcon', 'rangetransition', 'role', 'roleallow', 'roleattribute',
    'roleattributeset', 'rolebounds', 'roletransition', 'roletype', 'selinuxuser',
    'selinuxuserdefault', 'sensitivity', 'sensitivityalias', 'sensitivityaliasactual',
    'sensitivitycategory', 'sensitivityorder', 'sid', 'sidcontext', 'sidorder', 'tunable',
    'tunableif', 'type', 'typealias', 'typealiasactual', 'typeattribute', 'typeattributeset',
    'typebounds', 'typechange', 'typemember', 'typepermissive', 'typetransition', 'user',
    'userattribute', 'userattributeset', 'userbounds', 'userlevel', 'userprefix', 'userrange',
    'userrole', 'validatetrans'))
# the tokens of libsepol's CIL lexer (cil_lexer.l); any other character is an error there too
_CIL_TOKEN_RE = re.compile(r'(?P<open>\()|(?P<close>\))|(?P<blank>[ \t]+)|(?P<nl>[\n\r])'
                           r'|(?P<comment>;[^\n\r]*)|(?P<qstring>"[^"\n]*")'
                           r"|(?P<symbol>[A-Za-z0-9\[\].@=/*_$%+!|&^:~`#{}'<>?,-]+)")


def _cil_scan(text):
    """(statements, lines) of a CIL text: its top-level statements and its non-empty lines,
    each normalised (``(allow a b (c (d)))``, blanks collapsed, comments dropped). Raises
    ValueError when the text is not CIL: a character the CIL lexer refuses, a symbol or
    string outside parentheses, unbalanced parentheses, or a statement whose keyword CIL does
    not have. The error names a line number only, never the text (a file that is not CIL may
    be a secret). Linear, no recursion."""
    text = text or ''
    statements = []
    lines = []
    cur = []
    on_line = []
    depth = 0
    line = 1
    pos = 0
    n = len(text)
    while pos < n:
        m = _CIL_TOKEN_RE.match(text, pos)
        if not m:
            raise ValueError('line %d: a character CIL does not allow' % line)
        pos = m.end()
        kind = m.lastgroup
        tok = m.group(0)
        if kind == 'nl':
            if on_line:
                lines.append(_cil_join(on_line))
                on_line = []
            line += 1
            continue
        if kind in ('blank', 'comment'):
            continue
        if kind == 'open':
            if depth == 0:
                cur = []
            elif depth == 1 and len(cur) == 1:
                raise ValueError('line %d: a statement must start with a keyword' % line)
            depth += 1
        elif kind == 'close':
            if depth == 0:
                raise ValueError('line %d: unbalanced ")"' % line)
            if depth == 1 and len(cur) == 1:
                raise ValueError('line %d: an empty statement' % line)
            depth -= 1
        else:
            if depth == 0:
                raise ValueError('line %d: text outside parentheses' % line)
            if depth == 1 and len(cur) == 1 and (kind != 'symbol' or tok not in CIL_STATEMENTS):
                raise ValueError('line %d: not a CIL statement keyword' % line)
        cur.append(tok)
        on_line.append(tok)
        if kind == 'close' and depth == 0:
            statements.append(_cil_join(cur))
    if depth:
        raise ValueError('line %d: %d unclosed "("' % (line, depth))
    if on_line:
        lines.append(_cil_join(on_line))
    return statements, lines


def cil_statements(text):
    """The top-level statements of a CIL text, normalised; ValueError when it is not CIL."""
    return _cil_scan(text)[0]


def cil_lines(text):
    """The non-empty lines of a CIL text, normalised, comments dropped; ValueError when it
    is not CIL (see _cil_scan). For the CIL libsemanage writes, one rule per line."""
    return _cil_scan(text)[1]


def _cil_join(tokens):
    parts = []
    prev = '('
    for tok in tokens:
        if tok != ')' and prev != '(':
            parts.append(' ')
        parts.append(tok)
        prev = tok
    return ''.join(parts)


def extract_cil(module, name, priority, root=None, store=None):
    """CIL text of the installed module ``name`` at ``priority`` (``semodule -E --cil``)."""
    _check_priority(priority)
    tmp = tempfile.mkdtemp(prefix='perfsec-extract-')
    try:
        os.chmod(tmp, 0o700)
        argv = base_argv(module, root, store) + ['-X', str(priority), '--cil', '-E', name]
        run(module, argv, cwd=tmp)
        path = os.path.join(tmp, name + '.cil')
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def installed_checksum(module, entry, root=None, store=None):
    """Checksum of an installed module entry, extracting it when the tools give none."""
    if entry.get('checksum'):
        return entry['checksum']
    cil = extract_cil(module, entry['name'], entry['priority'], root, store)
    return sha256_bytes(_bytes(cil))


def transaction(module, ops, root=None, store=None, priority=None, noreload=False):
    """Run one semodule transaction. ``ops`` is a list of argv fragments, e.g.
    [['-i', '/tmp/x/m.pp'], ['-e', 'm']]. Returns (rc, out, err)."""
    if priority is not None:
        _check_priority(priority)
    argv = base_argv(module, root, store)
    if noreload:
        argv.append('-N')
    if priority is not None:
        argv += ['-X', str(priority)]
    for op in ops:
        argv += list(op)
    return run(module, argv)


def install(module, path, name, priority, enabled=True, root=None, store=None, noreload=False):
    op = ['-e', name] if enabled else ['-d', name]
    return transaction(module, [['-i', path], op], root, store, priority, noreload)


def remove(module, name, priority, root=None, store=None, noreload=False):
    return transaction(module, [['-r', name]], root, store, priority, noreload)


def set_enabled(module, name, enabled, root=None, store=None, noreload=False):
    return transaction(module, [['-e' if enabled else '-d', name]], root, store, None, noreload)
