"""Fuzz tests (hypothesis) of the flask parser/editor in module_utils/flask (issue 13, finding 5).

Trees are built from a model (commons, classes, permissions) and written with random
layout: space, tab and form feed between words, line breaks anywhere between tokens, and
'#' comments holding anything but '\\n' -- declarations, braces, \\f, \\v, \\x85, U+2028,
NBSP... -- which checkpolicy ignores (its lexer, checked with checkpolicy 3.x by hand: lines
end at '\\n' only, white space is [ \\t\\f]). The contract:

* the parser sees exactly the model, never a declaration inside a comment;
* patching adds exactly what the model lacks (capability2 perfmon, class perf_event and its
  permissions), keeps every comment and every original token in order, and a second run
  changes nothing;
* a Python-only white space character between tokens is refused with FlaskError;
* on any text, parsing succeeds or raises FlaskError, nothing else.

Bounded: 200 examples per test, no deadline, no example database in the working tree.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import given, settings, HealthCheck, strategies as st  # noqa: E402

from ansible_collections.perfsec.selinux.plugins.module_utils import flask as F  # noqa: E402

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

PERF = ['open', 'cpu', 'kernel', 'tracepoint', 'read', 'write']
CP_SPACE = ' \t\f'                       # checkpolicy's white space
PY_ONLY_SPACE = '\v\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000'


def _joined(pieces, min_size=0, max_size=12):
    return st.lists(pieces, min_size=min_size, max_size=max_size).map(''.join)


# comment text: anything but '\n', with declarations and Python line breaks in it
comment_text = _joined(st.one_of(
    st.sampled_from(list(CP_SPACE + PY_ONLY_SPACE + '{}#\r')),
    st.sampled_from(['perfmon', 'class perf_event { open cpu }', 'common cap2 {', '}',
                     'class capability2', 'inherits', 'audit_read', ' open ']),
    st.characters(exclude_characters='\n', exclude_categories=('Cs',))), max_size=8)
space = st.text(alphabet=CP_SPACE, min_size=1, max_size=3)


@st.composite
def separator(draw, newline_ok=True, need_space=True):
    """What may stand between two tokens: white space, or a line end (with a comment)."""
    if newline_ok and draw(st.booleans()):
        lead = draw(st.text(alphabet=CP_SPACE, max_size=2))
        comment = ('#' + draw(comment_text)) if draw(st.booleans()) else ''
        end = draw(st.sampled_from(['\n', '\n', '\r\n']))
        return lead + comment + end + draw(st.text(alphabet=CP_SPACE, max_size=2))
    return draw(space) if need_space else draw(st.text(alphabet=CP_SPACE, max_size=2))


def _names(prefix, n):
    return ['%s%d' % (prefix, i) for i in range(n)]


@st.composite
def model(draw):
    """(commons {name: perms}, classes [(name, inherits, perms)]) of a tree that has
    capability2 with audit_read, and perhaps already perfmon and (part of) perf_event."""
    commons = {}
    for name in _names('c', draw(st.integers(0, 3))):
        commons[name] = _names('p', draw(st.integers(1, 4)))
    cap2_common = draw(st.booleans())
    has_perfmon = draw(st.booleans())
    cap_perms = ['syslog', 'audit_read'] + (['perfmon'] if has_perfmon else [])
    cap_perms = draw(st.permutations(cap_perms))
    classes = []
    if cap2_common:
        commons['cap2'] = list(cap_perms)
    for name in _names('k', draw(st.integers(0, 3))):
        inh = draw(st.sampled_from([None] + sorted(commons)))
        own = _names('x', draw(st.integers(0 if inh else 1, 3)))
        classes.append((name, inh, own))
    pos = draw(st.integers(0, len(classes)))
    classes.insert(pos, ('capability2', 'cap2', []) if cap2_common else ('capability2', None, list(cap_perms)))
    perf = draw(st.sampled_from(['absent', 'absent', 'full', 'partial']))
    if perf != 'absent':
        perms = PERF if perf == 'full' else PERF[:draw(st.integers(1, 5))]
        classes.insert(draw(st.integers(0, len(classes))), ('perf_event', None, list(perms)))
    return commons, classes


@st.composite
def rendered(draw, bad_space=False):
    """(model, access_vectors text, security_classes text, bad) for a model; with
    ``bad_space`` one separator between tokens gets a Python-only white space character."""
    commons, classes = draw(model())
    toks = []
    for name in sorted(commons):
        toks.append(['common', name, '{'] + commons[name] + ['}'])
    for name, inh, perms in classes:
        t = ['class', name]
        if inh:
            t += ['inherits', inh]
        if perms:
            t += ['{'] + perms + ['}']
        toks.append(t)
    flat = [tok for decl in toks for tok in decl]
    seps = []
    for i in range(len(flat) - 1):
        braces = flat[i] in '{}' or flat[i + 1] in '{}'
        seps.append(draw(separator(need_space=not braces)))
    bad = None
    if bad_space and seps:
        i = draw(st.integers(0, len(seps) - 1))
        bad = draw(st.sampled_from(list(PY_ONLY_SPACE)))
        seps[i] = bad + seps[i]
    head = draw(st.sampled_from(['', '# flask access vectors\n', '#\f x\u2028 class perf_event\n']))
    tail = draw(st.sampled_from(['', '\n', '\n# end\f perfmon']))
    av = head + ''.join(t + s for t, s in zip(flat, seps + [''])) + tail
    sc_lines = []
    for name, _i, _p in classes:
        sc_lines.append('class' + draw(space) + name)
        if draw(st.booleans()):
            sc_lines[-1] += draw(st.text(alphabet=CP_SPACE, max_size=2)) + '#' + draw(comment_text)
    sc = draw(st.sampled_from(['', '# security classes\n'])) + '\n'.join(sc_lines) + '\n'
    return (commons, classes), av, sc, bad


def _tree(base, av, sc):
    d = os.path.join(base, 'policy', 'flask')
    os.makedirs(d)
    for name, text in (('access_vectors', av), ('security_classes', sc)):
        with open(os.path.join(d, name), 'wb') as f:
            f.write(text.encode('utf-8'))
    return base


def _all_perms(commons, classes, cls):
    for name, inh, perms in classes:
        if name == cls:
            return (commons[inh] if inh else []) + perms
    return None


def _ref_code_tokens(text):
    """Tokens as checkpolicy's lexer cuts them (an independent reading)."""
    out = []
    for line in text.split('\n'):
        code = line[:-1] if line.endswith('\r') else line
        code = code.split('#', 1)[0].replace('{', ' { ').replace('}', ' } ')
        out.extend(t for t in re.split('[ \t\f]+', code) if t)
    return out


def _ref_comments(text):
    return [line.split('#', 1)[1] for line in text.split('\n') if '#' in line]


def _is_subsequence(small, big):
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


@FUZZ
@given(rendered())
def test_parser_sees_the_model_never_the_comments(case):
    (commons, classes), av_text, sc_text, _bad = case
    av, sc = F.AccessVectors('av', av_text), F.SecurityClasses('sc', sc_text)
    assert dict((n, b.perm_names()) for n, b in av.commons.items()) == commons
    assert av.order == [c for c, _i, _p in classes]
    assert sc.order == [c for c, _i, _p in classes]
    for name, inh, perms in classes:
        assert av.classes[name].inherits == inh
        assert av.all_perms(name) == _all_perms(commons, classes, name)


@FUZZ
@given(rendered())
def test_patch_adds_exactly_what_is_missing_and_is_idempotent(tmp_path_factory, case):
    (commons, classes), av, sc, _bad = case
    root = _tree(str(tmp_path_factory.mktemp('tree')), av, sc)
    res = F.ensure(root, *F.default_requests())
    cap = _all_perms(commons, classes, 'capability2')
    perf = _all_perms(commons, classes, 'perf_event')
    # the class request (perf_event) is planned before the permission request (perfmon)
    want_perms = [] if perf is None else [('perf_event', p) for p in PERF if p not in perf]
    if 'perfmon' not in cap:
        want_perms.append(('capability2', 'perfmon'))
    assert [(p['class'], p['permission']) for p in res['added_permissions']] == want_perms
    assert res['added_classes'] == ([] if perf is not None else [{'class': 'perf_event', 'permissions': PERF}])
    files = dict((f['relpath'], f) for f in res['files'])
    av_after = files[F.ACCESS_VECTORS]['after']
    sc_after = files[F.SECURITY_CLASSES]['after']
    assert bool(res['patch']) == bool(want_perms or perf is None)
    # only additions: every original token and comment is still there, in order
    before_toks, after_toks = _ref_code_tokens(av), _ref_code_tokens(av_after)
    added = len(want_perms) + (0 if perf is not None else 4 + len(PERF))   # class NAME { ... }
    assert len(after_toks) == len(before_toks) + added
    assert _is_subsequence(before_toks, after_toks)
    assert _ref_comments(av_after) == _ref_comments(av) and _ref_comments(sc_after) == _ref_comments(sc)
    assert _is_subsequence(_ref_code_tokens(sc), _ref_code_tokens(sc_after))
    # the result has everything, parses, and a second run changes nothing
    tree_after = F.AccessVectors('av', av_after)
    assert 'perfmon' in tree_after.all_perms('capability2')
    assert sorted(tree_after.all_perms('perf_event')) == sorted(PERF)
    assert 'perf_event' in F.SecurityClasses('sc', sc_after).order
    for rel, f in files.items():
        with open(f['path'], 'wb') as fh:
            fh.write(f['after'].encode('utf-8'))
    again = F.ensure(root, *F.default_requests())
    assert again['patch'] == '' and again['added_permissions'] == [] and again['added_classes'] == []


@FUZZ
@given(rendered(bad_space=True))
def test_python_only_white_space_between_tokens_is_refused(case):
    _model, av, _sc, bad = case
    with pytest.raises(F.FlaskError) as exc:
        F.AccessVectors('av', av)
    assert 'unexpected character U+%04X outside a comment' % ord(bad) in str(exc.value)


any_text = _joined(st.one_of(
    st.sampled_from(list(CP_SPACE + PY_ONLY_SPACE + '{}#\n\r')),
    st.sampled_from(['class ', 'common ', 'inherits ', 'perf_event', 'cap2', 'audit_read', 'a', 'b']),
    st.characters(exclude_categories=('Cs',))), max_size=40)


@FUZZ
@given(any_text, any_text)
def test_any_text_parses_or_raises_flask_error(av, sc):
    for cls, text in ((F.AccessVectors, av), (F.SecurityClasses, sc)):
        try:
            cls('f', text)
        except F.FlaskError:
            pass
