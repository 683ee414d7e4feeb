# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The selinux-policy rebuild: source RPM -> cached rebuilt RPMs + manifest.

The seed's procedure (rpm -i the SRPM into a private _topdir, rpmbuild -bp, add the flask
declarations, rpmbuild --noclean --noprep -ba with a release suffix), with a build cache on
the build host keyed by the SRPM's sha256 and what the patch adds. A cache entry is a
directory ``<workdir>/cache/<key>`` holding the RPMs, the patch and ``manifest.json``; it is
assembled in a temporary directory next to it and renamed into place when complete, so a
failed build never leaves a half-written entry.

Everything that runs a command goes through ``module.run_command`` with an argv list; the
errors are ``BuildError`` with one message naming what to do next. Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import io
import json
import os
import re
import shutil
import tempfile

from ansible_collections.perfsec.selinux.plugins.module_utils.common import rooted
from ansible_collections.perfsec.selinux.plugins.module_utils.flask import (
    ACCESS_VECTORS, FlaskError, default_requests, ensure)

# Bump when the way the packages are patched/built changes: it is part of the cache key
# (1: the recipe of roles/policy_build before the module, whose cache entries stay valid).
RECIPE = 1
PATCH_NAME = 'selinux-policy-perf-events-perfmon.patch'
MANIFEST = 'manifest.json'
TOPDIR_DIRS = ('BUILD', 'BUILDROOT', 'RPMS', 'SOURCES', 'SPECS', 'SRPMS')
HEADER_QUERY = '%{NAME}|%{VERSION}|%{RELEASE}|%{SOURCERPM}'
PACKAGE = 'selinux-policy'
# the installed selinux-policy, as dnf download --source takes it (VERSION-RELEASE)
VERSION_QUERY = '%{VERSION}-%{RELEASE}'
# how deep below BUILD the prepared tree's policy/flask/access_vectors may be (rpm >= 4.20
# adds a NAME-VERSION-build level)
FLASK_DEPTH = 5
# lines of a failed command's output quoted in the error
OUTPUT_TAIL = 25


class BuildError(Exception):
    """A build that cannot go on; ``str()`` is the one message for fail_json."""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def _squash(text):
    return ' '.join((text or '').split())


def _tail(out, err):
    lines = [x for x in ((out or '') + '\n' + (err or '')).splitlines() if x.strip()]
    return '\n'.join(lines[-OUTPUT_TAIL:])


def request(suffix, perfmon, perf_event, extra_permissions, extra_classes):
    """What the build adds, as the cache key hashes it (key order matters: it is hashed as JSON)."""
    # a list of pairs, not a dict literal: Python 3.6 must keep this order too
    return [('recipe', RECIPE), ('suffix', suffix), ('perfmon', perfmon), ('perf_event', perf_event),
            ('extra_permissions', extra_permissions or {}), ('extra_classes', extra_classes or {})]


def cache_key(srpm_sha256, req):
    """``<first 16 of the SRPM sha256>-<first 12 of the sha256 of the request as JSON>``.

    The JSON is what Ansible's to_json made of the same request (json.dumps defaults), so the
    keys of builds made by the role before this module stay the same.
    """
    body = '{%s}' % ', '.join('%s: %s' % (json.dumps(k), json.dumps(v)) for k, v in req)
    return '%s-%s' % (srpm_sha256[:16], hashlib.sha256(body.encode('utf-8')).hexdigest()[:12])


def check_paths(srpm, workdir):
    """Refuse values rpm would read as options or macros (they are rpm arguments / in _topdir)."""
    if (srpm and not srpm.startswith('/')) or not workdir.startswith('/') or '%' in workdir:
        raise BuildError(
            'policy_build_srpm (%s) must be empty or an absolute path, and policy_build_workdir (%s) an '
            'absolute path without %%: they are passed to rpm as arguments (a value starting with - would '
            'be an option) and in the _topdir macro (rpm expands %%(...) there as a shell command).'
            % (json.dumps(srpm[:80]), json.dumps(workdir[:80])))


def makedirs(path, mode=0o700):
    """Create ``path`` (and parents) with ``mode``; return True when something was created."""
    if os.path.isdir(path):
        return False
    parent = os.path.dirname(path.rstrip('/'))
    if parent and parent != path:
        makedirs(parent, mode)
    os.mkdir(path, mode)
    os.chmod(path, mode)
    return True


def inspect_srpm(module, srpm):
    """Check the digests and the header; return (name-version-release, sha256).

    A truncated or corrupt file, or another package, is refused with the output of rpm.
    """
    rpm = module.get_bin_path('rpm', required=True)
    rc1, out1, err1 = module.run_command([rpm, '--checksig', '--nosignature', srpm])
    rc2, out2, err2 = module.run_command([rpm, '-qp', '--nosignature', '--qf', HEADER_QUERY, srpm])
    fields = out2.strip().split('|')
    if rc1 != 0 or rc2 != 0 or len(fields) != 4 or fields[0] != PACKAGE or fields[3] != '(none)':
        raise BuildError(
            '%s is not a usable selinux-policy source RPM (%s; header: %s). Download it again (or set '
            'policy_build_srpm to a good copy); nothing was built and no host\'s policy was touched.'
            % (srpm, _squash(out1 + ' ' + err1 + ' ' + err2), _squash(out2)))
    return '-'.join(fields[:3]), sha256_file(srpm)


def installed_package(module, root='/'):
    """The installed selinux-policy of this host (below ``root``): ``{'version': VERSION-RELEASE,
    'detail': ''}``, or version None and ``detail`` saying why (rpm's words, e.g. ``package
    selinux-policy is not installed``). Read-only: rpm -q creates an empty database where there
    is none, so it is asked only where one exists."""
    rpm = module.get_bin_path('rpm')
    if not rpm:
        return {'version': None, 'detail': 'rpm is not installed'}
    rc, out, _err = module.run_command([rpm, '--eval', '%{_dbpath}'])
    dbpath = out.strip()
    if rc != 0 or not dbpath.startswith('/') or not os.path.isdir(rooted(root, dbpath)):
        return {'version': None, 'detail': 'no rpm database at %s' % rooted(root, dbpath)}
    argv = [rpm] + (['--root', root] if root != '/' else []) + ['-q', '--qf', VERSION_QUERY, PACKAGE]
    rc, out, err = module.run_command(argv)
    if rc != 0 or not out.strip():
        return {'version': None, 'detail': _squash(out) or _squash(err) or 'rc %d' % rc}
    return {'version': out.strip(), 'detail': ''}


def not_installed(host, detail):
    """The message when dnf download --source needs the version of ``host`` and there is none."""
    return ('selinux-policy is not installed on %s (%s): set policy_build_srpm_version (e.g. 3.14.4-48.fc31) '
            'or policy_build_srpm.' % (host, detail))


def controller_paths(key, cache_dir, build, fetch_dir):
    """(the files to fetch, the build as the role publishes it) for the controller directory
    ``fetch_dir``: the RPMs and the patch go to ``fetch_dir/key/``; the published build adds
    controller_rpms, controller_patch and, unless it would build, fetch_dir (as the role's
    Jinja did: plain string concatenation, so the values stay the same)."""
    ctrl = '%s/%s' % (fetch_dir, key)
    rpms = list(build.get('rpms') or [])
    patch = build.get('patch') or ''
    fetch = [{'src': '%s/%s' % (cache_dir, name), 'dest': ctrl + '/'} for name in rpms + [patch] if name]
    published = dict(build)
    published['controller_rpms'] = ['%s/%s' % (ctrl, name) for name in rpms]
    published['controller_patch'] = '%s/%s' % (ctrl, patch) if patch else ''
    if not build.get('would_build'):
        published['fetch_dir'] = ctrl
    return fetch, published


def mark_release(spec, suffix):
    """Append ``suffix`` to the spec's Release: (once; as the role's replace task did)."""
    if not suffix:
        return False
    with io.open(spec, encoding='utf-8', errors='surrogateescape', newline='') as f:
        text = f.read()
    pattern = re.compile(r'^(Release:\s*)(\S+?)(?:%s)?\s*$' % re.escape(suffix), re.MULTILINE)
    new = pattern.sub(lambda m: m.group(1) + m.group(2) + suffix, text)
    if new == text:
        return False
    with io.open(spec, 'w', encoding='utf-8', errors='surrogateescape', newline='') as f:
        f.write(new)
    return True


def find_flask_tree(build_dir):
    """The directory holding policy/flask/ below rpmbuild's BUILD (exactly one is expected)."""
    found = []
    tail = os.sep + ACCESS_VECTORS
    for dirpath, dirnames, filenames in os.walk(build_dir):
        depth = os.path.relpath(dirpath, build_dir).count(os.sep) + (dirpath != build_dir)
        if depth >= FLASK_DEPTH:
            del dirnames[:]
            continue
        path = os.path.join(dirpath, 'access_vectors')
        if 'access_vectors' in filenames and path.endswith(tail):
            found.append(path)
    return sorted(found)


def find_packages(topdir):
    out = []
    for sub in ('RPMS', 'SRPMS'):
        for dirpath, _dirs, filenames in os.walk(os.path.join(topdir, sub)):
            out.extend(os.path.join(dirpath, n) for n in filenames
                       if n.endswith('.rpm') and not n.startswith('.'))
    return out


def read_manifest(entry):
    """The manifest of a complete cache entry, or None (no entry, or one that is not usable).

    Complete means: manifest.json parses and every file it lists is there (and, when it has
    checksums, has them). Entries written by the role before this module carry no checksums:
    they are computed here (not written back).
    """
    try:
        with open(os.path.join(entry, MANIFEST)) as f:
            manifest = json.load(f)
    except (IOError, OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get('rpms'), list):
        return None
    names = list(manifest['rpms']) + list(manifest.get('srpms') or []) + [manifest.get('patch') or '']
    sums = {}
    for name in [n for n in names if n]:
        path = os.path.join(entry, name)
        if not os.path.isfile(path):
            return None
        sums[name] = sha256_file(path)
    want = manifest.get('checksums')
    if want is not None and want != sums:
        return None
    manifest['checksums'] = sums
    return manifest


def manifest_text(manifest):
    """As the role wrote it (to_nice_json + newline)."""
    return json.dumps(manifest, indent=4, sort_keys=True, separators=(',', ': ')) + '\n'


class PolicyBuild(object):
    """One build request. ``p``: the module's parameters (see perf_policy_build)."""

    def __init__(self, module, p):
        self.module = module
        self.p = p
        self.workdir = p['workdir'].rstrip('/') or '/'
        self.key = None
        self.srpm = None
        self.nvr = None
        self.sha256 = None

    # -- paths ---------------------------------------------------------------------------
    def entry(self):
        return os.path.join(self.workdir, 'cache', self.key)

    def build_dir(self):
        return os.path.join(self.workdir, 'build', self.key)

    def topdir(self):
        return os.path.join(self.build_dir(), 'rpmbuild')

    def run(self, argv, what):
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            raise BuildError('%s failed (rc %d): %s\nNothing was cached (the cache is as it was).'
                             % (what, rc, _tail(out, err)))
        return out

    # -- the key -------------------------------------------------------------------------
    def request(self):
        p = self.p
        return request(p['release_suffix'], p['perfmon'], p['perf_event'],
                       p['extra_permissions'], p['extra_classes'])

    def identify(self, srpm):
        self.srpm = srpm
        self.nvr, self.sha256 = inspect_srpm(self.module, srpm)
        self.key = cache_key(self.sha256, self.request())
        return self.key

    def lookup(self):
        return read_manifest(self.entry())

    # -- the build -----------------------------------------------------------------------
    def nodeps(self):
        mode = self.p['nodeps']
        if mode != 'auto':
            return mode == 'always'
        # an rpm database that does not know rpm itself (Debian/Ubuntu: the tools are dpkg packages)
        rc, _out, _err = self.module.run_command([self.module.get_bin_path('rpm', required=True), '-q', 'rpm'])
        return rc != 0

    def build(self, permissions, classes):
        """Build into <workdir>/build/<key> and publish <workdir>/cache/<key>; return the manifest."""
        for sub in ('', 'cache', 'build'):
            makedirs(os.path.join(self.workdir, sub))
        build_dir = self.build_dir()
        if os.path.lexists(build_dir):
            # a failed earlier build may have left one
            shutil.rmtree(build_dir)
        try:
            manifest = self._build(permissions, classes)
        except BaseException:
            if not self.p['keep_tree']:
                shutil.rmtree(build_dir, ignore_errors=True)
            raise
        if not self.p['keep_tree']:
            shutil.rmtree(build_dir, ignore_errors=True)
        return manifest

    def _build(self, permissions, classes):
        topdir = self.topdir()
        for sub in TOPDIR_DIRS:
            makedirs(os.path.join(topdir, sub))
        nodeps = self.nodeps()
        rpm = self.module.get_bin_path('rpm', required=True)
        rpmbuild = [self.module.get_bin_path('rpmbuild', required=True), '--define', '_topdir ' + topdir]
        if nodeps:
            rpmbuild.append('--nodeps')
        self.run([rpm, '-i', '--nosignature', '--define', '_topdir ' + topdir, self.srpm],
                 'rpm -i of %s into %s' % (self.srpm, topdir))
        specs = sorted(n for n in os.listdir(os.path.join(topdir, 'SPECS')) if n.endswith('.spec'))
        if len(specs) != 1:
            raise BuildError('%s holds %d spec files, expected one' % (self.srpm, len(specs)))
        spec = os.path.join(topdir, 'SPECS', specs[0])
        mark_release(spec, self.p['release_suffix'])
        if self.p['builddep'] and not nodeps:
            dnf = self.module.get_bin_path('dnf')
            if not dnf:
                raise BuildError('dnf builddep: dnf is not installed on the build host; install the build '
                                 'dependencies yourself and set policy_build_builddep=false (or '
                                 'policy_build_nodeps=always). Nothing was built.')
            self.run([dnf, 'builddep', '-y', spec], 'dnf builddep -y %s' % spec)
        self.run(rpmbuild + ['-bp', spec], 'rpmbuild -bp %s' % spec)

        trees = find_flask_tree(os.path.join(topdir, 'BUILD'))
        if len(trees) != 1:
            raise BuildError('rpmbuild -bp of %s left %d policy/flask/access_vectors files under %s/BUILD; '
                             'expected one' % (self.srpm, len(trees), topdir))
        tree = os.path.dirname(os.path.dirname(os.path.dirname(trees[0])))
        try:
            res = ensure(tree, permissions, classes)
        except FlaskError as e:
            raise BuildError('cannot patch the flask files: %s. Nothing was built and nothing cached; the '
                             'source RPM does not hold a policy tree this collection can patch.' % e)
        for f in res['files']:
            if f['changed']:
                with open(f['path'], 'wb') as out:
                    out.write(f['after'].encode('utf-8'))

        self.run(rpmbuild + ['--noclean', '--noprep', '-ba', spec], 'rpmbuild --noclean --noprep -ba %s' % spec)
        found = find_packages(topdir)
        names = [os.path.basename(x) for x in found]
        suffix = self.p['release_suffix']
        if len(found) < 2 or [n for n in names if suffix not in n]:
            raise BuildError('rpmbuild wrote %s: expected binary packages whose release ends in %s (does the '
                             'spec have a plain "Release:" line?)' % (sorted(names), suffix))
        manifest = {
            'key': self.key,
            'srpm': self.srpm,
            'srpm_nvr': self.nvr,
            'srpm_sha256': self.sha256,
            'release_suffix': suffix,
            'build_host': self.p['build_host'],
            'nodeps': nodeps,
            'added_classes': res['added_classes'],
            'added_permissions': res['added_permissions'],
            'patch': PATCH_NAME if res['patch'] else '',
            'rpms': sorted(n for n in names if not n.endswith('.src.rpm')),
            'srpms': sorted(n for n in names if n.endswith('.src.rpm')),
        }
        self.publish(manifest, found, res['patch'])
        return manifest

    def publish(self, manifest, files, patch):
        """Assemble the entry in a temporary directory and rename it into place."""
        cache = os.path.dirname(self.entry())
        tmp = tempfile.mkdtemp(prefix='.%s-' % self.key, dir=cache)
        try:
            sums = {}
            for src in files:
                dest = os.path.join(tmp, os.path.basename(src))
                shutil.copyfile(src, dest)
                os.chmod(dest, 0o644)
                sums[os.path.basename(src)] = sha256_file(dest)
            if patch:
                with open(os.path.join(tmp, PATCH_NAME), 'wb') as f:
                    f.write(patch.encode('utf-8'))
                os.chmod(os.path.join(tmp, PATCH_NAME), 0o644)
                sums[PATCH_NAME] = sha256_file(os.path.join(tmp, PATCH_NAME))
            manifest['checksums'] = sums
            with open(os.path.join(tmp, MANIFEST), 'w') as f:
                f.write(manifest_text(manifest))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(os.path.join(tmp, MANIFEST), 0o644)
            entry = self.entry()
            if os.path.lexists(entry):
                # an incomplete entry (no usable manifest): move it aside, then drop it
                old = tempfile.mkdtemp(prefix='.%s-old-' % self.key, dir=cache)
                os.rename(entry, os.path.join(old, 'entry'))
                shutil.rmtree(old, ignore_errors=True)
            os.rename(tmp, entry)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def flask_requests(p):
    """(permissions, classes) for flask.ensure from the module's (normalised) options."""
    return default_requests(perfmon=p['perfmon'], perf_event=p['perf_event'],
                            extra_permissions=p['extra_permissions_names'],
                            extra_classes=p['extra_classes_names'])
