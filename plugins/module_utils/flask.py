# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Structural parser/editor for the SELinux flask definitions of a policy source tree.

A refpolicy or Fedora ``selinux-policy`` source tree declares its object classes in
``policy/flask/security_classes`` (``class NAME`` lines) and their permissions in
``policy/flask/access_vectors`` (``common NAME { perm ... }`` and
``class NAME [inherits COMMON] [{ perm ... }]`` blocks). This module parses both files
into blocks that remember their line numbers, so it can add permissions and classes by
inserting lines (every other byte, comments included, stays as it was) and produce the
equivalent unified diff. It never calls ``patch``.

Python 3.6 compatible; no third-party imports.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import difflib
import io
import os
import re

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C

FLASK_DIR = os.path.join('policy', 'flask')
SECURITY_CLASSES = os.path.join(FLASK_DIR, 'security_classes')
ACCESS_VECTORS = os.path.join(FLASK_DIR, 'access_vectors')

IDENT_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z')
# checkpolicy's lexer (policy_scan.l): lines end at '\n' only, '#' comments run to the end of
# the line, and only space, tab and form feed are white space ([ \t\f]+). Python's \s and
# splitlines() also take \v, \x1c-\x1e, \x85, U+2028 or NBSP for white space or line breaks,
# so neither is used here.
TOKEN_RE = re.compile(r'[{}]|[^ \t\f{}#]+')
# Outside comments checkpolicy accepts printable ASCII and [ \t\f]; anything else is an
# "unrecognized character". A trailing '\r' (CRLF files) is taken as part of the line end.
CODE_OK_RE = re.compile(r'[^\x21-\x7e \t\f]')
# Real flask files are 10-100 KB; anything much bigger is not one (and would make a huge diff).
MAX_FLASK_BYTES = 4 * 1024 * 1024

# What perf_event_open() MAC needs (the seed's patch): capability2 perfmon after audit_read,
# and class perf_event with its six permissions (kernel order, security/selinux/include/classmap.h).
PERF_EVENT_PERMS = C.PERF_EVENT_PERMS
PERFMON_REQUEST = ('capability2', 'perfmon', 'audit_read')
PERF_EVENT_REQUEST = ('perf_event', PERF_EVENT_PERMS)


class FlaskError(Exception):
    """A flask file that cannot be parsed or edited; ``str()`` names file and line."""

    def __init__(self, message, path=None, lineno=None):
        self.message = message
        self.path = path
        self.lineno = lineno
        where = ''
        if path and lineno:
            where = '%s:%d: ' % (path, lineno)
        elif path:
            where = '%s: ' % path
        super(FlaskError, self).__init__(where + message)


def _read(path):
    try:
        with io.open(path, 'rb') as f:
            data = f.read(MAX_FLASK_BYTES + 1)
    except (IOError, OSError) as e:
        raise FlaskError('cannot read file: %s' % (e.strerror or e), path)
    if len(data) > MAX_FLASK_BYTES:
        raise FlaskError('file is larger than %d MiB: the flask files of a policy source tree are '
                         'about 100 KB, so this is not one (check path)'
                         % (MAX_FLASK_BYTES // (1024 * 1024)), path)
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise FlaskError('not a text file (%s)' % e, path)


def split_lines(text):
    """``text`` cut after every '\\n' (and only there), line ends kept, as checkpolicy reads it."""
    lines = text.split('\n')
    out = [line + '\n' for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _code(line):
    """The part of ``line`` checkpolicy tokenizes: before '#', without the line end."""
    if line.endswith('\n'):
        line = line[:-1]
    if line.endswith('\r'):
        line = line[:-1]
    return line.split('#', 1)[0]


def _tokens(lines, path=None):
    """Yield (token, line_index, start_col, end_col); '#' starts a comment to end of line.

    A character checkpolicy does not accept outside a comment (a control character other
    than tab and form feed, or any non-ASCII character such as NBSP or U+2028, which Python
    but not checkpolicy takes for white space) is refused with FlaskError.
    """
    for idx, line in enumerate(lines):
        code = _code(line)
        bad = CODE_OK_RE.search(code)
        if bad:
            raise FlaskError('unexpected character U+%04X outside a comment (checkpolicy only '
                             'accepts printable ASCII there, and only space, tab and form feed '
                             'as white space)' % ord(bad.group(0)), path, idx + 1)
        for m in TOKEN_RE.finditer(code):
            yield m.group(0), idx, m.start(), m.end()


class Perm(object):
    def __init__(self, name, line):
        self.name = name
        self.line = line            # 0-based line index


class Block(object):
    """One ``common`` or ``class`` declaration in access_vectors."""

    def __init__(self, kind, name, line):
        self.kind = kind            # 'common' or 'class'
        self.name = name
        self.line = line            # line index of the keyword
        self.inherits = None
        self.perms = []             # [Perm]
        self.has_block = False
        self.open_line = None       # line index of '{'
        self.close_line = None      # line index of '}'
        self.close_col = None
        self.end_line = line        # last line belonging to the declaration

    def perm_names(self):
        return [p.name for p in self.perms]


class AccessVectors(object):
    def __init__(self, path, text):
        self.path = path
        self.text = text
        self.lines = split_lines(text)
        self.commons = {}
        self.classes = {}
        self.order = []             # class names in file order
        self.blocks = []
        self._parse()

    def _err(self, msg, idx):
        raise FlaskError(msg, self.path, idx + 1 if idx is not None else None)

    def _parse(self):
        toks = list(_tokens(self.lines, self.path))
        i = 0
        n = len(toks)
        seen_class = False
        while i < n:
            tok, idx, _s, _e = toks[i]
            if tok not in ('common', 'class'):
                self._err("expected 'common' or 'class', found %r" % tok, idx)
            if tok == 'common' and seen_class:
                self._err("'common %s' after the first class definition (commons must come first)"
                          % (toks[i + 1][0] if i + 1 < n else ''), idx)
            if i + 1 >= n:
                self._err("'%s' without a name at end of file" % tok, idx)
            name, nidx = toks[i + 1][0], toks[i + 1][1]
            if not IDENT_RE.match(name):
                self._err('invalid %s name %r' % (tok, name), nidx)
            block = Block(tok, name, idx)
            block.end_line = nidx
            i += 2
            if tok == 'class':
                seen_class = True
                if i < n and toks[i][0] == 'inherits':
                    if i + 1 >= n:
                        self._err("'inherits' without a common name", toks[i][1])
                    cname, cidx = toks[i + 1][0], toks[i + 1][1]
                    if cname not in self.commons:
                        self._err('class %s inherits undefined common %r' % (name, cname), cidx)
                    block.inherits = cname
                    block.end_line = cidx
                    i += 2
            if i < n and toks[i][0] == '{':
                block.has_block = True
                block.open_line = toks[i][1]
                i += 1
                seen = set()
                while True:
                    if i >= n:
                        self._err("unterminated '{' of %s %s (no closing '}')" % (tok, name),
                                  block.open_line)
                    ptok, pidx, pstart, _pe = toks[i]
                    if ptok == '}':
                        block.close_line = pidx
                        block.close_col = pstart
                        block.end_line = pidx
                        i += 1
                        break
                    if not IDENT_RE.match(ptok):
                        self._err('invalid permission name %r in %s %s' % (ptok, tok, name), pidx)
                    if ptok in seen:
                        self._err('duplicate permission %r in %s %s' % (ptok, tok, name), pidx)
                    seen.add(ptok)
                    block.perms.append(Perm(ptok, pidx))
                    i += 1
                if not block.perms:
                    self._err('empty permission list in %s %s' % (tok, name), block.open_line)
            elif tok == 'common':
                self._err("common %s has no '{ ... }' permission list" % name, idx)
            elif block.inherits is None:
                self._err("class %s has neither 'inherits' nor a '{ ... }' permission list" % name, idx)
            if tok == 'common':
                if name in self.commons:
                    self._err('duplicate common %r' % name, idx)
                self.commons[name] = block
            else:
                if name in self.classes:
                    self._err('duplicate access vector definition for class %r' % name, idx)
                self.classes[name] = block
                self.order.append(name)
            self.blocks.append(block)
        if not self.classes:
            raise FlaskError('no class definitions found (is this an access_vectors file?)', self.path)

    def all_perms(self, cls):
        block = self.classes[cls]
        names = list(block.perm_names())
        if block.inherits:
            names = self.commons[block.inherits].perm_names() + names
        return names


class SecurityClasses(object):
    def __init__(self, path, text):
        self.path = path
        self.text = text
        self.lines = split_lines(text)
        self.order = []
        self.line_of = {}
        toks = list(_tokens(self.lines, path))
        i = 0
        while i < len(toks):
            tok, idx, _s, _e = toks[i]
            if tok != 'class':
                raise FlaskError("expected 'class NAME', found %r" % tok, path, idx + 1)
            if i + 1 >= len(toks) or toks[i + 1][1] != idx:
                raise FlaskError("'class' without a name", path, idx + 1)
            name = toks[i + 1][0]
            if not IDENT_RE.match(name):
                raise FlaskError('invalid class name %r' % name, path, idx + 1)
            if name in self.line_of:
                raise FlaskError('duplicate class %r (first declared on line %d)'
                                 % (name, self.line_of[name] + 1), path, idx + 1)
            if i + 2 < len(toks) and toks[i + 2][1] == idx:
                raise FlaskError('unexpected %r after class %s' % (toks[i + 2][0], name), path, idx + 1)
            self.order.append(name)
            self.line_of[name] = idx
            i += 2
        if not self.order:
            raise FlaskError('no class declarations found (is this a security_classes file?)', path)


def _indent_of(line, default='\t'):
    m = re.match(r'^([ \t]*)\S', line)
    return m.group(1) if m and m.group(1) else default


def _eol(lines):
    for line in lines:
        if line.endswith('\r\n'):
            return '\r\n'
        if line.endswith('\n'):
            return '\n'
    return '\n'


class _Editor(object):
    """Collects line insertions against the original line indexes, applies them once."""

    def __init__(self, lines):
        self.lines = list(lines)
        self.after = {}             # line index -> [new lines] inserted after that line
        self.inline = {}            # line index -> {column: [words]} inserted before that column
        self.eol = _eol(lines)

    def insert_after(self, idx, new_lines):
        self.after.setdefault(idx, []).extend(new_lines)

    def insert_before_col(self, idx, col, word):
        """Insert ``word`` (with spaces around it) before column ``col`` of line ``idx``."""
        self.inline.setdefault(idx, {}).setdefault(col, []).append(word)

    def _line(self, idx):
        line = self.lines[idx]
        for col in sorted(self.inline.get(idx, {}), reverse=True):
            head = line[:col].rstrip(' \t\f')
            line = head + ' ' + ' '.join(self.inline[idx][col]) + ' ' + line[col:]
        return line

    def result(self):
        out = []
        for idx in range(len(self.lines)):
            line = self._line(idx)
            if idx in self.after and not line.endswith('\n'):
                line += self.eol
            out.append(line)
            for new in self.after.get(idx, []):
                out.append(new + self.eol)
        if -1 in self.after:
            out = [n + self.eol for n in self.after[-1]] + out
        return ''.join(out)


class FlaskTree(object):
    """The two flask files of a policy source tree rooted at ``root``."""

    def __init__(self, root):
        self.root = root
        self.sc_path = os.path.join(root, SECURITY_CLASSES)
        self.av_path = os.path.join(root, ACCESS_VECTORS)
        for p in (self.sc_path, self.av_path):
            if not os.path.isfile(p):
                raise FlaskError('missing flask file (is %s the root of a prepared policy source '
                                 'tree, e.g. rpmbuild/BUILD/selinux-policy-*?)' % root, p)
        self.sc = SecurityClasses(self.sc_path, _read(self.sc_path))
        self.av = AccessVectors(self.av_path, _read(self.av_path))
        for name in self.av.order:
            if name not in self.sc.line_of:
                raise FlaskError('class %s has access vectors but is not declared in %s'
                                 % (name, self.sc_path), self.av_path, self.av.classes[name].line + 1)

    # -- planning -------------------------------------------------------------------
    def plan(self, permissions=(), classes=()):
        """Work out the edits.

        ``permissions``: iterable of (class, permission, after_or_None);
        ``classes``: iterable of (class, [permissions]).
        Returns a dict: sc (new text), av (new text), added_permissions, added_classes.
        """
        sc_ed = _Editor(self.sc.lines)
        av_ed = _Editor(self.av.lines)
        added_perms = []
        added_classes = []
        pending = {}                # (kind, name) -> [perm names added] (for anchors/dupes)
        placed = {}                 # ((kind, name), perm) -> where it went (line index or None)

        def have(cls, perm):
            block = self.av.classes[cls]
            names = self.av.all_perms(cls) + pending.get(('class', cls), [])
            if block.inherits:
                names += pending.get(('common', block.inherits), [])
            return perm in names

        def add_perm(cls, perm, after):
            if not IDENT_RE.match(perm):
                raise FlaskError('invalid permission name %r requested for class %s' % (perm, cls))
            if have(cls, perm):
                return
            block = self.av.classes[cls]
            target = None
            anchor = None
            if after:
                common = self.av.commons[block.inherits] if block.inherits else None
                if after in block.perm_names() + pending.get(('class', cls), []):
                    target, anchor = block, after
                elif common and after in common.perm_names() + pending.get(('common', common.name), []):
                    target, anchor = common, after
            if target is None:
                if block.has_block:
                    target = block
                elif block.inherits:
                    target = self.av.commons[block.inherits]
            key = (target.kind, target.name)
            already = pending.setdefault(key, [])
            if anchor is None:
                anchor = already[-1] if already else (target.perm_names()[-1])
            placed[(key, perm)] = _insert_perm(av_ed, self.av.lines, target, anchor,
                                               placed.get((key, anchor)), perm)
            already.append(perm)
            added_perms.append({'class': cls, 'permission': perm,
                                'block': '%s %s' % (target.kind, target.name)})

        # classes first known to exist: requested permissions for existing classes
        new_classes = []
        for cls, perms in classes:
            if not IDENT_RE.match(cls):
                raise FlaskError('invalid class name %r requested' % (cls,))
            perms = list(perms)
            if not perms:
                raise FlaskError('class %s requested with an empty permission list' % cls)
            if cls in self.av.classes:
                if cls not in self.sc.line_of:  # pragma: no cover - refused at parse time
                    raise FlaskError('class %s not declared' % cls, self.sc_path)
                prev = None
                for perm in perms:
                    add_perm(cls, perm, prev)
                    prev = perm
            else:
                new_classes.append((cls, perms))
        for cls, perm, after in permissions:
            if cls not in self.av.classes:
                raise FlaskError('cannot add permission %s: class %s is not defined in access_vectors '
                                 '(request it as a class instead)' % (perm, cls), self.av_path)
            add_perm(cls, perm, after)

        # new classes: keep both files in the same order
        sc_last = self._sc_anchor_line()
        av_last = self.av.classes[self.av.order[-1]].end_line
        for cls, perms in new_classes:
            for perm in perms:
                if not IDENT_RE.match(perm):
                    raise FlaskError('invalid permission name %r requested for class %s' % (perm, cls))
            if len(set(perms)) != len(perms):
                raise FlaskError('duplicate permission requested for class %s' % cls)
            if cls in self.sc.line_of:
                # declared but without access vectors: define them right after the av block of
                # the nearest class declared before it in security_classes
                pos = self.sc.order.index(cls)
                prev = [c for c in self.sc.order[:pos] if c in self.av.classes]
                if not prev:
                    raise FlaskError('class %s is declared in security_classes but no earlier class has '
                                     'access vectors to place it after' % cls, self.sc_path,
                                     self.sc.line_of[cls] + 1)
                av_ed.insert_after(self.av.classes[prev[-1]].end_line, _av_block(cls, perms))
            else:
                sc_ed.insert_after(sc_last, ['', 'class %s' % cls])
                av_ed.insert_after(av_last, _av_block(cls, perms))
            added_classes.append({'class': cls, 'permissions': perms})

        return {
            'security_classes': sc_ed.result(),
            'access_vectors': av_ed.result(),
            'added_permissions': added_perms,
            'added_classes': added_classes,
        }

    def _sc_anchor_line(self):
        """Insert new class declarations after the last declared class that has access vectors."""
        for name in reversed(self.sc.order):
            if name in self.av.classes:
                return self.sc.line_of[name]
        return self.sc.line_of[self.sc.order[-1]]


def _av_block(cls, perms):
    return ['', 'class %s' % cls, '{'] + ['\t%s' % p for p in perms] + ['}']


def _insert_perm(editor, lines, block, anchor, anchor_placed, perm):
    """Insert ``perm`` after permission ``anchor`` of ``block``.

    ``anchor_placed`` is the return value of the call that added ``anchor`` when ``anchor`` was
    itself added in this run. Returns the line index the permission went after, or None when
    it was written before the closing brace.
    """
    anchor_perm = None
    for p in block.perms:
        if p.name == anchor:
            anchor_perm = p
    if anchor_perm is None:
        # anchor was added in this run: go right after it (same place, later in the list)
        if anchor_placed is not None:
            editor.insert_after(anchor_placed, [_indent_of(lines[anchor_placed]) + perm])
            return anchor_placed
        anchor_perm = None
    line = lines[anchor_perm.line] if anchor_perm else ''
    own_line = (anchor_perm is not None and anchor_perm.line != block.close_line
                and anchor_perm.line != block.open_line and len(list(_tokens([line]))) == 1)
    if own_line:
        editor.insert_after(anchor_perm.line, [_indent_of(line) + perm])
        return anchor_perm.line
    # permissions share a line with a brace or each other: add before the block's own closing
    # brace (the column found by the parser: other blocks may close on the same line)
    editor.insert_before_col(block.close_line, block.close_col, perm)
    return None


def unified_diff(before, after, relpath, label_a='a', label_b='b'):
    """A ``diff -u`` of one file as ``patch -p1`` applies it from the tree root."""
    a = split_lines(before)
    b = split_lines(after)
    if a == b:
        return ''
    for lst in (a, b):
        if lst and not lst[-1].endswith('\n'):
            lst[-1] += '\n\\ No newline at end of file\n'
    rel = relpath.replace(os.sep, '/')
    body = ''.join(difflib.unified_diff(a, b, '%s/%s' % (label_a, rel), '%s/%s' % (label_b, rel), n=3))
    return 'diff -Nura %s/%s %s/%s\n%s' % (label_a, rel, label_b, rel, body)


def request_names(option, mapping):
    """Normalise ``{class: [perm, ...] | "perm perm"}`` (module options) and validate every name.

    Raises ValueError naming ``option`` and the bad value.
    """
    out = {}
    for cls, perms in (mapping or {}).items():
        if isinstance(perms, str):
            # ASCII separators only: str.split() would also cut at NBSP, U+2028...
            perms = [x for x in re.split(r'[ \t,]+', perms) if x]
        if not isinstance(perms, (list, tuple)) or not perms:
            raise ValueError('%s: class %r needs a non-empty list of permission names' % (option, cls))
        perms = [str(p) for p in perms]
        for name in [cls] + perms:
            if not IDENT_RE.match(str(name)):
                raise ValueError('%s: %r is not a valid SELinux class/permission name '
                                 '(letters, digits, underscore)' % (option, name))
        out[str(cls)] = perms
    return out


def default_requests(perfmon=True, perf_event=True, extra_permissions=None, extra_classes=None):
    """Turn module options into (permissions, classes) for FlaskTree.plan()."""
    permissions = []
    classes = []
    if perfmon:
        permissions.append(PERFMON_REQUEST)
    if perf_event:
        classes.append((PERF_EVENT_REQUEST[0], list(PERF_EVENT_REQUEST[1])))
    for cls, perms in (extra_classes or {}).items():
        classes.append((cls, list(perms)))
    for cls, perms in (extra_permissions or {}).items():
        # chain after what was requested before for the class: capability2 extras follow perfmon
        prev = [r[1] for r in permissions if r[0] == cls]
        prev = prev[-1] if prev else None
        for perm in perms:
            permissions.append((cls, perm, prev))
            prev = perm
    return permissions, classes


def ensure(root, permissions, classes):
    """Parse the tree, plan the edits and re-parse the result (so a bad edit is never written).

    Returns a dict with before/after texts for both files, the unified diff (``patch``) and
    what was added; writes nothing.
    """
    tree = FlaskTree(root)
    plan = tree.plan(permissions, classes)
    res = {
        'added_permissions': plan['added_permissions'],
        'added_classes': plan['added_classes'],
        'files': [],
        'patch': '',
    }
    for rel, obj, new in ((ACCESS_VECTORS, tree.av, plan['access_vectors']),
                          (SECURITY_CLASSES, tree.sc, plan['security_classes'])):
        res['files'].append({'relpath': rel, 'path': obj.path, 'before': obj.text, 'after': new,
                             'changed': obj.text != new})
        res['patch'] += unified_diff(obj.text, new, rel)
    if any(f['changed'] for f in res['files']):
        # self-check: the edited text must parse, contain what was asked, keep the order
        sc = SecurityClasses(tree.sc_path, plan['security_classes'])
        av = AccessVectors(tree.av_path, plan['access_vectors'])
        for cls, perms in classes:
            missing = [p for p in perms if p not in av.all_perms(cls)]
            if cls not in sc.line_of or missing:  # pragma: no cover - defensive
                raise FlaskError('internal error: class %s incomplete after edit' % cls)
        for cls, perm, _after in permissions:
            if perm not in av.all_perms(cls):  # pragma: no cover - defensive
                raise FlaskError('internal error: %s %s missing after edit' % (cls, perm))
        # each new class follows the same class in both files (refpolicy's own order is not
        # consistent between the two files, and checkpolicy does not require it to be, so
        # only the placement of what we add is checked)
        both = [c for c in sc.order if c in av.classes]
        both_av = [c for c in av.order if c in sc.line_of]
        for added in plan['added_classes']:
            name = added['class']
            i_sc, i_av = both.index(name), both_av.index(name)
            prev_sc = both[i_sc - 1] if i_sc else None
            prev_av = both_av[i_av - 1] if i_av else None
            if prev_sc != prev_av:  # pragma: no cover - defensive
                raise FlaskError('internal error: class %s would follow %s in security_classes but %s '
                                 'in access_vectors' % (name, prev_sc, prev_av), tree.av_path)
    return res
