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
