"""Fuzz tests (hypothesis) of the sysctl.d parser in module_utils/sysctl (issue 13, finding 5).

The contract: a file is read the way systemd-sysctl reads it (lines end at '\\n', '\\r', NUL
and their combinations, checked against systemd 252 and procps 4.0.2 by hand), a line is
stripped of C white space only (space \\t \\n \\v \\f \\r: NBSP, U+2028, \\x85, \\x1c-\\x1e are
ordinary characters), and a line starting with '#' or ';' is a comment whatever it contains.
So find_entries returns exactly the assignments a file was built from, comments never count,
and commenting out entries removes exactly those.

Bounded: 200 examples per test, no deadline, no example database in the working tree.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import given, settings, HealthCheck, strategies as st  # noqa: E402

from ansible_collections.perfsec.selinux.plugins.module_utils import sysctl as sc  # noqa: E402

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

C_SPACE = ' \t\n\v\f\r'               # C isspace()
C_SPACE_INLINE = ' \t\v\f'              # ... minus the line ends
PY_ONLY_SPACE = '\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000'
EOL_CHARS = '\n\r\0'
# (as written, as parsed)
KEYS = [
    ('kernel.perf_event_paranoid', sc.PARANOID),
    ('kernel/perf_event_paranoid', sc.PARANOID),
    ('-kernel.perf_event_paranoid', sc.PARANOID),
    ('- kernel.perf_event_mlock_kb', sc.MLOCK_KB),
    ('kernel.perf_event_max_sample_rate', sc.MAX_SAMPLE_RATE),
    ('net/ipv4/conf/enp3s0.200/forwarding', 'net.ipv4.conf.enp3s0/200.forwarding'),
    ('vm.swappiness', 'vm.swappiness'),
    # not white space for any sysctl tool: part of the key (no such sysctl)
    ('\xa0kernel.perf_event_paranoid', '\xa0kernel.perf_event_paranoid'),
    ('kernel.perf_event_paranoid\u2028', 'kernel.perf_event_paranoid\u2028'),
]
PERF_KEYS = [sc.PARANOID, sc.MLOCK_KB, sc.MAX_SAMPLE_RATE, sc.CPU_TIME_MAX_PERCENT]


def _joined(pieces, min_size=0, max_size=20):
    """Strings made of ``pieces`` (a strategy of strings, not only single characters)."""
    return st.lists(pieces, min_size=min_size, max_size=max_size).map(''.join)


inline_ws = st.text(alphabet=C_SPACE_INLINE, max_size=3)
# anything but a line end: comments and junk may hold keys, '=', and Python-only breaks
line_text = _joined(st.one_of(
    st.sampled_from(list(C_SPACE_INLINE + PY_ONLY_SPACE + '#;=-./_ ')),
    st.sampled_from(['kernel.perf_event_paranoid', ' = ', '1', '-1', 'vm.swappiness', '\u00e9']),
    st.characters(exclude_characters=EOL_CHARS, exclude_categories=('Cs',))))
value_core = st.text(alphabet=st.one_of(
    st.sampled_from(list('0123456789-abc= \t.' + PY_ONLY_SPACE)),
    st.characters(exclude_characters=EOL_CHARS + C_SPACE_INLINE, exclude_categories=('Cs',))),
    min_size=1, max_size=12).filter(lambda v: v == v.strip(C_SPACE))
# a line end as systemd's read_line() takes it (one marker of each kind at most)
eol = st.sampled_from(['\n', '\r\n', '\r', '\0', '\n\r', '\r\0', '\r\n\0', '\n\0'])


@st.composite
def config_line(draw):
    """(text without line end, expected (key, value) or None)."""
    kind = draw(st.sampled_from(['assign', 'assign', 'comment', 'blank', 'junk']))
    lead, trail = draw(inline_ws), draw(inline_ws)
    if kind == 'assign':
        raw_key, key = draw(st.sampled_from(KEYS))
        value = draw(value_core)
        text = lead + raw_key + draw(inline_ws) + '=' + draw(inline_ws) + value + trail
        return text, (key, value)
    if kind == 'comment':
        return lead + draw(st.sampled_from('#;')) + draw(line_text), None
    if kind == 'blank':
        return lead + ' ', None      # never empty: two line ends in a row could merge into one
    junk = draw(line_text.filter(lambda t: '=' not in t and t.strip(C_SPACE)[:1] not in ('#', ';', '')))
    return junk, None


@st.composite
def config_file(draw):
    lines = draw(st.lists(config_line(), max_size=12))
    ends = [draw(eol) for _l in lines]
    if lines and draw(st.booleans()):
        ends[-1] = ''                # no line end at the end of the file
    text = ''.join(t + e for (t, _x), e in zip(lines, ends))
    expected = [(n, kv[0], kv[1]) for n, (_t, kv) in enumerate(lines, 1) if kv is not None]
    return text, expected


def _write(path, text):
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d)
    with open(path, 'wb') as f:
        f.write(text.encode('utf-8'))


@FUZZ
@given(config_file())
def test_parse_lines_finds_exactly_the_assignments(case):
    text, expected = case
    assert [(n, k, v) for n, k, v, _r in sc.parse_lines(text)] == expected


@FUZZ
@given(config_file(), config_file())
def test_find_entries_and_comment_out_on_a_tree(tmp_path_factory, early, late):
    root = str(tmp_path_factory.mktemp('root'))
    files = {'/etc/sysctl.d/10-early.conf': early, '/usr/lib/sysctl.d/60-late.conf': late}
    for path, (text, _e) in files.items():
        _write(os.path.join(root, path.lstrip('/')), text)
    got = sc.find_entries(PERF_KEYS, root)
    want = [(path, n, k, v) for path in sorted(files, key=os.path.basename)
            for n, k, v in files[path][1] if k in PERF_KEYS]
    assert [(e['path'], e['line'], e['key'], e['value']) for e in got] == want
    # every entry commented out: none left, every other assignment untouched, line count kept
    dropin = '/etc/sysctl.d/99-zz-perfsec-perf.conf'
    for plan in sc.comment_out_plan(got, dropin, root):
        src = plan['shadows'] or plan['path']
        text, expected = files[src]
        assert plan['before'] == ('' if plan['shadows'] else text)
        left = [(n, k, v) for n, k, v, _r in sc.parse_lines(plan['after'])]
        assert left == [x for x in expected if x[1] not in PERF_KEYS]
        assert len(_reference_lines(plan['after'])) == len(_reference_lines(text))


def _reference_lines(text):
    """systemd's read_line(), character by character (a second, independent reading)."""
    lines, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        i += 1
        if c not in EOL_CHARS:
            cur.append(c)
            continue
        seen = set([c])
        while c != '\0' and i < len(text) and text[i] in EOL_CHARS and text[i] not in seen:
            c = text[i]
            seen.add(c)
            i += 1
        lines.append(''.join(cur))
        cur = []
    if cur:
        lines.append(''.join(cur))
    return lines


def _reference_entries(text):
    out = []
    for n, line in enumerate(_reference_lines(text), 1):
        while line[:1] and line[0] in C_SPACE:
            line = line[1:]
        while line[-1:] and line[-1] in C_SPACE:
            line = line[:-1]
        if not line or line[0] in '#;' or '=' not in line:
            continue
        key, value = line[:line.index('=')], line[line.index('=') + 1:]
        out.append((n, sc.normalize_key(key), value.strip(C_SPACE)))
    return out


any_text = _joined(st.one_of(
    st.sampled_from(list(EOL_CHARS + C_SPACE_INLINE + PY_ONLY_SPACE + '#;=-./')),
    st.sampled_from(['kernel.perf_event_paranoid', '1', '\r\n']),
    st.characters(exclude_categories=('Cs',))), max_size=60)


@FUZZ
@given(any_text)
def test_parse_lines_agrees_with_a_reference_reader(text):
    assert [(n, k, v) for n, k, v, _r in sc.parse_lines(text)] == _reference_entries(text)


@FUZZ
@given(any_text)
def test_split_lines_loses_nothing_and_cuts_like_systemd(text):
    lines = sc.split_lines(text)
    assert ''.join(line + end for line, end in lines) == text
    assert [line for line, _end in lines] == _reference_lines(text)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(sorted(set(k for _r, k in KEYS[:5]))),
                          st.integers(min_value=-1, max_value=2 ** 31 - 1)), max_size=5))
def test_rendered_dropin_reads_back_and_is_ours(values):
    text = sc.render_dropin(values)
    assert sc.written_by_perfsec(text)
    assert [(k, v) for _n, k, v, _r in sc.parse_lines(text)] == [(k, str(v)) for k, v in values]
