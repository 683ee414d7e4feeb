# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy packages on a host: install the rebuilt selinux-policy RPMs, keep the originals
and a record for rollback, and put the originals back (perfsec.selinux.perf_policy_packages).

The record of one install is a directory ``<backup_dir>/<key>`` (mode 0700):
``previous-packages.txt`` (the ``selinux-policy*`` packages installed before the first install,
one NAME-VERSION-RELEASE.ARCH a line, sorted), ``previous/`` (copies of them: ``dnf download``,
or files the controller gave), ``new/`` (the rebuilt RPMs, copied there by the module's action plugin),
``state.json`` (keys previous, installed, root, kept_copies; written only after an install
that worked; plan.policy_record and perf_mac_facts read it) and, after a rollback, ``rolled-back``.

Every command is an argv list through ``module.run_command``; errors are ``PackagesError`` with
one message naming what to do next. Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import hashlib
import json
import os
import shutil

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils.common import atomic_write, rooted
from ansible_collections.perfsec.selinux.plugins.module_utils.selinuxfs import read_config, runtime_state

POLICY_BACKUP_DIR = C.POLICY_BACKUP_DIR
PACKAGE_GLOB = 'selinux-policy*'
NVRA = '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}'
RECORD = 'previous-packages.txt'
STATE = 'state.json'
ROLLED_BACK = 'rolled-back'
DEFAULT_POLICY_TYPE = 'targeted'
FILE_CONTEXTS = '/etc/selinux/%s/contexts/files/file_contexts'
# lines of a failed command's output quoted in the error
OUTPUT_TAIL = 25


class PackagesError(Exception):
    """What stops the module; ``str()`` is the one message for fail_json."""


def _tail(out, err):
    lines = [x for x in ((out or '') + '\n' + (err or '')).splitlines() if x.strip()]
    return '\n'.join(lines[-OUTPUT_TAIL:])


def _squash(text):
    return ' '.join((text or '').split())


def sha256_file(path):
    """sha256 of a file, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
    except (IOError, OSError):
        return None
    return h.hexdigest()


def makedirs(path, mode=0o700):
    """Create ``path`` with ``mode`` (missing parents 0755); True when it was created."""
    if os.path.isdir(path):
        return False
    parent = os.path.dirname(path.rstrip('/'))
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o755)
    os.mkdir(path, mode)
    os.chmod(path, mode)
    return True


def record_dirs_to_secure(record_dir):
    """The record directories (record_dir, its previous/ and new/) that exist and are not 0700: the
    copy (the action plugin) creates them with the default mode; the module keeps them root-only."""
    out = []
    for sub in ('', 'previous', 'new'):
        d = os.path.join(record_dir, sub).rstrip('/')
        if os.path.isdir(d) and not os.path.islink(d) and os.stat(d).st_mode & 0o777 != 0o700:
            out.append(d)
    return out


def name_of(nvra):
    """NAME of a NAME-VERSION-RELEASE.ARCH string (a file's basename without .rpm)."""
    base = nvra[:-len('.rpm')] if nvra.endswith('.rpm') else nvra
    if '.' in base:
        base = base.rsplit('.', 1)[0]
    parts = base.rsplit('-', 2)
    return parts[0] if len(parts) == 3 else base


def file_contexts_path(root='/'):
    """The file_contexts of the policy /etc/selinux/config names (SELINUXTYPE, else targeted), as
    the host (or the packages) see it: under ``root``, use common.rooted."""
    policy_type = read_config(rooted(root, C.SELINUX_CONFIG)).get('policy_type') or DEFAULT_POLICY_TYPE
    return FILE_CONTEXTS % policy_type


def key_problem(key):
    """Why ``key`` cannot name the record directory under backup_dir (None when it can: one
    directory name). The action plugin copies nothing for such a key; the module refuses it."""
    key = key or ''
    if not key or '/' in key or key in ('.', '..'):
        return ('key %s must be one directory name (the record directory under backup_dir). '
                'Nothing was changed.' % json.dumps(key[:80]))
    return None


def record_dir_of(backup_dir, key):
    """The record directory of one install, ``<backup_dir>/<key>``."""
    return os.path.join(backup_dir.rstrip('/') or '/', key)


def check_absolute(what, value):
    if not value or not value.startswith('/'):
        raise PackagesError(
            '%s (%s) must be an absolute path: the package paths passed to rpm and dnf start with it '
            '(a value starting with - would be an option). Nothing was changed.' % (what, json.dumps(value[:80])))


class Rpm(object):
    """rpm on one root; ``nodeps()`` decides ``--nodeps`` once."""

    def __init__(self, module, root='/', nodeps='auto'):
        self.module = module
        self.root = root
        self.mode = nodeps
        self._nodeps = None
        self.base = [module.get_bin_path('rpm', required=True)] + (['--root', root] if root != '/' else [])

    def run(self, args):
        return self.module.run_command(self.base + list(args))

    def nodeps(self):
        """--nodeps? always / never, or auto: when this root's rpm database does not know rpm
        itself (Debian, where dpkg owns the system and rpm's database is empty)."""
        if self._nodeps is None:
            if self.mode == 'auto':
                rc, _out, _err = self.run(['-q', 'rpm'])
                self._nodeps = rc != 0
            else:
                self._nodeps = self.mode == 'always'
        return self._nodeps

    def installed(self, nvras):
        """True when every one of ``nvras`` is installed (rpm -q)."""
        if not nvras:
            return False
        rc, _out, _err = self.run(['-q'] + list(nvras))
        return rc == 0

    def query_all(self, pattern=PACKAGE_GLOB):
        """[(NAME, NVRA)] of the installed packages matching ``pattern``, sorted by NVRA."""
        rc, out, err = self.run(['-qa', '--qf', '%{NAME}|' + NVRA + '\\n', pattern])
        if rc != 0:
            raise PackagesError('rpm -qa %s failed (rc %d): %s. Nothing was changed.'
                                % (pattern, rc, _squash(err or out)))
        rows = []
        for line in out.splitlines():
            if '|' in line:
                name, nvra = line.strip().split('|', 1)
                rows.append((name, nvra))
        return sorted(set(rows), key=lambda r: r[1])

    def headers(self, files):
        """[(NAME, NVRA)] of RPM files, read from their headers; a file that is not an RPM, or
        is corrupt (truncated, bad digests), is refused with rpm's words."""
        rows = []
        bad = []
        for path in files:
            rc, out, err = self.module.run_command([self.base[0], '-qp', '--nosignature', '--qf',
                                                    '%{NAME}|' + NVRA + '|%{SOURCERPM}\\n', path])
            fields = out.strip().split('|')
            if rc != 0 or len(fields) != 3 or not fields[0]:
                bad.append('%s (%s)' % (path, _squash(err or out) or 'rc %d' % rc))
                continue
            if fields[2] == '(none)':
                bad.append('%s (a source package)' % path)
                continue
            rows.append((fields[0], fields[1]))
        if bad:
            raise PackagesError('not usable binary RPMs: %s. Copy good packages to the host again (for the '
                                'rebuilt ones, run perfsec.selinux.policy_build again); nothing was installed '
                                'and nothing recorded.' % '; '.join(bad))
        return rows

    def checksig(self, files):
        """The files' digests (header and payload) are intact; a truncated payload fails here."""
        rc, out, err = self.module.run_command([self.base[0], '--checksig', '--nosignature'] + list(files))
        if rc != 0:
            raise PackagesError('the packages are corrupt (rpm --checksig --nosignature: %s). Copy good packages '
                                'to the host again; nothing was installed and nothing recorded.'
                                % _squash(_tail(out, err)))


def _record_dirs(backup_dir):
    """Directories under ``backup_dir`` (itself and one level below) holding previous-packages.txt."""
    found = []
    for path in [os.path.join(backup_dir, RECORD)] + glob.glob(os.path.join(glob.escape(backup_dir), '*', RECORD)):
        if os.path.isfile(path):
            found.append(path)
    return found


def _write(module, path, text, mode=0o600):
    atomic_write(module, path, text, mode=mode)


class Packages(object):
    """One call of perf_policy_packages. ``p``: the module's parameters."""

    def __init__(self, module, p):
        self.module = module
        self.p = p
        self.root = (p['root'] or '/').rstrip('/') or '/'
        self.rpm = Rpm(module, self.root, p['nodeps'])
        self.dnf = module.get_bin_path('dnf')

    # -- state: rebuilt ------------------------------------------------------------------
    def method(self):
        m = self.p['method']
        if m == 'auto':
            return 'dnf' if (self.dnf and self.root == '/') else 'rpm'
        if m == 'dnf' and not self.dnf:
            raise PackagesError('method=dnf but dnf is not installed on this host: use method rpm (or auto). '
                                'Nothing was changed.')
        return m

    def rebuilt(self):
        p, module = self.p, self.module
        check_absolute('backup_dir', p['backup_dir'])
        check_absolute('root', p['root'])
        if key_problem(p['key']):
            raise PackagesError(key_problem(p['key']))
        files = list(p['packages'])
        for f in files + list(p['previous_packages']):
            check_absolute('packages and previous_packages', f)
        record_dir = record_dir_of(p['backup_dir'], p['key'])
        state_file = os.path.join(record_dir, STATE)
        enabled = runtime_state()['enabled']
        result = dict(changed=False, skipped=False, reason='already installed', installed=[], previous=[],
                      relabel_needed=False, state_file=state_file, file_contexts_changed=False,
                      nodeps=False, method='', record_dir=record_dir, kept_copies=False, msg='')
        if not files:
            if not module.check_mode:
                raise PackagesError('no packages to install: give packages (host paths of the rebuilt RPMs; run '
                                    'perfsec.selinux.policy_build first). Nothing was changed.')
            result.update(changed=True, reason='installed', relabel_needed=not enabled, method=self.method(),
                          file_contexts_changed=None,
                          msg='(check mode) would install the rebuilt packages (none given: perfsec.selinux.'
                              'policy_build builds them in the real run)')
            return result

        missing = [f for f in files if not os.path.isfile(f)]
        if missing and not module.check_mode:
            raise PackagesError('%s not found on the host: copy the rebuilt RPMs there first. Nothing was '
                                'changed.' % ', '.join(missing))
        if missing:
            # check mode: the role has not copied them; their names are their file names
            rows = [(name_of(os.path.basename(f)), os.path.basename(f)[:-4] if f.endswith('.rpm')
                     else os.path.basename(f)) for f in files]
        else:
            rows = self.rpm.headers(files)
        nvras = [r[1] for r in rows]
        names = set(r[0] for r in rows)
        before_rows = self.rpm.query_all()
        previous = sorted(r[1] for r in before_rows)
        result['previous'] = previous
        result['method'] = self.method()
        if self.rpm.installed(nvras):
            result['msg'] = '%s already installed' % ', '.join(nvras)
            loose = record_dirs_to_secure(record_dir)
            if loose:
                if not module.check_mode:
                    for d in loose:
                        os.chmod(d, 0o700)
                result.update(changed=True, msg='%s; %s the record directories root-only (0700): %s'
                              % (result['msg'], 'would make' if module.check_mode else 'made', ', '.join(loose)))
            return result

        if not missing:
            self.rpm.checksig(files)
        after = sorted([r[1] for r in before_rows if r[0] not in names] + nvras)
        if module._diff:
            result['diff'] = dict(before='\n'.join(previous) + '\n', after='\n'.join(after) + '\n',
                                  before_header='%s (rpm -qa)' % PACKAGE_GLOB,
                                  after_header='%s (rpm -qa)' % PACKAGE_GLOB)
        use_rpm = result['method'] == 'rpm'
        result.update(changed=True, reason='installed', installed=nvras, relabel_needed=not enabled,
                      nodeps=self.rpm.nodeps() if use_rpm else False,
                      kept_copies=bool(p['previous_packages']))
        fc_path = file_contexts_path(self.root)
        fc_before = sha256_file(rooted(self.root, fc_path))
        if module.check_mode:
            result.update(file_contexts_changed=self.predict_file_contexts(files if not missing else [], fc_path,
                                                                           fc_before),
                          msg='(check mode) %s would be installed' % ', '.join(nvras))
            return result

        for sub in ('', 'previous', 'new'):
            if not makedirs(os.path.join(record_dir, sub)):
                os.chmod(os.path.join(record_dir, sub), 0o700)
        record = os.path.join(record_dir, RECORD)
        wrote_record = False
        if not os.path.exists(record):
            _write(module, record, '\n'.join(previous) + '\n')
            wrote_record = True
        kept = self.keep_previous(record_dir, previous)
        result['kept_copies'] = kept
        if previous and not kept:
            module.warn('could not keep copies of %s (%s); their names are in %s; rollback will '
                        'need them from a repository.' % (previous, self._download_problem, record))

        argv = self.install_argv(result['method'], files)
        rc, out, err = module.run_command(argv)
        if rc != 0:
            now = sorted(r[1] for r in self.rpm.query_all())
            if now == previous:
                if wrote_record:
                    os.unlink(record)
                state = 'the installed packages are as they were (%s)' % (', '.join(previous) or 'none')
            else:
                state = ('the installed selinux-policy packages are now %s (were %s); %s is kept for rollback'
                         % (', '.join(now) or 'none', ', '.join(previous) or 'none', record))
            raise PackagesError('%s of %s failed (rc %d): %s\n%s; no install record was written (%s). Fix the '
                                'cause named above and run again.'
                                % (self.describe(argv), ', '.join(nvras), rc, _tail(out, err), state, state_file))
        fc_after = sha256_file(rooted(self.root, fc_path))
        data = {'previous': previous, 'installed': nvras, 'root': p['root'], 'kept_copies': kept}
        _write(module, state_file, json.dumps(data, indent=4, sort_keys=True, separators=(',', ': ')) + '\n')
        result.update(file_contexts_changed=fc_before != fc_after,
                      msg='%s installed (%s)' % (', '.join(nvras), self.describe(argv)))
        if module._diff:
            result['diff']['after'] = '\n'.join(sorted(r[1] for r in self.rpm.query_all())) + '\n'
        return result

    _download_problem = 'dnf not available'

    def keep_previous(self, record_dir, previous):
        """Copies of the packages being replaced in record_dir/previous: dnf download (dnf, root /)
        and the files the controller gave. True when any copy was kept this way."""
        dest = os.path.join(record_dir, 'previous')
        kept = False
        if previous and self.dnf and self.root == '/':
            rc, out, err = self.module.run_command([self.dnf, 'download', '--destdir', dest] + list(previous))
            if rc == 0:
                kept = True
            else:
                self._download_problem = _squash(err or out) or 'dnf download rc %d' % rc
        for src in self.p['previous_packages']:
            target = os.path.join(dest, os.path.basename(src))
            if not os.path.exists(target):
                if not os.path.isfile(src):
                    raise PackagesError('previous_packages: %s not found on the host (copy it there first). The '
                                        'policy was not touched.' % src)
                shutil.copyfile(src, target)
                os.chmod(target, 0o600)
            kept = True
        return kept

    def install_argv(self, method, files):
        if method == 'dnf':
            argv = [self.dnf, 'install', '-y']
            if self.root != '/':
                argv += ['--installroot', self.root]
            return argv + list(files)
        return (self.rpm.base + ['-Uhv'] + (['--nodeps'] if self.rpm.nodeps() else [])
                + list(self.p['rpm_options']) + list(files))

    @staticmethod
    def describe(argv):
        """'rpm -Uhv --nodeps' / 'dnf install -y': the command and its options, without paths."""
        return ' '.join([os.path.basename(argv[0])] + [x for x in argv[1:] if not x.startswith('/')
                                                       and x not in ('--root', '--installroot')])

    def predict_file_contexts(self, files, fc_path, fc_before):
        """Check mode: does a package ship another file_contexts than the one on disk (its
        sha256 file digest)? None when the packages cannot tell."""
        if not files:
            return None
        for path in files:
            rc, out, _err = self.module.run_command([self.rpm.base[0], '-qp', '--nosignature', '--qf',
                                                     '%{FILEDIGESTALGO}\\n[%{FILENAMES}|%{FILEDIGESTS}\\n]', path])
            lines = out.splitlines()
            if rc != 0 or not lines:
                return None
            for line in lines[1:]:
                name, _sep, digest = line.partition('|')
                if name == fc_path:
                    if lines[0].strip() != '8':  # PGPHASHALGO_SHA256
                        return None
                    return digest != fc_before
        return False

    # -- state: original -----------------------------------------------------------------
    def original(self):
        p, module = self.p, self.module
        check_absolute('backup_dir', p['backup_dir'])
        check_absolute('root', p['root'])
        backup_dir = p['backup_dir'].rstrip('/') or '/'
        records = _record_dirs(backup_dir)
        result = dict(changed=False, reinstalled=[], original=[], record='', records=[], nodeps=False,
                      method='rpm', msg='')
        if not records:
            raise PackagesError('no %s under %s; perfsec.selinux.policy_install never replaced the policy here '
                                '(nothing to reinstall: leave rollback_policy_packages off).' % (RECORD, backup_dir))
        records.sort(key=lambda path: (os.stat(path).st_mtime, path))
        oldest = records[0]
        with open(oldest) as f:
            content = f.read()
        originals = [x.strip() for x in content.split('\n') if x.strip()]
        result.update(record=oldest, records=records, original=originals)
        if not originals:
            raise PackagesError('%s lists no packages (no selinux-policy package was installed before '
                                'perfsec.selinux.policy_install): there is nothing to reinstall.' % oldest)
        if self.rpm.installed(originals):
            result['msg'] = 'the original packages are installed: %s' % ', '.join(originals)
            return result
        copies = sorted(glob.glob(os.path.join(glob.escape(os.path.dirname(oldest)), 'previous', '*.rpm')))
        if not copies:
            raise PackagesError('the original packages (%s) were not kept as files; install them from a repository '
                                '(dnf downgrade / dnf install NAME-VERSION).' % _squash(content))
        rows = self.rpm.headers(copies)
        self.rpm.checksig(copies)
        result.update(changed=True, reinstalled=sorted(r[1] for r in rows), nodeps=self.rpm.nodeps())
        before = sorted(r[1] for r in self.rpm.query_all())
        if module._diff:
            names = set(r[0] for r in rows)
            after = sorted([x for x in before if name_of(x) not in names] + result['reinstalled'])
            result['diff'] = dict(before='\n'.join(before) + '\n', after='\n'.join(after) + '\n',
                                  before_header='%s (rpm -qa)' % PACKAGE_GLOB, after_header='%s (rpm -qa)' % PACKAGE_GLOB)
        if module.check_mode:
            result['msg'] = '(check mode) %s would be reinstalled' % ', '.join(result['reinstalled'])
            return result
        argv = (self.rpm.base + ['-Uhv', '--oldpackage', '--replacepkgs'] + (['--nodeps'] if result['nodeps'] else [])
                + copies)
        rc, out, err = module.run_command(argv)
        if rc != 0:
            raise PackagesError('rpm -Uhv --oldpackage of the kept copies failed (rc %d): %s\nNothing was marked '
                                'as rolled back; fix the cause rpm names and run again.' % (rc, _tail(out, err)))
        for path in records:
            _write(module, os.path.join(os.path.dirname(path), ROLLED_BACK), content)
        result['msg'] = '%s reinstalled (%s)' % (', '.join(result['reinstalled']), self.describe(argv))
        return result
