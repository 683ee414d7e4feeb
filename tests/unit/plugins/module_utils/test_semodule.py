"""module_utils/semodule and module_utils/te against the real tools on a throwaway store.

The store is built once from the packaged Debian policy modules (``semodule -p ROOT -s
perfsec_test -N -i``: base + unprivuser + staff + unconfined, see cached_store), cached under build/test-stores keyed by the packages'
content, and copied per test. Nothing here touches the host's own store.
"""
import glob
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
from ansible_collections.perfsec.selinux.plugins.module_utils import te as temod

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PKG_DIR = '/usr/share/selinux/default'
STORE = 'perfsec_test'
CACHE = os.path.join(REPO, 'build', 'test-stores')

TE_V1 = """module perftest 1.0;
require {
\ttype user_t;
\tclass perf_event { open kernel };
}
allow user_t self:perf_event { open kernel };
"""
TE_V2 = TE_V1.replace('{ open kernel }', '{ open kernel read }')


def _tools_missing():
    for tool in ('semodule', 'checkmodule', 'semodule_package'):
        if not shutil.which(tool) and not os.path.exists('/usr/sbin/' + tool) \
                and not os.path.exists('/usr/bin/' + tool):
            return tool
    if not glob.glob(os.path.join(PKG_DIR, 'base.pp*')):
        return 'selinux-policy-default'
    return None


needs_tools = pytest.mark.skipif(_tools_missing() is not None,
                                 reason='SELinux tools or packaged policy missing: %s' % _tools_missing())


class RealModule(object):
    """The two AnsibleModule methods module_utils use, on the real tools."""

    def __init__(self, fail_checksum_listing=False):
        self.fail_checksum_listing = fail_checksum_listing
        self.calls = []

    def get_bin_path(self, name, required=False):
        for d in os.environ.get('PATH', '').split(os.pathsep) + ['/usr/sbin', '/sbin', '/usr/bin']:
            p = os.path.join(d, name)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
        return None

    def run_command(self, argv, data=None, binary_data=False, encoding='utf-8', cwd=None):
        self.calls.append(list(argv))
        if self.fail_checksum_listing and '-m' in argv and '-lfull' in argv:
            return 1, '', "semodule: invalid option -- 'm'\n"
        if data is not None and not isinstance(data, bytes):
            data = data.encode('utf-8')
        p = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, check=False)
        if encoding is None:
            return p.returncode, p.stdout, p.stderr
        return p.returncode, p.stdout.decode(encoding, 'replace'), p.stderr.decode(encoding, 'replace')


def _packages_key():
    h = hashlib.sha256(b'small-store-v2')
    for path in sorted(glob.glob(os.path.join(PKG_DIR, '*.pp*'))):
        h.update(os.path.basename(path).encode())
        with open(path, 'rb') as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:16]


def cached_store():
    """Path of a pristine store root built from the packaged policy (built once, cached)."""
    dest = os.path.join(CACHE, _packages_key())
    if os.path.isdir(os.path.join(dest, 'var/lib/selinux', STORE, 'active')):
        return dest
    os.makedirs(CACHE, exist_ok=True)
    work = tempfile.mkdtemp(dir=CACHE, prefix='.build-')
    pps = os.path.join(work, 'pp')
    root = os.path.join(work, 'root')
    os.makedirs(pps)
    for d in ('var/lib/selinux', 'etc/selinux'):
        os.makedirs(os.path.join(root, d))
    with open(os.path.join(root, 'etc/selinux/config'), 'w') as f:
        f.write('SELINUX=permissive\nSELINUXTYPE=%s\n' % STORE)

    def unpack(name):
        path = os.path.join(PKG_DIR, name + '.pp.bz2')
        out = os.path.join(pps, name + '.pp')
        with open(out, 'wb') as f:
            if os.path.exists(path):
                f.write(subprocess.run(['bzcat', path], stdout=subprocess.PIPE, check=True).stdout)
            else:
                with open(os.path.join(PKG_DIR, name + '.pp'), 'rb') as src:
                    f.write(src.read())
        return out

    # A small store (commits in ~4 s instead of ~17 s): the packaged base module as CIL
    # without its one seuser mapping to a user of a module we leave out (sddm -> xdm), plus
    # the modules defining user_t, staff_t and unconfined_t.
    base_cil = subprocess.run([sm.HLL_PP], stdin=open(unpack('base'), 'rb'),
                              stdout=subprocess.PIPE, check=True).stdout
    lines = [ln for ln in base_cil.split(b'\n') if not re.match(br'^\(selinuxuser \S+ xdm ', ln)]
    with open(os.path.join(pps, 'base.cil'), 'wb') as f:
        f.write(b'\n'.join(lines))
    files = [os.path.join(pps, 'base.cil')] + [unpack(n) for n in ('unprivuser', 'staff', 'unconfined')]
    subprocess.run(['semodule', '-p', root, '-s', STORE, '-N', '-X', '100', '-i'] + files,
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        os.rename(root, dest)
    except OSError:            # another lane built it at the same time
        pass
    shutil.rmtree(work, ignore_errors=True)
    return dest


@pytest.fixture
def store(tmp_path):
    """A private copy of the cached store: dict(root, store)."""
    if _tools_missing():
        pytest.skip('SELinux tools or packaged policy missing: %s' % _tools_missing())
    root = str(tmp_path / 'root')
    shutil.copytree(cached_store(), root, symlinks=True)
    return {'root': root, 'store': STORE}


def test_parse_list_full_formats():
    text = ('100 base            pp          sha256:' + 'a' * 64 + ' \n'
            '300 my-perf         pp disabled sha256:' + 'b' * 64 + ' \n'
            '400 other           cil disabled\n'
            '100 old             pp         \n'
            'libsemanage.add_user: user sddm not in password file\n')
    mods = sm.parse_list_full(text)
    assert mods == [
        {'name': 'base', 'priority': 100, 'lang': 'pp', 'enabled': True, 'checksum': 'a' * 64},
        {'name': 'my-perf', 'priority': 300, 'lang': 'pp', 'enabled': False, 'checksum': 'b' * 64},
        {'name': 'other', 'priority': 400, 'lang': 'cil', 'enabled': False, 'checksum': None},
        {'name': 'old', 'priority': 100, 'lang': 'pp', 'enabled': True, 'checksum': None}]
    assert sm.find_module(mods + [dict(mods[1], priority=100)], 'my-perf')['priority'] == 300


@pytest.mark.parametrize('name,ok', [
    ('my-perf', True), ('a_1', True), ('1abc', False), ('-x', False), ('a b', False),
    ('a;b', False), ('', False), ('../x', False)])
def test_valid_name(name, ok):
    assert sm.valid_name(name) is ok


@needs_tools
def test_list_modules_real_store(store):
    m = RealModule()
    mods = sm.list_modules(m, store['root'], store['store'])
    names = dict((x['name'], x) for x in mods)
    assert sorted(names) == ['base', 'staff', 'unconfined', 'unprivuser']
    assert names['base']['priority'] == 100 and names['base']['enabled'] is True
    assert names['base']['lang'] == 'cil' and names['staff']['lang'] == 'pp'
    assert len(names['base']['checksum']) == 64
    assert sm.commit_num(store['root'], store['store']) >= 1
    assert all(c[0].endswith('semodule') and '-v' not in c for c in m.calls)


@needs_tools
def test_list_modules_fallback_without_checksums_and_extract(store):
    m = RealModule(fail_checksum_listing=True)
    mods = sm.list_modules(m, store['root'], store['store'])
    base = sm.find_module(mods, 'base')
    assert base['checksum'] is None and base['priority'] == 100
    real = sm.find_module(sm.list_modules(RealModule(), store['root'], store['store']), 'base')
    # the extracted CIL hashes to the same sha256 that semodule -lfull -m prints
    assert sm.installed_checksum(m, base, store['root'], store['store']) == real['checksum']


@needs_tools
def test_compile_private_and_checksum(tmp_path):
    m = RealModule()
    work = temod.private_dir()
    try:
        assert stat.S_IMODE(os.stat(work).st_mode) == 0o700
        pp = temod.compile_te(m, TE_V1, 'perftest', work)
        for f in os.listdir(work):
            assert stat.S_IMODE(os.stat(os.path.join(work, f)).st_mode) == 0o600, f
        cil = sm.pp_to_cil(m, pp)
        assert b'(allow user_t self (perf_event (open kernel)))' in cil
        assert sm.file_checksum(m, pp) == hashlib.sha256(cil).hexdigest()
    finally:
        temod.cleanup(work)
    assert not os.path.exists(work)


@needs_tools
def test_compile_error_shows_checkmodule_message():
    m = RealModule()
    work = temod.private_dir()
    try:
        with pytest.raises(temod.CompileError) as e:
            temod.compile_te(m, TE_V1.replace('allow user_t', 'allow user_t oops'), 'perftest', work)
        assert 'checkmodule could not compile perftest.te' in e.value.msg
        assert 'syntax error' in e.value.msg
        with pytest.raises(temod.CompileError) as e:
            temod.compile_te(m, TE_V1, 'othername', work)
        assert "declares module 'perftest'" in e.value.msg
    finally:
        temod.cleanup(work)


def test_required_classes():
    assert temod.required_classes(TE_V1) == ['perf_event']
    assert temod.module_decl('policy_module(foo, 1.0)') is None
    assert temod.module_decl('module foo 1.0;') == 'foo'


# --- issue 13: validation and the CIL parser ------------------------------------------------

class RecordingModule(object):
    """Finds every tool, records every command, and succeeds."""

    def __init__(self):
        self.calls = []

    def get_bin_path(self, name, required=False):
        return '/usr/sbin/' + name

    def run_command(self, argv, **kw):
        self.calls.append(list(argv))
        return 0, '', ''


@pytest.mark.parametrize('name,ok', [
    ('perf\n', False), ('perf\r', False), ('\nperf', False), ('a' * 128, True), ('a' * 129, False),
    ('a' * 300, False), (None, False), (b'perf', False)])
def test_valid_name_trailing_newline_and_length(name, ok):
    assert sm.valid_name(name) is ok


def test_sha256_re_refuses_trailing_newline():
    assert sm.SHA256_RE.match('a' * 64)
    assert sm.SHA256_RE.match('a' * 64 + '\n') is None
    assert sm.parse_list_full('300 m pp sha256:%s\n' % ('a' * 64))[0]['checksum'] == 'a' * 64


@pytest.mark.parametrize('priority', [True, False, 0, 1000, '300', 3.0])
def test_priority_refused_before_any_command(priority):
    m = RecordingModule()
    with pytest.raises(sm.SemoduleError) as e:
        sm.transaction(m, [['-r', 'perftest']], priority=priority)
    assert 'invalid module priority' in e.value.msg
    with pytest.raises(sm.SemoduleError):
        sm.extract_cil(m, 'perftest', priority)
    assert m.calls == []
    assert sm.valid_priority(priority) is False


def test_priority_int_runs():
    m = RecordingModule()
    sm.remove(m, 'perftest', 400)
    assert m.calls == [['/usr/sbin/semodule', '-X', '400', '-r', 'perftest']]
    assert sm.valid_priority(1) and sm.valid_priority(999)


def test_distribution_entries():
    mods = sm.parse_list_full('100 unconfined pp\n300 unconfined pp\n400 perfsec_perf pp\n199 x cil\n')
    assert [m['priority'] for m in sm.distribution_entries(mods, 'unconfined')] == [100]
    assert sm.distribution_entries(mods, 'perfsec_perf') == []
    assert [m['priority'] for m in sm.distribution_entries(mods, 'x')] == [199]


def test_cil_lines_and_statements():
    cil = ('; a comment with SECRET in it\n'
           '(typeattributeset cil_gen_require user_t)\n'
           '(optional o_1\n'
           '    (allow   user_t self (perf_event (open kernel )))  ; SECRET\n'
           ')\n'
           '(filecon "/a b" any ())\r\n')
    assert sm.cil_lines(cil) == ['(typeattributeset cil_gen_require user_t)', '(optional o_1',
                                 '(allow user_t self (perf_event (open kernel)))', ')',
                                 '(filecon "/a b" any ())']
    assert sm.cil_statements(cil) == [
        '(typeattributeset cil_gen_require user_t)',
        '(optional o_1 (allow user_t self (perf_event (open kernel))))',
        '(filecon "/a b" any ())']


@pytest.mark.parametrize('text,why', [
    ('root:$6$SECRET:19000:0:99999:7:::\n', 'text outside parentheses'),
    ('(allow a b (c (d)))\nSECRET\n', 'line 2: text outside parentheses'),
    ('(setq password "SECRET")\n', 'not a CIL statement keyword'),
    ('("SECRET" a)\n', 'not a CIL statement keyword'),
    ('((SECRET))\n', 'a statement must start with a keyword'),
    ('(allow a b (c (SECRET))\n', 'unclosed'),
    ('(allow a b)) SECRET\n', 'unbalanced'),
    ('()\n', 'an empty statement'),
    ('(allow a b (c (d)))\n(allow SECRET\x00)\n', 'line 2: a character CIL does not allow'),
    ('(allow "SECRET\n")', 'a character CIL does not allow'),
    (u'(allow a\u00e9 b)', 'a character CIL does not allow'),
])
def test_cil_refuses_what_is_not_cil_without_showing_it(text, why):
    with pytest.raises(ValueError) as e:
        sm.cil_lines(text)
    assert why in str(e.value) and 'SECRET' not in str(e.value)


@needs_tools
def test_cil_parses_every_packaged_module():
    """The packaged policy modules (hll/pp output) parse; their lines are the old stripped
    lines up to blanks."""
    n = 0
    for path in sorted(glob.glob(os.path.join(PKG_DIR, '*.pp*')))[:60]:
        if path.endswith('.bz2'):
            data = subprocess.run(['bzcat', path], stdout=subprocess.PIPE, check=True).stdout
        else:
            with open(path, 'rb') as f:
                data = f.read()
        cil = subprocess.run([sm.HLL_PP], input=data, stdout=subprocess.PIPE, check=True).stdout.decode()
        old = set(''.join(line.split()) for line in cil.splitlines()
                  if line.strip() and not line.strip().startswith(';'))
        assert set(''.join(line.split()) for line in sm.cil_lines(cil)) == old, path
        n += len(sm.cil_statements(cil))
    assert n > 1000


try:
    from hypothesis import given, settings, strategies as hst
except ImportError:  # the Python 3.6/3.7 lanes
    given = None

if given is not None:
    CIL_FRAGMENTS = ['(', ')', '(', ')', ' ', '\t', '\n', '\r', ';', '"', 'allow', 'optional', 'type',
                     'user_t', 'self', 'perf_event', 'setq', 'SECRET', ':', '$', '\x00', '\xe9', '\f']

    @settings(max_examples=200, deadline=None)
    @given(hst.one_of(hst.lists(hst.sampled_from(CIL_FRAGMENTS), max_size=40).map(''.join),
                      hst.text(max_size=120)))
    def test_fuzz_cil_lines(text):
        try:
            lines = sm.cil_lines(text)
            stmts = sm.cil_statements(text)
        except ValueError as e:
            assert re.match(r'line \d+: [0-9a-zA-Z "()]+\Z', str(e)), str(e)
            return
        # valid CIL: balanced, every statement starts with a keyword, nothing but CIL tokens
        assert ''.join(lines).count('(') == ''.join(lines).count(')')
        for s in stmts:
            assert s.startswith('(') and s.endswith(')')
            assert s[1:].split(' ')[0].rstrip(')') in sm.CIL_STATEMENTS
        assert sm.cil_statements('\n'.join(lines)) == stmts
else:
    def test_fuzz_cil_lines():
        pytest.importorskip('hypothesis')
