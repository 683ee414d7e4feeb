# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel command line of the boot entries, as perfsec.selinux.perf_kernel_cmdline changes it:
the distribution table (which arguments turn SELinux on, which tool writes the boot entries), the
GRUB_CMDLINE_LINUX assignments of /etc/default/grub (parsed and rewritten) and the entries of
``grubby --info=ALL``. Pure functions: the module reads the files and runs the commands.
Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C

GRUB_DEFAULT = C.GRUB_DEFAULT
OS_RELEASE = C.OS_RELEASE
ADD = 'selinux=0'
# The arguments that turn SELinux on, dropped before ADD goes on, per family. Debian's kernel has
# no selinux= parameter (CONFIG_SECURITY_SELINUX_BOOTPARAM is not set): selinux=0 is ignored
# there and SELinux is on because selinux-activate put security=selinux on the command line, so
# that goes too (as selinux-deactivate does). Fedora/EL kernels honour selinux=0.
DROP = {
    'debian': ('selinux=1', 'security=selinux'),
    'other': ('selinux=1',),
}
# How /etc/default/grub reaches the boot loader: the first of these found on PATH.
UPDATE_COMMANDS = (
    ('update-grub',),                                      # Debian, Ubuntu
    ('grub-mkconfig', '-o', '/boot/grub/grub.cfg'),        # Arch, plain grub
    ('grub2-mkconfig', '-o', '/boot/grub2/grub.cfg'),      # SUSE, EL without grubby
)
VARIABLES = ('GRUB_CMDLINE_LINUX', 'GRUB_CMDLINE_LINUX_DEFAULT')

ASSIGN_RE = re.compile(r'^(\s*(?:export\s+)?)(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*)$')
TAIL = r'(\s*(?:#.*)?)$'
VALUE_RES = (
    ('"', re.compile(r'^"([^"$`\\]*)"' + TAIL)),
    ("'", re.compile(r"^'([^']*)'" + TAIL)),
    ('', re.compile(r'^([^\s"\'$`\\;&|<>()#]*)' + TAIL)),
)
TOKEN_RE = re.compile(r'(\s*)(\S+)')


class CmdlineError(ValueError):
    """A file or an output this module cannot read safely; the message says which and why."""


def os_release(text):
    """The KEY=value pairs of an os-release text (quotes removed)."""
    out = {}
    for line in (text or '').splitlines():
        m = re.match(r'^\s*([A-Z0-9_]+)=(.*?)\s*$', line)
        if m:
            out[m.group(1)] = m.group(2).strip('"\'')
    return out


def family(os_release_text):
    """'debian' when os-release's ID or ID_LIKE names debian (Debian, Ubuntu, Mint...), else 'other'."""
    rel = os_release(os_release_text)
    ids = [rel.get('ID', '')] + rel.get('ID_LIKE', '').split()
    return 'debian' if 'debian' in ids else 'other'


def choose_method(method, have_grubby):
    """auto picks grubby where it is installed (Fedora/EL: it edits the BLS entries of every
    installed kernel, which /etc/default/grub does not reach), else /etc/default/grub."""
    if method != 'auto':
        return method
    return 'grubby' if have_grubby else 'default_grub'


def choose_update_command(found):
    """The first of UPDATE_COMMANDS whose program ``found(name)`` reports (a path, or None):
    the argv with that path first, or None."""
    for argv in UPDATE_COMMANDS:
        path = found(argv[0])
        if path:
            return [path] + list(argv[1:])
    return None


def edit_value(value, drop, add=None):
    """``value`` without the tokens of ``drop`` (each with the blanks before it) and with ``add``
    appended when it is not there; trailing blanks go when something changed."""
    out = []
    pos = 0
    for m in TOKEN_RE.finditer(value):
        if m.group(2) not in drop:
            out.append(value[pos:m.end()])
        pos = m.end()
    new = ''.join(out) + value[pos:]
    if add and add not in new.split():
        new = new.rstrip() + ' ' + add
    elif new != value:
        new = new.rstrip()
    return new


def parse_default_grub(text):
    """The GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT assignments of an /etc/default/grub
    text: a list of dicts (line index, name, value, quote, prefix, tail). Raises CmdlineError on
    a form that cannot be rewritten safely (a variable, a command substitution, an escape, a
    value running over several lines, an assignment inside a shell construct)."""
    found = []
    for i, line in enumerate(text.splitlines()):
        if line.lstrip().startswith('#') or 'GRUB_CMDLINE_LINUX' not in line:
            continue
        m = ASSIGN_RE.match(line)
        if not m:
            raise CmdlineError('line %d (%s) sets GRUB_CMDLINE_LINUX in a way this module does not '
                               'rewrite; write it as GRUB_CMDLINE_LINUX="..."' % (i + 1, line.strip()))
        for quote, value_re in VALUE_RES:
            v = value_re.match(m.group(3))
            if v:
                found.append({'line': i, 'name': m.group(2), 'value': v.group(1), 'quote': quote,
                              'prefix': m.group(1), 'tail': v.group(2)})
                break
        else:
            raise CmdlineError('line %d (%s): the value is not a plain quoted string (no $, `, \\, and '
                               'on one line); write it as %s="..."' % (i + 1, line.strip(), m.group(2)))
    return found


def render(assignment, value):
    quote = assignment['quote'] or '"'
    return '%s%s=%s%s%s%s' % (assignment['prefix'], assignment['name'], quote, value, quote, assignment['tail'])


def edit_default_grub(text, drop, add=ADD):
    """(new text, changes) for an /etc/default/grub text: ``drop`` leaves every assignment of
    GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT (the latter comes last on the linux line,
    so a selinux=1 there would win), ``add`` goes on every GRUB_CMDLINE_LINUX (the one the
    recovery entries use too); without any GRUB_CMDLINE_LINUX a line is appended. changes lists
    {name, line (1-based), before, after} for each assignment that changes."""
    lines = text.splitlines(True)
    changes = []
    assignments = parse_default_grub(text)
    for a in assignments:
        new = edit_value(a['value'], drop, add if a['name'] == 'GRUB_CMDLINE_LINUX' else None)
        if new != a['value']:
            eol = lines[a['line']][len(lines[a['line']].rstrip('\r\n')):]
            lines[a['line']] = render(a, new) + eol
            changes.append({'name': a['name'], 'line': a['line'] + 1, 'before': a['value'], 'after': new})
    if add and not any(a['name'] == 'GRUB_CMDLINE_LINUX' for a in assignments):
        if lines and not lines[-1].endswith('\n'):
            lines[-1] += '\n'
        new = edit_value('', drop, add)
        lines.append('GRUB_CMDLINE_LINUX="%s"\n' % new)
        changes.append({'name': 'GRUB_CMDLINE_LINUX', 'line': len(lines), 'before': None, 'after': new})
    return ''.join(lines), changes


def parse_grubby(text):
    """The boot entries of ``grubby --info=ALL``: a list of {index, kernel, title, args (a list)}
    in its order. Raises CmdlineError when it lists none, or an entry without args=."""
    entries = []
    for line in (text or '').splitlines():
        m = re.match(r'^(\w+)=(.*)$', line.strip())
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if key == 'index':
            entries.append({'index': value, 'kernel': None, 'title': None, 'args': None})
        elif entries and key in ('kernel', 'title'):
            entries[-1][key] = value
        elif entries and key == 'args':
            entries[-1]['args'] = value.split()
    if not entries:
        raise CmdlineError('grubby --info=ALL listed no boot entry (no index= line)')
    for e in entries:
        if e['args'] is None:
            raise CmdlineError('grubby --info=ALL gave no args= for entry %s (%s)' % (e['index'], e['kernel']))
    return entries


def grubby_plan(entries, drop, add=ADD):
    """What grubby is to do: (the arguments of ``drop`` some entry has, whether some entry lacks
    ``add``, the entries that change as {index, kernel, title, before, after})."""
    remove = [d for d in drop if any(d in e['args'] for e in entries)]
    changes = []
    for e in entries:
        after = [a for a in e['args'] if a not in drop]
        if add not in after:
            after.append(add)
        if after != e['args']:
            changes.append({'index': e['index'], 'kernel': e['kernel'], 'title': e['title'],
                            'before': ' '.join(e['args']), 'after': ' '.join(after)})
    return remove, any(add not in e['args'] for e in entries), changes


def grubby_argvs(grubby, remove, need_add, add=ADD):
    """The grubby calls, on every installed kernel: first the removal, then the addition."""
    argvs = []
    if remove:
        argvs.append([grubby, '--update-kernel=ALL', '--remove-args=%s' % ' '.join(remove)])
    if need_add:
        argvs.append([grubby, '--update-kernel=ALL', '--args=%s' % add])
    return argvs
