"""perf_policy_build: run as Ansible runs it (a subprocess with an args file), against the real
rpm and rpmbuild, with the Fedora-31-like fixture SRPM (tests/fixtures/policy/fc31tree.py).

One real build (~1-2 min on 2 cores, marked slow): check mode first (nothing written), the
build, a second run (cache hit, changed=false) and check mode again. The error paths use
small SRPMs and fail within seconds: a truncated SRPM, a binary RPM and another package
(refused before anything is built), flask files that do not parse, an rpmbuild -ba that fails;
each ends in one message and leaves the working directory, cache included, as it was.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import OrderedDict

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'policy')
MODULE = os.path.join(ROOT, 'plugins', 'modules', 'perf_policy_build.py')
sys.path.insert(0, FIXTURES)
import fc31tree  # noqa: E402

from ansible_collections.perfsec.selinux.plugins.module_utils import policybuild  # noqa: E402

pytestmark = pytest.mark.skipif(not (shutil.which('rpm') and shutil.which('rpmbuild')),
                                reason='needs rpm and rpmbuild')

NVR = 'selinux-policy-2.20221101-48.fc31like'
RPMS = ['selinux-policy-2.20221101-48.fc31like.perf1.noarch.rpm',
        'selinux-policy-fc31like-2.20221101-48.fc31like.perf1.noarch.rpm']
# the keys the role's manifest had before the module (policy_build_result is built from it)
ROLE_MANIFEST_KEYS = {'key', 'srpm', 'srpm_nvr', 'srpm_sha256', 'release_suffix', 'build_host', 'nodeps',
                      'added_classes', 'added_permissions', 'patch', 'rpms', 'srpms'}


def run_module(tmp_path, check=False, diff=False, **args):
    args = dict(args)
    args['_ansible_check_mode'] = check
    args['_ansible_diff'] = diff
    argfile = os.path.join(str(tmp_path), 'args.json')
    with open(argfile, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LC_ALL='C.UTF-8')
    proc = subprocess.run([sys.executable, MODULE, argfile], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False, universal_newlines=True, env=env)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module output is not JSON: %s\n%s' % (proc.stdout, proc.stderr))


def _fixture(fn, *args):
    try:
        return fn(*args)
    except fc31tree.FixtureUnavailable as e:
        pytest.skip(str(e))


def snapshot(top):
    """Every path below ``top`` with its sha256 (files) or None (directories); {} when absent."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), top)] = None
        for n in filenames:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, top)] = fc31tree.sha256_file(p)
    return out


def seeded_workdir(tmp_path):
    """A working directory with one finished cache entry of another build (it must survive)."""
    work = os.path.join(str(tmp_path), 'work')
    entry = os.path.join(work, 'cache', '0123456789abcdef-0123456789ab')
    os.makedirs(entry)
    os.makedirs(os.path.join(work, 'build'))
    with open(os.path.join(entry, 'x.noarch.rpm'), 'w') as f:
        f.write('not really an rpm\n')
    with open(os.path.join(entry, 'manifest.json'), 'w') as f:
        json.dump({'key': '0123456789abcdef-0123456789ab', 'rpms': ['x.noarch.rpm'], 'patch': ''}, f)
    return work


def one_message(res):
    assert res.get('failed') is True and res['changed'] is False, res
    assert isinstance(res['msg'], str) and res['msg'], res
    return res['msg']


# -- the key (no build) ------------------------------------------------------------------------
def test_cache_key_is_the_roles():
    """Same key as the role's Jinja (to_json of the request, in its key order), so caches made
    by the role before the module stay hits; bdbe1bf3e49f is the defaults' (docs/testbed.md)."""
    sha = 'c2018af8a9bfea65793625fd5d99c6b99a0e360461fabe4d0da2056af7fd2569'
    req = policybuild.request('.perf1', True, True, {}, {})
    assert policybuild.cache_key(sha, req) == 'c2018af8a9bfea65-bdbe1bf3e49f'
    extra = OrderedDict([('capability2', ['bpf', 'checkpoint_restore']), ('perf_event', 'open')])
    req = policybuild.request('.x', False, True, extra, {'demo': ['a']})
    want = json.dumps(OrderedDict([('recipe', 1), ('suffix', '.x'), ('perfmon', False), ('perf_event', True),
                                   ('extra_permissions', extra), ('extra_classes', {'demo': ['a']})]))
    assert policybuild.cache_key(sha, req) == 'c2018af8a9bfea65-' + hashlib.sha256(want.encode()).hexdigest()[:12]
    other = policybuild.request('.x', True, True, extra, {'demo': ['a']})
    assert policybuild.cache_key(sha, req) != policybuild.cache_key(sha, other)


def test_publish_failure_leaves_no_entry(tmp_path):
    """A failure while the entry is assembled (here: a package vanished) leaves no entry and no
    temporary directory in the cache."""
    cache = os.path.join(str(tmp_path), 'work', 'cache')
    os.makedirs(cache)
    rpm = os.path.join(str(tmp_path), 'a.noarch.rpm')
    with open(rpm, 'w') as f:
        f.write('a\n')
    job = policybuild.PolicyBuild(None, {'workdir': os.path.join(str(tmp_path), 'work')})
    job.key = 'k' * 16 + '-' + 'k' * 12
    with pytest.raises((IOError, OSError)):
        job.publish({'rpms': ['a.noarch.rpm', 'gone.noarch.rpm']}, [rpm, rpm + '.gone'], 'patch text\n')
    assert os.listdir(cache) == []


# -- refused before anything is built ------------------------------------------------------------
def test_corrupt_srpm_one_message_nothing_touched(tmp_path):
    bad = _fixture(fc31tree.corrupt_srpm, str(tmp_path))
    work = seeded_workdir(tmp_path)
    before = snapshot(work)
    for check in (True, False):
        res = run_module(tmp_path, check=check, srpm=bad, workdir=work, build_host='build1')
        msg = one_message(res)
        assert 'is not a usable selinux-policy source RPM' in msg and 'DIGESTS NOT OK' in msg, msg
        assert 'nothing was built' in msg
    assert snapshot(work) == before
    # a fresh working directory is not even created
    fresh = os.path.join(str(tmp_path), 'fresh')
    one_message(run_module(tmp_path, srpm=bad, workdir=fresh))
    assert not os.path.exists(fresh)


def test_other_packages_refused(tmp_path):
    """A binary selinux-policy RPM (not a source package) and a source RPM of another package."""
    binary = _fixture(fc31tree.fc31_rpms)[0]
    top = os.path.join(str(tmp_path), 'hello')
    for d in ('SPECS', 'SOURCES', 'SRPMS'):
        os.makedirs(os.path.join(top, d))
    spec = os.path.join(top, 'SPECS', 'hello.spec')
    with open(spec, 'w') as f:
        f.write('Name: hello\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n'
                '%description\nd\n%files\n')
    subprocess.run(['rpmbuild', '--define', '_topdir %s' % top, '--nodeps', '-bs', spec], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, HOME=top))
    other = os.path.join(top, 'SRPMS', 'hello-1-1.src.rpm')
    work = seeded_workdir(tmp_path)
    before = snapshot(work)
    for path, header in ((binary, 'header: selinux-policy|2.20221101|48.fc31like|selinux-policy-2.20221101-48'),
                         (other, 'header: hello|1|1|(none)')):
        msg = one_message(run_module(tmp_path, srpm=path, workdir=work))
        assert msg.startswith(path + ' is not a usable selinux-policy source RPM'), msg
        assert header in msg, msg
    assert snapshot(work) == before


def test_bad_paths_and_missing_srpm(tmp_path):
    work = os.path.join(str(tmp_path), 'work')
    msg = one_message(run_module(tmp_path, srpm='-bad.src.rpm', workdir=work))
    assert 'must be empty or an absolute path' in msg
    msg = one_message(run_module(tmp_path, srpm='/nonexistent.src.rpm', workdir='/tmp/%(id)', build_host='b1'))
    assert 'an absolute path without %' in msg
    msg = one_message(run_module(tmp_path, srpm='/nonexistent.src.rpm', workdir=work, build_host='b1'))
    assert msg == ('/nonexistent.src.rpm does not exist on the build host b1: copy the source RPM there or fix '
                   'policy_build_srpm.')
    msg = one_message(run_module(tmp_path, workdir=work))
    assert msg.startswith('policy_build needs a source RPM')
    msg = one_message(run_module(tmp_path, workdir=work, dnf_download=True))
    assert 'dnf_download needs srpm_version' in msg
    msg = one_message(run_module(tmp_path, srpm='/x.src.rpm', workdir=work, extra_classes={'bad-name': ['a']}))
    assert "extra_classes: 'bad-name' is not a valid SELinux class/permission name" in msg
    assert not os.path.exists(work)


def test_cache_entries_that_are_not_complete(tmp_path):
    """Check mode (no build): a complete entry of the role (no checksums) is a hit; an entry
    without manifest, with a missing file or a file that does not match is not."""
    srpm = _fixture(fc31tree.fc31_srpm)
    work = os.path.join(str(tmp_path), 'work')
    key = run_module(tmp_path, check=True, srpm=srpm, workdir=work)['key']
    entry = os.path.join(work, 'cache', key)
    os.makedirs(entry)
    for name in RPMS:
        with open(os.path.join(entry, name), 'w') as f:
            f.write(name + '\n')
    res = run_module(tmp_path, check=True, srpm=srpm, workdir=work)
    assert res['would_build'] is True and res['cache_hit'] is False and res['changed'] is True, res
    manifest = {'key': key, 'rpms': RPMS, 'srpms': [], 'patch': ''}
    with open(os.path.join(entry, 'manifest.json'), 'w') as f:
        json.dump(manifest, f)
    res = run_module(tmp_path, check=True, srpm=srpm, workdir=work)
    assert res['cache_hit'] is True and res['changed'] is False and res['would_build'] is False, res
    assert res['build']['checksums'] == {n: fc31tree.sha256_file(os.path.join(entry, n)) for n in RPMS}
    assert res['summary'] == 'policy_build: cache hit %s for %s on %s: nothing to build' % (key, NVR, os.uname()[1])
    manifest['checksums'] = dict(res['build']['checksums'], **{RPMS[0]: '0' * 64})
    with open(os.path.join(entry, 'manifest.json'), 'w') as f:
        json.dump(manifest, f)
    assert run_module(tmp_path, check=True, srpm=srpm, workdir=work)['would_build'] is True
    os.unlink(os.path.join(entry, 'manifest.json'))
    manifest['checksums'] = res['build']['checksums']
    with open(os.path.join(entry, 'manifest.json'), 'w') as f:
        json.dump(manifest, f)
    assert run_module(tmp_path, check=True, srpm=srpm, workdir=work)['cache_hit'] is True
    os.unlink(os.path.join(entry, RPMS[1]))
    assert run_module(tmp_path, check=True, srpm=srpm, workdir=work)['would_build'] is True


def test_srpm_url_downloaded_once(tmp_path):
    """srpm_url: check mode downloads nothing; a download that does not match srpm_checksum is
    refused and not kept; a good one lands in workdir/srpms (0600) once. A cache entry for the
    SRPM's key is seeded (a complete entry, as the role wrote them) so nothing is built."""
    try:
        from http.server import HTTPServer, SimpleHTTPRequestHandler
    except ImportError:  # pragma: no cover
        pytest.skip('no http.server')
    srpm = _fixture(fc31tree.fc31_srpm)
    name = os.path.basename(srpm)
    work = os.path.join(str(tmp_path), 'work')
    key = run_module(tmp_path, check=True, srpm=srpm, workdir=work)['key']
    entry = os.path.join(work, 'cache', key)
    os.makedirs(entry)
    with open(os.path.join(entry, RPMS[0]), 'w') as f:
        f.write('x\n')
    with open(os.path.join(entry, 'manifest.json'), 'w') as f:
        json.dump({'key': key, 'rpms': RPMS[:1], 'patch': ''}, f)

    class Quiet(SimpleHTTPRequestHandler):
        def translate_path(self, path):
            return srpm if path.endswith('/' + name) else '/nonexistent'

        def log_message(self, *args):
            pass

    server = HTTPServer(('127.0.0.1', 0), Quiet)
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    try:
        url = 'http://127.0.0.1:%d/pub/%s' % (server.server_address[1], name)
        sha = 'sha256:' + fc31tree.sha256_file(srpm)
        res = run_module(tmp_path, check=True, srpm_url=url, srpm_checksum=sha, workdir=work, build_host='b1')
        assert res['changed'] is True and res['downloaded'] is True and res['would_build'] is True, res
        assert res['key'] == '' and res['summary'] == (
            'policy_build: (check mode) would download %s to %s and build it on b1 (cache key known once '
            'downloaded)' % (url, os.path.join(work, 'srpms', name)))
        assert not os.path.exists(os.path.join(work, 'srpms'))
        msg = one_message(run_module(tmp_path, srpm_url=url, srpm_checksum='sha256:' + '0' * 64, workdir=work))
        assert 'does not match srpm_checksum' in msg, msg
        assert not os.path.exists(os.path.join(work, 'srpms', name))
        res = run_module(tmp_path, srpm_url=url, srpm_checksum=sha, workdir=work, build_host='b1')
        dest = os.path.join(work, 'srpms', name)
        assert res['changed'] is True and res['downloaded'] is True and res['cache_hit'] is True, res
        assert res['srpm'] == dest and res['key'] == key and res['built'] is False
        assert oct(os.stat(dest).st_mode & 0o777) == oct(0o600)
        res = run_module(tmp_path, srpm_url=url, srpm_checksum=sha, workdir=work, build_host='b1')
        assert res['changed'] is False and res['downloaded'] is False and res['cache_hit'] is True, res
    finally:
        server.shutdown()
        server.server_close()


# -- dnf download --source: the version of the first host (version_host) -----------------------------------
class _Module(object):
    """What installed_package needs of AnsibleModule, running the real rpm."""

    def get_bin_path(self, name):
        return shutil.which(name)

    def run_command(self, argv):
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              check=False, env=dict(os.environ, LC_ALL='C.UTF-8'))
        return proc.returncode, proc.stdout, proc.stderr


def _rpm_detail_here():
    """What rpm says here about selinux-policy (this machine has none: Debian)."""
    res = policybuild.installed_package(_Module())
    if res['version']:
        pytest.skip('selinux-policy is installed on this machine')
    return res['detail']


def _fake_policy_rpm(tmp_path, version='3.14.4', release='48.fc31'):
    """A binary package named selinux-policy (no files), built with the real rpmbuild."""
    top = os.path.join(str(tmp_path), 'fake')
    os.makedirs(os.path.join(top, 'SPECS'))
    spec = os.path.join(top, 'SPECS', 'p.spec')
    with open(spec, 'w') as f:
        f.write('Name: selinux-policy\nVersion: %s\nRelease: %s\nSummary: s\nLicense: MIT\nBuildArch: noarch\n'
                '%%description\nd\n%%files\n' % (version, release))
    subprocess.run(['rpmbuild', '--define', '_topdir %s' % top, '--nodeps', '-bb', spec], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, HOME=top))
    return os.path.join(top, 'RPMS', 'noarch', 'selinux-policy-%s-%s.noarch.rpm' % (version, release))


def test_installed_package_real_rpm(tmp_path):
    """rpm -q --qf %{VERSION}-%{RELEASE} selinux-policy below a root: no database (none is created),
    an empty one, one with the package."""
    module = _Module()
    root = os.path.join(str(tmp_path), 'root')
    os.makedirs(root)
    dbpath = subprocess.run(['rpm', '--eval', '%{_dbpath}'], stdout=subprocess.PIPE, universal_newlines=True,
                            check=True).stdout.strip()
    res = policybuild.installed_package(module, root)
    assert res == {'version': None, 'detail': 'no rpm database at %s' % os.path.join(root, dbpath.lstrip('/'))}
    assert os.listdir(root) == []
    subprocess.run(['rpm', '--root', root, '--initdb'], check=True)
    assert policybuild.installed_package(module, root) == {'version': None,
                                                           'detail': 'package selinux-policy is not installed'}
    subprocess.run(['rpm', '--root', root, '-i', '--nodeps', '--noscripts', _fake_policy_rpm(tmp_path)], check=True)
    assert policybuild.installed_package(module, root) == {'version': '3.14.4-48.fc31', 'detail': ''}


@pytest.mark.parametrize('check', [True, False])
def test_version_host_is_the_build_host_not_installed(tmp_path, check):
    """The role's first two tasks were rpm -q on the first host and an assert: the module reads it
    itself when the first host builds, in check mode too, and stops with the role's message."""
    detail = _rpm_detail_here()
    work = os.path.join(str(tmp_path), 'work')
    res = run_module(tmp_path, check=check, dnf_download=True, workdir=work, build_host='host1', version_host='host1',
                     version_host_facts={'version': '9-9', 'detail': ''})
    assert one_message(res) == ('selinux-policy is not installed on host1 (%s): set policy_build_srpm_version '
                                '(e.g. 3.14.4-48.fc31) or policy_build_srpm.' % detail)
    assert not os.path.exists(work)


def test_version_host_another_host(tmp_path):
    """Another first host: its perf_mac_facts fact gives the version (check mode: what would be
    downloaded); not installed there, or no fact, is one message; srpm_version, srpm and srpm_url
    win over it (no rpm query, nothing refused)."""
    work = os.path.join(str(tmp_path), 'work')
    base = dict(dnf_download=True, workdir=work, version_host='host1', fetch_dir='/ctl')
    common = dict(base, build_host='builder')
    res = run_module(tmp_path, check=True, version_host_facts={'version': '3.14.4-48.fc31', 'detail': ''}, **common)
    dest = os.path.join(work, 'srpms', 'selinux-policy-3.14.4-48.fc31.src.rpm')
    assert res['changed'] is True and res['would_build'] is True and res['srpm'] == dest, res
    assert res['srpm_version'] == '3.14.4-48.fc31'
    assert res['summary'] == ('policy_build: (check mode) would download selinux-policy-3.14.4-48.fc31 (dnf download '
                              '--source) to %s and build it on builder (cache key known once downloaded)' % dest)
    assert res['fetch'] == [] and res['published'] == dict(res['build'], controller_rpms=[], controller_patch='')
    msg = one_message(run_module(tmp_path, version_host_facts={'version': None, 'detail': 'rpm is not installed'},
                                 **common))
    assert msg == ('selinux-policy is not installed on host1 (rpm is not installed): set policy_build_srpm_version '
                   '(e.g. 3.14.4-48.fc31) or policy_build_srpm.')
    msg = one_message(run_module(tmp_path, check=True, **common))
    assert msg == ('the selinux-policy version installed on host1 is not known on the build host builder '
                   '(perfsec.selinux.perf_mac_facts has not run on host1): set policy_build_srpm_version '
                   '(e.g. 3.14.4-48.fc31) or policy_build_srpm.')
    res = run_module(tmp_path, check=True, srpm_version='1.0-1', build_host='host1', **base)
    assert res['srpm_version'] == '1.0-1' and res['srpm'].endswith('/selinux-policy-1.0-1.src.rpm'), res
    msg = one_message(run_module(tmp_path, srpm='/nonexistent.src.rpm', **common))
    assert msg.startswith('/nonexistent.src.rpm does not exist on the build host builder')
    # without version_host, srpm_version is required (as before)
    msg = one_message(run_module(tmp_path, dnf_download=True, workdir=work))
    assert 'dnf_download needs srpm_version' in msg
    assert not os.path.exists(work)


# -- the controller's view (fetch_dir): the role's Jinja, now in the module -------------------------------
# the role's "Publish the result" and fetch loop before the module computed them
OLD_PUBLISH = ("{{ b.build | combine({'controller_rpms': b.build.rpms | map('regex_replace', '^', d ~ '/') | list, "
               "'controller_patch': (d ~ '/' ~ b.build.patch) if b.build.patch | default('') else ''}, "
               "{} if b.build.would_build | default(false) else {'fetch_dir': d}) }}")
OLD_FETCH = "{{ (b.build.rpms + [b.build.patch | default('')]) | select | list }}"
MANIFEST = {'key': 'c2018af8a9bfea65-bdbe1bf3e49f', 'srpm': '/s/x.src.rpm', 'srpm_nvr': NVR, 'srpm_sha256': 'ab' * 32,
            'release_suffix': '.perf1', 'build_host': 'b1', 'nodeps': True, 'added_classes': [],
            'added_permissions': [], 'patch': 'selinux-policy-perf-events-perfmon.patch', 'rpms': RPMS,
            'srpms': ['x.perf1.src.rpm'], 'checksums': {RPMS[0]: '00' * 32}}


RENDER = """
import json, sys
try:
    from ansible import template as templar_mod
    from ansible.parsing.dataloader import DataLoader
except (ImportError, SyntaxError):  # the 3.6/3.7 lanes have module_utils only (ansible-core 2.16)
    print(json.dumps({'skip': 'no ansible-core controller code on this Python'}))
    sys.exit(0)
if not hasattr(templar_mod, 'trust_as_template'):
    print(json.dumps({'skip': 'ansible-core < 2.19'}))
    sys.exit(0)
v = json.load(sys.stdin)
t = templar_mod.Templar(loader=DataLoader(), variables=v['vars'])
print(json.dumps([t.template(templar_mod.trust_as_template(x)) for x in v['templates']]))
"""


@pytest.mark.parametrize('build', [
    dict(MANIFEST, built=True),                                     # built
    dict(MANIFEST, built=False),                                    # cache hit
    dict(MANIFEST, built=False, patch=''),                          # no patch needed
    {k: v for k, v in MANIFEST.items() if k != 'patch'},            # an old entry without patch
    {'key': MANIFEST['key'], 'srpm': '/s/x.src.rpm', 'srpm_nvr': NVR, 'built': False, 'would_build': True,
     'rpms': []},                                                   # check mode, would build
    {'key': '', 'srpm': '/w/srpms/x.src.rpm', 'srpm_nvr': '', 'built': False, 'would_build': True,
     'rpms': []},                                                   # check mode, would download
], ids=['built', 'hit', 'nopatch', 'nopatchkey', 'wouldbuild', 'woulddownload'])
@pytest.mark.parametrize('fetch_dir', ['/srv/rpms', 'rel/rpms/', '~/rpms'])
def test_published_is_the_roles_jinja(build, fetch_dir):
    """policy_build_result and the fetch items: the same keys and values as the role's Jinja made them,
    rendered by Ansible's own templar (in a child process: importing the controller's templar into this one
    changes how the in-process module tests after it see warnings)."""
    key = build['key']
    cache_dir = '/var/tmp/perfsec-policy-build/cache/' + key if key else ''
    result = {'key': key, 'cache_dir': cache_dir, 'build': build}
    p = subprocess.run([sys.executable, '-c', RENDER], stdout=subprocess.PIPE, universal_newlines=True, check=True,
                       input=json.dumps({'vars': {'b': result, 'd': fetch_dir + '/' + key},
                                         'templates': [OLD_PUBLISH, OLD_FETCH]}))
    got = json.loads(p.stdout)
    if isinstance(got, dict):
        pytest.skip(got['skip'])
    want, names = got
    want_fetch = [{'src': cache_dir + '/' + n, 'dest': fetch_dir + '/' + key + '/'} for n in names]
    fetch, published = policybuild.controller_paths(key, cache_dir, build, fetch_dir)
    assert json.dumps(published, sort_keys=True) == json.dumps(want, sort_keys=True)
    assert fetch == want_fetch
    assert build.get('would_build') or published['fetch_dir'] == fetch_dir + '/' + key


def test_published_values():
    """The same, spelled out (runs on every lane): a cache hit, and check mode before the download."""
    key, cache = MANIFEST['key'], '/w/cache/' + MANIFEST['key']
    fetch, published = policybuild.controller_paths(key, cache, dict(MANIFEST, built=False), '/ctl/')
    ctrl = '/ctl//' + key
    assert fetch == [{'src': cache + '/' + n, 'dest': ctrl + '/'} for n in RPMS + [MANIFEST['patch']]]
    assert published == dict(MANIFEST, built=False, controller_rpms=[ctrl + '/' + n for n in RPMS],
                             controller_patch=ctrl + '/' + MANIFEST['patch'], fetch_dir=ctrl)
    build = {'key': '', 'srpm': '/w/x.src.rpm', 'srpm_nvr': '', 'built': False, 'would_build': True, 'rpms': []}
    assert policybuild.controller_paths('', '', build, '/ctl') == (
        [], dict(build, controller_rpms=[], controller_patch=''))


# -- fails while building: nothing cached ------------------------------------------------------------
def test_unparsable_flask_files_nothing_cached(tmp_path):
    broken = _fixture(fc31tree.broken_flask_srpm, str(tmp_path))
    work = seeded_workdir(tmp_path)
    before = snapshot(work)
    msg = one_message(run_module(tmp_path, srpm=broken, workdir=work))
    assert msg.startswith('cannot patch the flask files: '), msg
    assert re.search(r'policy/flask/access_vectors:\d+: unterminated', msg), msg
    assert 'Nothing was built and nothing cached' in msg
    assert snapshot(work) == before


@pytest.mark.slow
def test_failing_rpmbuild_nothing_cached(tmp_path):
    srpm = _fixture(fc31tree.unbuildable_srpm, str(tmp_path))
    work = seeded_workdir(tmp_path)
    before = snapshot(work)
    msg = one_message(run_module(tmp_path, srpm=srpm, workdir=work))
    assert msg.startswith('rpmbuild --noclean --noprep -ba '), msg
    assert 'failed (rc 1)' in msg and 'Nothing was cached (the cache is as it was).' in msg, msg
    assert 'make' in msg  # the tail of rpmbuild's output says why
    assert snapshot(work) == before
    # keep_tree keeps the failed tree for inspection, and still caches nothing
    res = run_module(tmp_path, srpm=srpm, workdir=work, keep_tree=True)
    one_message(res)
    after = snapshot(work)
    assert {k: v for k, v in after.items() if not k.startswith('build' + os.sep)} == before
    assert any(k.endswith(os.path.join('policy', 'flask', 'access_vectors')) for k in after)


# -- the real build --------------------------------------------------------------------------------
@pytest.mark.slow
def test_check_build_then_cache_hit(tmp_path):
    srpm = _fixture(fc31tree.fc31_srpm)
    work = os.path.join(str(tmp_path), 'work')
    sha = fc31tree.sha256_file(srpm)
    key = sha[:16] + '-bdbe1bf3e49f'

    # check mode: the key and that it would build; nothing written, not even the workdir
    res = run_module(tmp_path, check=True, diff=True, srpm=srpm, workdir=work, build_host='build1')
    assert res['changed'] is True and res['would_build'] is True and res['built'] is False, res
    assert res['key'] == key and res['cache_hit'] is False
    assert res['build'] == {'key': key, 'srpm': srpm, 'srpm_nvr': NVR, 'built': False, 'would_build': True,
                            'rpms': []}
    assert res['summary'] == 'policy_build: (check mode) would build %s on build1 (cache key %s)' % (NVR, key)
    assert not os.path.exists(work)

    # the build
    res = run_module(tmp_path, diff=True, srpm=srpm, workdir=work, build_host='build1')
    assert res.get('failed') is not True, res.get('msg')
    assert res['changed'] is True and res['built'] is True and res['cache_hit'] is False, res
    assert res['summary'] == ("policy_build: built %s on build1 (cache key %s; added classes ['perf_event'], "
                              "permissions ['perfmon'])" % (NVR, key))
    entry = os.path.join(work, 'cache', key)
    assert res['cache_dir'] == entry
    m = res['build']
    assert set(m) == ROLE_MANIFEST_KEYS | {'checksums', 'built'}
    assert m['rpms'] == RPMS and m['srpms'] == ['selinux-policy-2.20221101-48.fc31like.perf1.src.rpm']
    assert m['patch'] == 'selinux-policy-perf-events-perfmon.patch' and m['nodeps'] is True
    assert m['srpm_sha256'] == sha and m['srpm_nvr'] == NVR and m['build_host'] == 'build1'
    assert [c['class'] for c in m['added_classes']] == ['perf_event']
    assert m['added_permissions'] == [{'class': 'capability2', 'permission': 'perfmon', 'block': 'common cap2'}]
    files = sorted(os.listdir(entry))
    assert files == sorted(RPMS + m['srpms'] + [m['patch'], 'manifest.json'])
    assert m['checksums'] == {n: fc31tree.sha256_file(os.path.join(entry, n)) for n in files if n != 'manifest.json'}
    with open(os.path.join(entry, 'manifest.json')) as f:
        text = f.read()
    assert json.loads(text) == {k: v for k, v in m.items() if k != 'built'}
    assert text == json.dumps(json.loads(text), indent=4, sort_keys=True, separators=(',', ': ')) + '\n'
    assert json.loads(res['diff']['after']) == json.loads(text) and res['diff']['before'] == ''
    with open(os.path.join(entry, m['patch'])) as f:
        assert '+class perf_event\n' in f.read()
    # the packages carry the patched policy and the suffix
    for name in RPMS:
        q = subprocess.run(['rpm', '-qp', '--nosignature', '--qf', '%{RELEASE}', os.path.join(entry, name)],
                           stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
        assert q == '48.fc31like.perf1'
    # the build tree is gone, the cache holds one entry and no leftovers
    assert os.listdir(os.path.join(work, 'build')) == [] and os.listdir(os.path.join(work, 'cache')) == [key]
    state = snapshot(work)

    # second run: a cache hit, nothing changed, same manifest
    res2 = run_module(tmp_path, diff=True, srpm=srpm, workdir=work, build_host='build1')
    assert res2['changed'] is False and res2['cache_hit'] is True and res2['built'] is False, res2
    assert 'diff' not in res2
    assert res2['build'] == dict(m, built=False)
    assert res2['summary'] == 'policy_build: cache hit %s for %s on build1: nothing to build' % (key, NVR)
    # check mode now: nothing to build
    res3 = run_module(tmp_path, check=True, srpm=srpm, workdir=work, build_host='build1')
    assert res3['changed'] is False and res3['would_build'] is False and res3['key'] == key
    # another request is another key (a miss), the existing entry is not touched
    res4 = run_module(tmp_path, check=True, srpm=srpm, workdir=work, build_host='build1', perfmon=False)
    assert res4['key'] != key and res4['would_build'] is True
    assert snapshot(work) == state
