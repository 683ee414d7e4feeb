"""module_utils/te: the .te parsers (module_decl, required_classes), reading a src module file
(read_source) and the UTF-8 check of compile_te. No policy store needed; the checkmodule
comparison is skipped without checkpolicy. Python 3.6 compatible (the fuzz test needs
hypothesis, which the 3.6/3.7 lanes do not have: it is skipped there).
"""
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import te as temod

try:
    from hypothesis import given, settings, strategies as st
except ImportError:  # the Python 3.6/3.7 lanes
    given = None

BLANKS = ' \t\f\r'          # checkpolicy: [ \t\f]; '\r' taken too (checkmodule then says why)
NAME_CHARS = set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-')
IDENT_CHARS = NAME_CHARS | set('.')
LETTERS = set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz')


# --- a deliberately simple reference parser (char by char, no regex) ----------------------

def _statement_ends(text, keywords):
    """Offsets just after each keyword that starts a line (after blanks), followed by a blank
    or a newline. Lines end at '\\n' only."""
    ends = []
    offset = 0
    for line in text.split('\n'):
        i = 0
        while i < len(line) and line[i] in BLANKS:
            i += 1
        for kw in keywords:
            if line.startswith(kw, i):
                j = i + len(kw)
                nxt = line[j] if j < len(line) else ('\n' if offset + j < len(text) else '')
                if nxt != '' and (nxt in BLANKS or nxt == '\n'):
                    ends.append(offset + j)
                break
        offset += len(line) + 1
    return ends


def _skip_space(text, i):
    while i < len(text) and (text[i] in BLANKS or text[i] == '\n'):
        i += 1
    return i


def ref_module_decl(text):
    for end in _statement_ends(text, ('policy_module', 'module')):
        i = _skip_space(text, end)
        if i >= len(text) or text[i] not in LETTERS:
            continue
        j = i
        while j < len(text) and text[j] in NAME_CHARS:
            j += 1
        nxt = text[j] if j < len(text) else ''
        if nxt == ';' or (nxt != '' and (nxt in BLANKS or nxt == '\n') and ';' in text[j:]):
            return text[i:j]
    return None


def ref_required_classes(text):
    found = set()
    for end in _statement_ends(text, ('class',)):
        i = _skip_space(text, end)
        j = i
        while j < len(text) and text[j] in IDENT_CHARS:
            j += 1
        ident = text[i:j]
        if ident and ident[0] in 'abcdefghijklmnopqrstuvwxyz' and \
                all(c in 'abcdefghijklmnopqrstuvwxyz0123456789_' for c in ident):
            found.add(ident)
    return sorted(found)


# --- parsers ------------------------------------------------------------------------------

def test_module_decl_basic():
    assert temod.module_decl('module foo 1.0;') == 'foo'
    assert temod.module_decl('# header\n\n  module my-perf 1.0;\nrequire {}') == 'my-perf'
    assert temod.module_decl('module foo\n  1.0;') == 'foo'
    assert temod.module_decl('policy_module(foo, 1.0)') is None
    assert temod.module_decl('#module foo 1.0;') is None
    assert temod.module_decl('module foo.bar 1.0;') is None
    assert temod.module_decl('module foo 1.0') is None          # no ';' anywhere
    assert temod.module_decl('') is None and temod.module_decl(None) is None


def test_parsers_on_40k_blank_lines():
    """The old ``^\\s*`` regexes took ~22 s (module_decl) and ~2 s (required_classes) here."""
    blank = '\n' * 40000
    assert temod.module_decl(blank) is None
    assert temod.module_decl(blank + 'module foo 1.0;\n') == 'foo'
    assert temod.module_decl(' \t\n' * 40000 + 'module foo 1.0;') == 'foo'
    assert temod.required_classes(blank) == []
    assert temod.required_classes(blank + 'class perf_event { open };\n') == ['perf_event']
    assert temod.module_decl('module x\n' * 40000) is None          # no ';' anywhere
    assert temod.required_classes('class {\n' * 40000) == []


@pytest.mark.parametrize('text', [
    'module\xa0foo 1.0;',             # NBSP
    '\x85module foo 1.0;',            # NEL
    'module foo\u20281.0;',           # LINE SEPARATOR
    'module\x0bfoo 1.0;',             # \v: checkpolicy's lexer has no rule for it
    '\x1cmodule foo 1.0;',
])
def test_module_decl_only_ascii_blanks(text):
    assert temod.module_decl(text) is None


def test_module_decl_form_feed_and_cr_are_blanks():
    # checkpolicy deletes [ \t\f]+ between tokens
    assert temod.module_decl('module\ffoo 1.0;') == 'foo'
    assert temod.module_decl('\f module foo\f1.0;') == 'foo'
    assert temod.module_decl('module foo 1.0;\r\n') == 'foo'


def test_required_classes_only_ascii_blanks_and_whole_identifiers():
    te = 'require {\n\tclass perf_event { open };\n\fclass capability2 perfmon;\n}\n'
    assert temod.required_classes(te) == ['capability2', 'perf_event']
    assert temod.required_classes('\x0bclass foo { x };') == []
    assert temod.required_classes('\u3000class foo { x };') == []
    assert temod.required_classes('class\xa0foo { x };') == []
    # a comment runs to '\n', whatever follows a form feed
    assert temod.required_classes('# x\fclass perf_eventx { open };\n') == []
    # the whole identifier, or nothing (the old regex returned 'foo' here)
    assert temod.required_classes('class foo-bar { x };\nclass fooX { y };') == []
    assert temod.required_classes('class perf_event{ open };') == ['perf_event']


@pytest.mark.skipif(not shutil.which('checkmodule'), reason='checkpolicy (checkmodule) missing')
@pytest.mark.parametrize('decl,compiles', [
    ('module\fperftest 1.0;', True),
    ('module perftest\f1.0;', True),
    ('module\xa0perftest 1.0;', False),
    ('module perftest\x0b1.0;', False),
])
def test_module_decl_agrees_with_checkmodule(tmp_path, decl, compiles):
    te = decl + '\nrequire {\n\ttype user_t;\n\tclass perf_event { open };\n}\n' \
        'allow user_t self:perf_event { open };\n'
    src = tmp_path / 'perftest.te'
    src.write_bytes(te.encode('utf-8'))
    p = subprocess.run(['checkmodule', '-M', '-m', '-o', str(tmp_path / 'perftest.mod'), str(src)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert (p.returncode == 0) is compiles
    assert temod.module_decl(te) == ('perftest' if compiles else None)


# --- compile_te and read_source -------------------------------------------------------------

class NoToolsModule(object):
    """get_bin_path finds every tool; run_command must not be reached."""

    def get_bin_path(self, name, required=False):
        return '/usr/bin/' + name

    def run_command(self, *a, **kw):
        raise AssertionError('no command may run')


def test_compile_te_refuses_undecodable_text(tmp_path):
    te = 'module perftest 1.0;\n# \udcff\n'
    with pytest.raises(temod.CompileError) as e:
        temod.compile_te(NoToolsModule(), te, 'perftest', str(tmp_path))
    assert 'not valid UTF-8' in e.value.msg
    assert os.listdir(str(tmp_path)) == []


def test_read_source_regular_file(tmp_path):
    p = tmp_path / 'm.cil'
    p.write_bytes(b'(allow a b (c (d)))\n')
    assert temod.read_source(str(p)) == b'(allow a b (c (d)))\n'


@pytest.mark.parametrize('kind', ['symlink', 'dangling', 'directory', 'fifo', 'missing', 'toolong'])
def test_read_source_refuses(tmp_path, kind):
    secret = tmp_path / 'secret'
    secret.write_text(u'root:$6$SECRETHASH:19000:0:99999:7:::\n')
    path = str(tmp_path / 'm.te')
    if kind == 'symlink':
        os.symlink(str(secret), path)
    elif kind == 'dangling':
        os.symlink(str(tmp_path / 'nowhere'), path)
    elif kind == 'directory':
        os.mkdir(path)
    elif kind == 'fifo':
        os.mkfifo(path)
    elif kind == 'toolong':
        path = str(tmp_path / ('x' * 300 + '.te'))
    with pytest.raises(temod.SourceError) as e:
        temod.read_source(path)
    msg = e.value.msg
    assert 'SECRETHASH' not in msg
    expect = {'symlink': 'is a symlink', 'dangling': 'is a symlink', 'directory': 'is a directory',
              'fifo': 'is a FIFO', 'missing': 'does not exist', 'toolong': 'cannot read src'}[kind]
    assert expect in msg, msg
    if kind in ('symlink', 'directory', 'fifo'):
        assert 'only a regular file is accepted' in msg


def test_read_source_size_cap(tmp_path):
    p = tmp_path / 'big.pp'
    p.write_bytes(b'x' * 2049)
    with pytest.raises(temod.SourceError) as e:
        temod.read_source(str(p), max_bytes=2048)
    assert 'bigger than' in e.value.msg
    assert temod.read_source(str(p), max_bytes=4096) == b'x' * 2049


# --- fuzz: the parsers' contract, against the reference parser above -----------------------

NAME_RE = re.compile(r'[A-Za-z][A-Za-z0-9_-]*\Z')
CLASS_RE = re.compile(r'[a-z][a-z0-9_]*\Z')

if given is not None:
    FRAGMENTS = ['module', 'policy_module', 'class', ' ', '\t', '\f', '\r', '\n', '\n', '\x0b', '\x85',
                 '\u2028', '\xa0', '\x1c', ';', '{', '}', '#', 'foo', 'perf_event', 'my-perf', 'X', '1.0',
                 '-', '.', '_', '\xe9', '(', ')', 'require', 'allow']
    BLANK = st.sampled_from(['', ' ', '\t', '\f', '\r', '\n', ' \n ', '\x0b', '\x85', '\u2028', '\xa0',
                             '\x1c', '\u3000'])
    # statement-shaped lines, so the interesting cases (a keyword, some blank, a name) are common
    STATEMENT = st.tuples(
        BLANK, st.sampled_from(['module', 'policy_module', 'class', '#module', 'modulex', 'allow']),
        BLANK, st.sampled_from(['foo', 'my-perf', 'perf_event', 'foo-bar', 'fooX', 'x.y', '1abc', '\xe9t',
                                '_x', '']),
        BLANK, st.sampled_from(['1.0;', ';', '{ open };', '1.0', '', '\xe9;'])).map(''.join)
    TE_TEXT = st.one_of(
        st.lists(STATEMENT, max_size=6).flatmap(
            lambda lines: st.lists(st.sampled_from(['\n', '\r\n', '\f', '\x85', '\u2028', ' ', '\n\n']),
                                   min_size=len(lines), max_size=len(lines)).map(
                lambda seps: ''.join(a + b for a, b in zip(lines, seps)))),
        st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(''.join),
        st.text(max_size=200),
    )

    @settings(max_examples=200, deadline=None)
    @given(TE_TEXT)
    def test_fuzz_te_parsers(text):
        decl = temod.module_decl(text)
        assert decl is None or NAME_RE.match(decl)
        assert decl == ref_module_decl(text)
        classes = temod.required_classes(text)
        assert classes == sorted(set(classes))
        assert all(CLASS_RE.match(c) for c in classes)
        assert classes == ref_required_classes(text)
        # a text behind blank lines parses the same (the line-by-line scan carries no state)
        assert temod.module_decl('\n\n' + text) == decl
        assert temod.required_classes('\n \n' + text) == classes
else:
    def test_fuzz_te_parsers():
        pytest.importorskip('hypothesis')
