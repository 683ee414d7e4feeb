"""module_utils/flask: structural edits of policy/flask/{security_classes,access_vectors}.

Fast tests on small fixture files (the seed's Fedora 31 shape) plus Debian's refpolicy
source tree (stock, and made Fedora-31-like by tests/fixtures/policy/fc31tree.py).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import flask as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
FIXTURES = os.path.join(ROOT, 'fixtures', 'policy')
SEED_TREE = os.path.join(FIXTURES, 'fc31_seed')
sys.path.insert(0, FIXTURES)
import fc31tree  # noqa: E402

PERF = ['open', 'cpu', 'kernel', 'tracepoint', 'read', 'write']


def _tree(base, av, sc):
    d = os.path.join(str(base), 'policy', 'flask')
    os.makedirs(d)
    with open(os.path.join(d, 'access_vectors'), 'w') as f:
        f.write(av)
    with open(os.path.join(d, 'security_classes'), 'w') as f:
        f.write(sc)
    return str(base)


def _apply(root, res):
    for f in res['files']:
        with open(f['path'], 'w') as fh:
            fh.write(f['after'])


def _seed_copy(tmp_path, name='t'):
    dest = os.path.join(str(tmp_path), name)
    shutil.copytree(os.path.join(SEED_TREE, 'policy'), os.path.join(dest, 'policy'))
    return dest


def test_seed_tree_gets_the_seed_change(tmp_path):
    """Fedora 31's shape: the module makes the same change as the seed's hand-made patch."""
    ours = _seed_copy(tmp_path, 'ours')
    res = F.ensure(ours, *F.default_requests())
    assert res['added_permissions'] == [
        {'class': 'capability2', 'permission': 'perfmon', 'block': 'common cap2'}]
    assert res['added_classes'] == [{'class': 'perf_event', 'permissions': PERF}]
    _apply(ours, res)
    if not shutil.which('patch'):
        pytest.skip('patch(1) not installed')
    seed = _seed_copy(tmp_path, 'seed')
    with open(os.path.join(SEED_TREE, 'seed.patch')) as f:
        subprocess.run(['patch', '-p1', '-s'], stdin=f, cwd=seed, check=True)
    for rel in (F.ACCESS_VECTORS, F.SECURITY_CLASSES):
        with open(os.path.join(seed, rel)) as a, open(os.path.join(ours, rel)) as b:
            seed_text, our_text = a.read(), b.read()
        # the seed also appends two empty lines at the end of access_vectors; nothing else differs
        assert seed_text.rstrip('\n') == our_text.rstrip('\n'), rel
        assert our_text != open(os.path.join(SEED_TREE, rel)).read()


def test_generated_patch_applies_like_the_module(tmp_path):
    src = _seed_copy(tmp_path, 'edited')
    res = F.ensure(src, *F.default_requests())
    _apply(src, res)
    fresh = _seed_copy(tmp_path, 'fresh')
    if not shutil.which('patch'):
        pytest.skip('patch(1) not installed')
    subprocess.run(['patch', '-p1', '-s'], input=res['patch'], universal_newlines=True, cwd=fresh, check=True)
    for rel in (F.ACCESS_VECTORS, F.SECURITY_CLASSES):
        assert open(os.path.join(fresh, rel)).read() == open(os.path.join(src, rel)).read()
    assert res['patch'].startswith('diff -Nura a/policy/flask/access_vectors b/policy/flask/access_vectors\n')


def test_second_run_changes_nothing(tmp_path):
    root = _seed_copy(tmp_path)
    _apply(root, F.ensure(root, *F.default_requests()))
    again = F.ensure(root, *F.default_requests())
    assert again['patch'] == ''
    assert again['added_permissions'] == [] and again['added_classes'] == []
    assert not any(f['changed'] for f in again['files'])


def test_extra_permission_follows_perfmon_and_extra_class_goes_last(tmp_path):
    root = _seed_copy(tmp_path)
    res = F.ensure(root, *F.default_requests(extra_permissions={'capability2': ['bpf', 'checkpoint_restore']},
                                             extra_classes={'io_uring': ['override_creds', 'sqpoll']}))
    av = F.AccessVectors('av', res['files'][0]['after'])
    sc = F.SecurityClasses('sc', res['files'][1]['after'])
    assert av.commons['cap2'].perm_names()[-4:] == ['audit_read', 'perfmon', 'bpf', 'checkpoint_restore']
    assert av.order[-2:] == ['perf_event', 'io_uring'] and sc.order[-2:] == ['perf_event', 'io_uring']
    assert av.all_perms('io_uring') == ['override_creds', 'sqpoll']


def test_perfmon_in_class_capability2_block(tmp_path):
    """Older Fedora/refpolicy: no cap2 common, audit_read in class capability2's own block."""
    av = ('common file\n{\n\tread\n}\n\nclass file\ninherits file\n\nclass capability2\n{\n'
          '\tmac_override\n\taudit_read\t# 3.16\n\tepolwakeup\n}\n')
    root = _tree(tmp_path, av, 'class file\nclass capability2\n')
    res = F.ensure(root, *F.default_requests())
    after = F.AccessVectors('av', res['files'][0]['after'])
    assert after.classes['capability2'].perm_names() == ['mac_override', 'audit_read', 'perfmon', 'epolwakeup']
    assert res['added_permissions'][0]['block'] == 'class capability2'
    assert '\taudit_read\t# 3.16\n\tperfmon\n' in res['files'][0]['after']


def test_one_line_blocks_and_crlf(tmp_path):
    av = 'common cap2 { syslog audit_read }\r\nclass capability2 inherits cap2\r\nclass foo { a b }\r\n'
    root = _tree(tmp_path, av, 'class capability2\r\nclass foo\r\n')
    res = F.ensure(root, *F.default_requests(extra_permissions={'foo': ['c']}))
    text = res['files'][0]['after']
    after = F.AccessVectors('av', text)
    assert after.commons['cap2'].perm_names() == ['syslog', 'audit_read', 'perfmon']
    assert after.classes['foo'].perm_names() == ['a', 'b', 'c']
    assert after.all_perms('perf_event') == PERF
    assert '\n' not in text.replace('\r\n', '')
    assert F.ensure(root, *F.default_requests())['patch'] != ''
    _apply(root, res)
    assert F.ensure(root, *F.default_requests(extra_permissions={'foo': ['c']}))['patch'] == ''


def test_class_declared_but_without_access_vectors(tmp_path):
    av = 'class a\n{\n\tx\n}\n\nclass b\n{\n\ty\n}\n'
    root = _tree(tmp_path, av, 'class a\nclass perf_event\nclass b\n')
    res = F.ensure(root, [], [('perf_event', PERF)])
    after = F.AccessVectors('av', res['files'][0]['after'])
    assert after.order == ['a', 'perf_event', 'b']
    assert not res['files'][1]['changed']


def test_existing_class_gets_missing_permissions(tmp_path):
    av = 'class perf_event\n{\n\topen\n\tcpu\n}\n'
    root = _tree(tmp_path, av, 'class perf_event\n')
    res = F.ensure(root, [], [('perf_event', PERF)])
    assert F.AccessVectors('av', res['files'][0]['after']).all_perms('perf_event') == PERF
    assert res['added_classes'] == []
    assert [p['permission'] for p in res['added_permissions']] == PERF[2:]


@pytest.mark.parametrize('av,sc,where,needle', [
    ('class a\n{\n\tx\n', 'class a\n', 'access_vectors:2', "unterminated '{'"),
    ('class a\n{\n\tx\n}\nfoo bar\n', 'class a\n', 'access_vectors:5', "expected 'common' or 'class'"),
    ('class a\ninherits nope\n', 'class a\n', 'access_vectors:2', 'undefined common'),
    ('class a\n{\n\tx\n}\n', 'class a\nclass a\n', 'security_classes:2', 'duplicate class'),
    ('class a\n{\n\tx\n}\nclass b\n{\n\ty\n}\n', 'class a\n', 'access_vectors:5', 'not declared'),
    ('class a\n{\n\tx-y\n}\n', 'class a\n', 'access_vectors:3', 'invalid permission'),
    ('class a\n{\n\tx\n}\ncommon c\n{\n\tz\n}\n', 'class a\n', 'access_vectors:5', 'commons must come first'),
    ('class a\n{\n\tx\n}\n', 'allow a b;\n', 'security_classes:1', "expected 'class NAME'"),
    ('\x00\x01garbage{{{\n', 'class a\n', 'access_vectors:1', 'expected'),
    ('', '', 'security_classes', 'no class declarations'),
])
def test_garbage_is_refused_with_file_and_line(tmp_path, av, sc, where, needle):
    root = _tree(tmp_path, av, sc)
    with pytest.raises(F.FlaskError) as exc:
        F.ensure(root, *F.default_requests())
    msg = str(exc.value)
    assert where in msg and needle in msg, msg


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(F.FlaskError) as exc:
        F.ensure(str(tmp_path), *F.default_requests())
    assert 'missing flask file' in str(exc.value) and 'security_classes' in str(exc.value)
    root = _tree(tmp_path, 'x', 'class a\n')
    with open(os.path.join(root, F.ACCESS_VECTORS), 'wb') as f:
        f.write(b'\xff\xfe\x00binary')
    with pytest.raises(F.FlaskError) as exc:
        F.ensure(root, *F.default_requests())
    assert 'not a text file' in str(exc.value)


def test_bad_requests_are_refused(tmp_path):
    root = _seed_copy(tmp_path)
    with pytest.raises(F.FlaskError, match='class nope is not defined'):
        F.ensure(root, [('nope', 'x', None)], [])
    with pytest.raises(F.FlaskError, match='invalid permission name'):
        F.ensure(root, [('capability2', 'bad name', None)], [])
    with pytest.raises(F.FlaskError, match='empty permission list'):
        F.ensure(root, [], [('newclass', [])])


# -- Debian's refpolicy source (selinux-policy-src), stock and Fedora-31-like ----------------
def _cached(fn):
    try:
        return fn()
    except fc31tree.FixtureUnavailable as e:
        pytest.skip(str(e))


def test_debian_stock_tree_needs_nothing():
    tree = _cached(fc31tree.stock_tree)
    res = F.ensure(tree, *F.default_requests(extra_permissions={'capability2': ['bpf']}))
    assert res['patch'] == '' and res['added_classes'] == [] and res['added_permissions'] == []


def test_fc31_like_tree_gets_perfmon_and_perf_event():
    stock = _cached(fc31tree.stock_tree)
    fc31 = _cached(fc31tree.fc31_tree)
    before = F.FlaskTree(fc31)
    assert 'perf_event' not in before.av.classes and 'perf_event' not in before.sc.line_of
    assert 'perfmon' not in before.av.all_perms('capability2')
    res = F.ensure(fc31, *F.default_requests())
    av_after = res['files'][0]['after']
    # cap2 ends up exactly as refpolicy has it (perfmon after audit_read, before bpf)
    stock_av = F.FlaskTree(stock).av
    after = F.AccessVectors('av', av_after)
    assert after.commons['cap2'].perm_names() == stock_av.commons['cap2'].perm_names()
    assert after.all_perms('perf_event') == PERF
    assert after.order[-1] == 'perf_event'
    assert F.SecurityClasses('sc', res['files'][1]['after']).order[-1] == 'perf_event'
    # the cache itself was not touched
    assert 'perf_event' not in F.FlaskTree(fc31).sc.line_of


# -- issue 13: parse as checkpolicy does (finding 5), bounded input (finding 8) ---------------
def _utree(base, av, sc):
    """_tree, written as UTF-8 whatever the locale (the 3.6 lane may run with LANG=C)."""
    d = os.path.join(str(base), 'policy', 'flask')
    os.makedirs(d)
    for name, text in (('access_vectors', av), ('security_classes', sc)):
        with open(os.path.join(d, name), 'wb') as f:
            f.write(text.encode('utf-8'))
    return str(base)


def _uapply(res):
    for f in res['files']:
        with open(f['path'], 'wb') as fh:
            fh.write(f['after'].encode('utf-8'))


# Python's splitlines() breaks lines at these, and \s matches them; checkpolicy's lexer ends
# lines at '\n' only and a '#' comment runs to it.
PY_ONLY_BREAKS = ['\f', '\v', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029']


@pytest.mark.parametrize('brk', PY_ONLY_BREAKS, ids=lambda c: 'U+%04X' % ord(c))
def test_perfmon_and_class_after_a_comment_break_are_not_taken_as_declared(tmp_path, brk):
    """`# x<brk>perfmon` is a comment for checkpolicy: the tree is not 'already patched'."""
    av = ('common cap2\n{\n\tsyslog\n\taudit_read\t# x%sperfmon\n}\n'
          'class capability2\ninherits cap2\n'
          '# x%sclass perf_event { open cpu kernel tracepoint read write }\n' % (brk, brk))
    sc = 'class capability2\n# x%sclass perf_event\n' % brk
    root = _utree(tmp_path, av, sc)
    res = F.ensure(root, *F.default_requests())
    assert res['added_permissions'] == [
        {'class': 'capability2', 'permission': 'perfmon', 'block': 'common cap2'}]
    assert res['added_classes'] == [{'class': 'perf_event', 'permissions': PERF}]
    after = F.AccessVectors('av', res['files'][0]['after'])
    assert after.commons['cap2'].perm_names() == ['syslog', 'audit_read', 'perfmon']
    # the comments are kept byte for byte, and the diff is cut into lines as patch(1) cuts them
    assert '\taudit_read\t# x%sperfmon\n\tperfmon\n' % brk in res['files'][0]['after']
    if shutil.which('patch'):
        fresh = _utree(os.path.join(str(tmp_path), 'fresh'), av, sc)
        subprocess.run(['patch', '-p1', '-s'], input=res['patch'].encode('utf-8'), cwd=fresh, check=True)
        for f in res['files']:
            with open(os.path.join(fresh, f['relpath']), 'rb') as fh:
                assert fh.read().decode('utf-8') == f['after']
    _uapply(res)
    assert F.ensure(root, *F.default_requests())['patch'] == ''


@pytest.mark.parametrize('code,char', [
    ('class\xa0foo { a }\n', 'U+00A0'),            # NBSP between keyword and name
    ('class foo {\u2028a }\n', 'U+2028'),
    ('class foo { a\x85}\n', 'U+0085'),
    ('class foo { a\x0bb }\n', 'U+000B'),
    ('class foo\x1c{ a }\n', 'U+001C'),
    ('class foo { a\rb }\n', 'U+000D'),            # a lone CR is no line end for checkpolicy
])
def test_python_only_white_space_in_code_is_refused(tmp_path, code, char):
    root = _utree(tmp_path, code, 'class foo\n')
    with pytest.raises(F.FlaskError) as exc:
        F.ensure(root, [], [('foo', ['a'])])
    msg = str(exc.value)
    assert 'access_vectors:1:' in msg and 'unexpected character %s outside a comment' % char in msg, msg


def test_form_feed_is_white_space_in_code_as_for_checkpolicy(tmp_path):
    root = _utree(tmp_path, 'class\ffoo\f{\fa\fb\f}\n', 'class\ffoo\n')
    tree = F.FlaskTree(root)
    assert tree.av.all_perms('foo') == ['a', 'b'] and tree.sc.order == ['foo']


def test_requested_name_with_trailing_newline_is_refused(tmp_path):
    root = _seed_copy(tmp_path)
    with pytest.raises(F.FlaskError, match='invalid permission name'):
        F.ensure(root, [('capability2', 'bpf\n', None)], [])
    with pytest.raises(F.FlaskError, match='invalid class name'):
        F.ensure(root, [], [('perf_event\n', PERF)])


def test_flask_file_over_the_size_cap_is_refused(tmp_path):
    av = 'common cap2 { syslog audit_read }\nclass capability2 inherits cap2\n'
    av += '#' * (5 * 1024 * 1024) + '\n'
    root = _utree(tmp_path, av, 'class capability2\n')
    with pytest.raises(F.FlaskError) as exc:
        F.ensure(root, *F.default_requests())
    assert 'access_vectors: file is larger than 4 MiB' in str(exc.value)


def test_permission_goes_into_its_own_block_when_blocks_share_a_line(tmp_path):
    """Found by test_flask_fuzz: the insertion point was the last '}' of the line."""
    av = 'class capability2{syslog audit_read}class k0{x0}\n'
    root = _utree(tmp_path, av, 'class capability2\nclass k0\n')
    res = F.ensure(root, *F.default_requests(extra_permissions={'k0': ['x1'], 'capability2': ['bpf']}))
    after = F.AccessVectors('av', res['files'][0]['after'])
    assert after.all_perms('capability2') == ['syslog', 'audit_read', 'perfmon', 'bpf']
    assert after.all_perms('k0') == ['x0', 'x1']
    first = res['files'][0]['after'].split('\n', 1)[0]
    assert first == 'class capability2{syslog audit_read perfmon bpf }class k0{x0 x1 }'
