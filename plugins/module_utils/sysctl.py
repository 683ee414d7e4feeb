# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sysctl helpers: the perf_event knobs, sysctl.d drop-ins and boot-time precedence.

Nothing here needs AnsibleModule; every path is relative to ``root`` (files) or
``proc_root`` (procfs) so the unit tests use temporary trees. Python 3.6 compatible.

Boot-time precedence (systemd-sysctl, sysctl.d(5)):

* configuration files are read from /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d,
  /usr/lib/sysctl.d and /lib/sysctl.d; a file in an earlier directory *replaces* a file
  with the same basename in a later one (``/dev/null`` symlinks mask);
* the surviving files are applied sorted by basename, whatever their directory: for a key
  set in several files **the last file wins**;
* /etc/sysctl.conf is read by systemd only through the ``99-sysctl.conf`` symlink (Debian,
  Fedora), but procps' ``sysctl --system`` applies it **after** every sysctl.d file.

So an entry overrides our drop-in when it sets the same key to another value and is
applied after it (later basename), or sits in /etc/sysctl.conf.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import gzip
import os
import re
import stat

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils.common import (
    PROC_ROOT, read_int, read_text, rooted, sysctl_path,
)

SYSCTL_DIRS = ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d',
               '/usr/lib/sysctl.d', '/lib/sysctl.d')
SYSCTL_CONF = '/etc/sysctl.conf'
VENDOR_DIRS = ('/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d')
DEFAULT_DROPIN = C.SYSCTL_DROPIN

PARANOID = 'kernel.perf_event_paranoid'
MLOCK_KB = 'kernel.perf_event_mlock_kb'
MAX_SAMPLE_RATE = 'kernel.perf_event_max_sample_rate'
CPU_TIME_MAX_PERCENT = 'kernel.perf_cpu_time_max_percent'
KPTR_RESTRICT = 'kernel.kptr_restrict'
# module option -> sysctl name; the order is the order of runtime writes
# (cpu_time_max_percent first: the kernel refuses max_sample_rate writes while it is 0 or 100)
OPTION_KEYS = (
    ('level', PARANOID),
    ('cpu_time_max_percent', CPU_TIME_MAX_PERCENT),
    ('max_sample_rate', MAX_SAMPLE_RATE),
    ('mlock_kb', MLOCK_KB),
    ('kptr_restrict', KPTR_RESTRICT),
)

UPSTREAM_LEVELS = (-1, 0, 1, 2)
ALL_LEVELS = (-1, 0, 1, 2, 3, 4)
LEVEL_MEANINGS = {
    -1: 'Allow use of (almost) all events by all users; ignore the mlock limit after '
        'perf_event_mlock_kb without CAP_IPC_LOCK',
    0: 'Disallow raw and ftrace function tracepoint access for users without CAP_PERFMON '
       '(CAP_SYS_ADMIN before Linux 5.8)',
    1: 'As 0, and disallow CPU-wide event access (perf stat -a, perf record -a) for users '
       'without CAP_PERFMON',
    2: 'As 1, and disallow kernel profiling for users without CAP_PERFMON (upstream default): '
       'unprivileged users may only measure their own processes in user space',
    3: 'Debian/Ubuntu kernel patch (CONFIG_SECURITY_PERF_EVENTS_RESTRICT): perf_event_open() '
       'is refused to every process without CAP_SYS_ADMIN, so CAP_PERFMON alone does not '
       'help (Debian default)',
    4: 'Ubuntu kernels: perf_event_open() is refused to unprivileged processes and '
       'CAP_PERFMON alone does not help (Ubuntu default)',
}

INT_MAX = 2147483647
COMMENT_TAG = '# perfsec.selinux: overridden by %s: '


class SysctlError(Exception):
    """A problem the caller reports as one failure message."""


# ---------------------------------------------------------------- path helpers


def unrooted(root, path):
    """Host view of a path inside ``root``."""
    if not root or root == '/':
        return path
    rel = os.path.relpath(path, root)
    return '/' + rel if rel != '.' else '/'


# ---------------------------------------------------------------- parsing
# C isspace() (procps strips lines with it; the kernel skips it before a number). Python's
# str.strip()/split() also strip \x1c-\x1f, \x85, NBSP, U+2028..., which no sysctl tool does.
C_SPACE = ' \t\n\v\f\r'
_C_SPACE_RUN = re.compile('[ \t\n\v\f\r]+')
# systemd-sysctl reads lines with read_line(): '\n', '\r' and NUL end a line, and so do their
# combinations with each marker at most once and nothing after a NUL (\r\n, \n\r, \r\0,
# \r\n\0 ...). procps reads to '\n' and ignores what follows '\r' or NUL on the line, so a
# text after a lone '\r' or NUL is a line of its own only for systemd: it is kept as one (an
# entry systemd applies at boot is never missed). Nothing else breaks a line.
_EOL_RE = re.compile('\r\n\0|\n\r\0|\r\n|\n\r|\r\0|\n\0|[\n\r\0]')
# Largest sysctl file read (systemd-sysctl's LONG_LINE_MAX is 1 MiB per line; real files are
# a few KB).
MAX_CONF_BYTES = 4 * 1024 * 1024


def split_lines(text):
    """[(line, end)] of a sysctl config text, cut where systemd-sysctl cuts lines.

    ``line`` is without its end; ``''.join(l + e for l, e in split_lines(t)) == t``.
    """
    out = []
    pos = 0
    for m in _EOL_RE.finditer(text):
        out.append((text[pos:m.start()], m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], ''))
    return out


def normalize_key(key):
    """sysctl.d(5) key: strip a leading '-', accept '/' separators (dots and slashes swap)."""
    key = key.strip(C_SPACE)
    if key.startswith('-'):
        key = key[1:].strip(C_SPACE)
    if '/' in key:
        first_slash = key.index('/')
        first_dot = key.index('.') if '.' in key else len(key)
        if first_slash < first_dot:
            key = key.replace('/', '\0').replace('.', '/').replace('\0', '.')
    return key


def norm_value(value):
    return ' '.join(x for x in _C_SPACE_RUN.split(str(value)) if x)


def parse_lines(text):
    """[(lineno, key, value, raw_line)] for every assignment in a sysctl config text.

    Lines as systemd-sysctl reads them (split_lines); a line whose first character after
    C white space is '#' or ';' is a comment, a line without '=' is ignored.
    """
    out = []
    for n, (raw, _end) in enumerate(split_lines(text), 1):
        line = raw.strip(C_SPACE)
        if not line or line[0] in '#;':
            continue
        if '=' not in line:
            continue
        key, value = line.split('=', 1)
        out.append((n, normalize_key(key), value.strip(C_SPACE), raw))
    return out


def _read_bytes(path, limit=MAX_CONF_BYTES):
    with open(path, 'rb') as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise SysctlError('%s is larger than %d MiB: not a sysctl configuration file'
                          % (path, limit // (1024 * 1024)))
    return data


def _read(path):
    """Text of a sysctl file for parsing (undecodable bytes become U+FFFD)."""
    return _read_bytes(path).decode('utf-8', 'replace')


def _read_strict(path):
    """Text of a sysctl file about to be edited: SysctlError unless it is UTF-8."""
    data = _read_bytes(path)
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        raise SysctlError('cannot edit %s: it is not UTF-8 text; fix the file by hand' % path)


def _resolve_in_root(root, path):
    """Follow symlinks of ``path`` (a rooted path), keeping absolute targets inside root."""
    seen = 0
    while os.path.islink(path) and seen < 20:
        target = os.readlink(path)
        if os.path.isabs(target):
            path = rooted(root, target)
        else:
            path = os.path.normpath(os.path.join(os.path.dirname(path), target))
        seen += 1
    return path


def config_files(root='/', dirs=SYSCTL_DIRS, conf=SYSCTL_CONF, extra=()):
    """Files systemd-sysctl applies at boot, in application order.

    Returns a list of dicts ``{name, path, real, order}`` (host-view paths; ``real`` is the
    rooted path actually read). Same-basename files in lower-priority directories are
    shadowed; ``/dev/null`` symlinks mask. /etc/sysctl.conf is appended (procps order)
    unless a sysctl.d symlink already points at it; ``order`` is its boot position.
    ``extra``: host-view paths of files about to be created, treated as present.
    """
    chosen = {}
    for d in dirs:
        rd = rooted(root, d)
        try:
            names = os.listdir(rd)
        except OSError:
            names = []
        names = list(names) + [os.path.basename(x) for x in extra if os.path.dirname(x) == d]
        for name in names:
            if not name.endswith('.conf') or name in chosen:
                continue
            chosen[name] = os.path.join(d, name)
    files = []
    conf_real = os.path.realpath(rooted(root, conf))
    conf_seen = False
    for name in sorted(chosen):
        path = chosen[name]
        real = _resolve_in_root(root, rooted(root, path))
        if path in extra:
            real = rooted(root, path)
        elif real == '/dev/null' or real == rooted(root, '/dev/null') or not os.path.isfile(real):
            continue
        if os.path.realpath(real) == conf_real:
            conf_seen = True
        files.append({'name': name, 'path': path, 'real': real, 'order': len(files)})
    if not conf_seen and os.path.isfile(rooted(root, conf)):
        files.append({'name': os.path.basename(conf), 'path': conf,
                      'real': rooted(root, conf), 'order': len(files)})
    return files


def find_entries(keys, root='/', contents=None):
    """Every boot-time assignment of ``keys`` (sysctl names): list of dicts in order.

    ``contents``: {host-view path: text} replacing (or creating) files, to evaluate planned
    changes before making them.
    """
    keys = set(keys)
    contents = contents or {}
    out = []
    for f in config_files(root, extra=tuple(contents)):
        hostreal = unrooted(root, os.path.realpath(f['real']))
        try:
            if f['path'] in contents:
                text = contents[f['path']]
            elif hostreal in contents:
                text = contents[hostreal]
            else:
                text = _read(f['real'])
        except (IOError, OSError, SysctlError):
            continue
        for lineno, key, value, raw in parse_lines(text):
            if key in keys:
                # report the file an admin edits: the link target (99-sysctl.conf -> sysctl.conf)
                path = f['path']
                if os.path.realpath(f['real']) != os.path.realpath(rooted(root, path)) or \
                        os.path.islink(rooted(root, path)):
                    path = unrooted(root, os.path.realpath(f['real']))
                out.append({'key': key, 'value': value, 'path': path, 'file': f['real'],
                            'name': f['name'], 'line': lineno, 'order': f['order'],
                            'text': raw.strip(C_SPACE)})
    return out


def boot_values(keys, root='/', contents=None):
    """Value each key gets from the config files at boot (systemd order), or None."""
    vals = dict((k, None) for k in keys)
    for e in find_entries(keys, root, contents):
        vals[e['key']] = e['value']
    return vals


def overriding_entries(wanted, dropin, root='/'):
    """Entries that would beat the drop-in ``dropin`` at boot for ``wanted`` {key: value}.

    An entry overrides when it sets one of the keys to another value and is applied after
    the drop-in (systemd order) or lives in /etc/sysctl.conf (applied last by procps'
    ``sysctl --system``). The drop-in itself never counts.
    """
    dropin_real = os.path.realpath(rooted(root, dropin))
    files = config_files(root)
    dropin_order = None
    for f in files:
        if os.path.realpath(f['real']) == dropin_real:
            dropin_order = f['order']
    if dropin_order is None:
        # the drop-in does not exist yet: where its basename would sort
        name = os.path.basename(dropin)
        dropin_order = len([f for f in files if f['name'] < name]) - 0.5
    conf_real = os.path.realpath(rooted(root, SYSCTL_CONF))
    out = []
    for e in find_entries(wanted.keys(), root):
        if os.path.realpath(e['file']) == dropin_real:
            continue
        if norm_value(e['value']) == norm_value(wanted[e['key']]):
            continue
        later = e['order'] > dropin_order
        is_conf = os.path.realpath(e['file']) == conf_real
        if later or is_conf:
            e = dict(e)
            e['reason'] = ('/etc/sysctl.conf is applied last by sysctl --system (procps)'
                           if is_conf else
                           'applied after %s at boot (its file name sorts later)' % dropin)
            out.append(e)
    return out


# ---------------------------------------------------------------- file plans
# First line of every file this collection writes (render_dropin); written_by_perfsec reads it.
MANAGED_PREFIX = '# Managed by perfsec.selinux'


def written_by_perfsec(text):
    """True when ``text`` (a sysctl file's content) was written by render_dropin."""
    first = split_lines(text or '')[:1]
    return bool(first and first[0][0].startswith(MANAGED_PREFIX))


# Where a drop-in may go: directories systemd-sysctl and procps read that are meant for the
# local admin (not the vendor directories, not /etc/sysctl.conf itself).
DROPIN_DIRS = ('/etc/sysctl.d', '/run/sysctl.d')
DROPIN_NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.@+-]*\.conf\Z')
DROPIN_MODE = 0o644
MAX_DROPIN_BYTES = 1024 * 1024


def check_dropin_path(dropin):
    """Error string when ``dropin`` (host view) is not a drop-in path we may write, else None."""
    if not isinstance(dropin, str) or not dropin.startswith('/'):
        return 'dropin must be an absolute path, e.g. %s' % DEFAULT_DROPIN
    if os.path.normpath(dropin) != dropin or '//' in dropin:
        return ('dropin %r is not a normalized path (no "..", "." or repeated "/")' % (dropin,))
    if os.path.dirname(dropin) not in DROPIN_DIRS or \
            not DROPIN_NAME_RE.match(os.path.basename(dropin)):
        return ('dropin %r is not allowed: it must be a NAME.conf file directly in %s (NAME of '
                'letters, digits and _ . @ + -, not starting with "." or "-"), e.g. %s; '
                '/etc/sysctl.conf and vendor files are never replaced'
                % (dropin, ' or '.join(DROPIN_DIRS), DEFAULT_DROPIN))
    return None


def read_dropin(root, dropin):
    """(text or None, stat or None) of the existing drop-in, never through a symlink.

    SysctlError when the path (or its directory) is a symlink, is not a regular file, is too
    big to be a drop-in, or cannot be read. ``text`` is None when the file does not exist;
    undecodable bytes become U+FFFD (such a file was not written by this collection).
    """
    real = rooted(root, dropin)
    parent = os.path.dirname(real)
    if os.path.islink(parent):
        raise SysctlError('%s is a symbolic link: refusing to write the drop-in %s through it'
                          % (os.path.dirname(dropin), dropin))
    try:
        st = os.lstat(real)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None, None
        raise SysctlError('cannot read dropin %s: %s' % (dropin, e.strerror or e))
    if stat.S_ISLNK(st.st_mode):
        raise SysctlError('dropin %s is a symbolic link: refusing to read or replace it (it would '
                          'show or overwrite the file it points to); remove the link or choose '
                          'another dropin' % dropin)
    if not stat.S_ISREG(st.st_mode):
        raise SysctlError('dropin %s exists and is not a regular file: refusing to read or '
                          'replace it; choose another dropin' % dropin)
    if st.st_size > MAX_DROPIN_BYTES:
        raise SysctlError('dropin %s is %d bytes: not a drop-in this collection wrote; refusing to '
                          'replace it, choose another dropin' % (dropin, st.st_size))
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0))
    except OSError as e:
        raise SysctlError('cannot read dropin %s: %s' % (dropin, e.strerror or e))
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode):
            raise SysctlError('dropin %s is not a regular file: refusing to read it' % dropin)
        chunks = []
        size = 0
        while size <= MAX_DROPIN_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    data = b''.join(chunks)
    if len(data) > MAX_DROPIN_BYTES:
        raise SysctlError('dropin %s is larger than %d bytes: refusing to replace it'
                          % (dropin, MAX_DROPIN_BYTES))
    return data.decode('utf-8', 'replace'), fst


def render_dropin(values, source='perfsec.selinux.perf_paranoid'):
    """Content of the drop-in for ``values`` [(key, value)] (order kept); ``source`` names the
    writer and must start with perfsec.selinux (see MANAGED_PREFIX)."""
    lines = ['# Managed by %s: local changes will be overwritten.' % source,
             '# kernel.perf_event_paranoid levels: see sysctl kernel/perf_event_paranoid',
             '# and Documentation/admin-guide/perf-security.rst.']
    for key, value in values:
        lines.append('%s = %s' % (key, value))
    return '\n'.join(lines) + '\n'


def comment_out_plan(entries, dropin, root='/'):
    """File changes that disable ``entries`` (from overriding_entries).

    Files under /etc or /run are edited in place (the line is commented out, with a tag
    naming the drop-in). A vendor file (/usr/lib, /lib, /usr/local/lib) is left alone and
    shadowed the systemd way: a copy with the line commented out goes to /etc/sysctl.d/
    under the same basename (if /etc already had one, that file would have been the one
    applied). Returns [{path, real, before, after, shadows}] (host-view ``path``).
    """
    by_file = {}
    for e in entries:
        by_file.setdefault(e['file'], []).append(e)
    plans = []
    for real in sorted(by_file):
        ents = by_file[real]
        path = ents[0]['path']
        before = _read_strict(real)
        lines = [list(x) for x in split_lines(before)]
        for e in ents:
            line = lines[e['line'] - 1]
            line[0] = (COMMENT_TAG % dropin) + line[0]
        after = ''.join(raw + end for raw, end in lines)
        shadows = None
        if any(path.startswith(d + '/') for d in VENDOR_DIRS):
            shadows = path
            path = os.path.join('/etc/sysctl.d', os.path.basename(path))
            real = rooted(root, path)
            before = ''
        plans.append({'path': path, 'real': real, 'before': before, 'after': after,
                      'shadows': shadows})
    return plans


# ---------------------------------------------------------------- runtime (/proc/sys)
def proc_file(name, proc_root=PROC_ROOT):
    """Path of sysctl ``name`` under proc_root; SysctlError for a bad or unknown name."""
    try:
        path = sysctl_path(name, proc_root)
    except ValueError as e:
        raise SysctlError('%s: use a dotted sysctl name such as kernel.perf_event_paranoid' % e)
    if not os.path.isfile(path):
        raise SysctlError(
            'unknown sysctl %s: %s does not exist on this kernel (is CONFIG_PERF_EVENTS '
            'enabled? check the name with `sysctl -a | grep perf`)' % (name, path))
    return path


def read_value(name, proc_root=PROC_ROOT):
    path = proc_file(name, proc_root)
    value = read_int(path)
    if value is None:
        raise SysctlError('cannot read an integer from %s' % path)
    return value


def proc_sys_readonly(proc_root=PROC_ROOT, mountinfo=None):
    """True when the mount holding /proc/sys/kernel is read-only (containers, ro bind mounts).

    Reads ``proc_root``/self/mountinfo; mount points there are host paths, so the check is
    done for the host path /proc/sys/kernel whatever proc_root is.
    """
    text = read_text(mountinfo or os.path.join(proc_root, 'self/mountinfo'), '') or ''
    target = '/proc/sys/kernel'
    best, best_ro = '', False
    for line in text.split('\n'):
        parts = line.split(' ')
        if len(parts) < 6:
            continue
        mnt = parts[4].replace('\\040', ' ')
        if target == mnt or target.startswith(mnt.rstrip('/') + '/'):
            if len(mnt) >= len(best):
                best, best_ro = mnt, 'ro' in parts[5].split(',')
    return best_ro


def write_value(name, value, proc_root=PROC_ROOT):
    """Write ``value`` to sysctl ``name``; SysctlError naming what to do on failure."""
    path = proc_file(name, proc_root)
    try:
        with open(path, 'w') as f:
            f.write('%d\n' % int(value))
    except (IOError, OSError) as e:
        if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise SysctlError(
                'cannot write %s (%s): /proc/sys is read-only here (a container or a '
                'read-only bind mount). Run against the host, or set skip_unsupported=true '
                '(or runtime=false to only persist).' % (path, os.strerror(e.errno)))
        if e.errno == errno.EINVAL:
            raise SysctlError('the kernel rejected %s=%s (EINVAL)' % (name, value))
        raise SysctlError('cannot write %s: %s' % (path, e))


# ---------------------------------------------------------------- levels
def kernel_config_text(proc_root=PROC_ROOT, root='/', release=None):
    """The running kernel's config (/proc/config.gz or /boot/config-RELEASE), or ''."""
    gz = os.path.join(proc_root, 'config.gz')
    try:
        with gzip.open(gz, 'rt') as f:
            return f.read()
    except (IOError, OSError, EOFError):
        pass
    release = release or read_text(os.path.join(proc_root, 'sys/kernel/osrelease'))
    if release:
        text = read_text(rooted(root, '/boot/config-%s' % release))
        if text:
            return text
    return ''


def supported_levels(proc_root=PROC_ROOT, root='/'):
    """(levels, evidence): paranoid levels the running kernel gives a meaning to.

    -1..2 are upstream. Upstream's handler is a plain proc_dointvec, so it *accepts* 3 or 4
    without giving them any meaning: a probe write proves nothing (and mutates the host).
    The detection therefore reads, never writes:

    * CONFIG_SECURITY_PERF_EVENTS_RESTRICT in the kernel config (Debian's patch, carried by
      Ubuntu) -> 3;
    * the kernel build string (/proc/sys/kernel/version) naming Debian -> 3, Ubuntu -> 3, 4;
    * a current value of 3 or 4 (the distro default set by the kernel itself) -> up to it.
    """
    levels = set(UPSTREAM_LEVELS)
    evidence = []
    cfg = kernel_config_text(proc_root, root)
    if re.search(r'^(# )?CONFIG_SECURITY_PERF_EVENTS_RESTRICT[= ]', cfg, re.M):
        levels.add(3)
        evidence.append('kernel config has CONFIG_SECURITY_PERF_EVENTS_RESTRICT (level 3)')
    version = read_text(os.path.join(proc_root, 'sys/kernel/version'), '') or ''
    if 'Ubuntu' in version:
        levels.update((3, 4))
        evidence.append('Ubuntu kernel build (%s): levels 3 and 4' % version)
    elif 'Debian' in version:
        levels.add(3)
        evidence.append('Debian kernel build (%s): level 3' % version)
    current = read_int(os.path.join(proc_root, 'sys/kernel/perf_event_paranoid'))
    if current is not None and current > 2:
        levels.update(range(3, min(current, 4) + 1))
        evidence.append('current perf_event_paranoid is %d' % current)
    return sorted(levels), evidence


def level_meaning(level):
    return LEVEL_MEANINGS.get(level, 'unknown level')


def _not_int(value):
    # bool is an int subclass (True == 1): Ansible's type='int' lets it through, and
    # '%s' % True would write "kernel.perf_event_paranoid = True", which the kernel rejects
    return isinstance(value, bool) or not isinstance(value, int)


def validate(params):
    """Type and range checks of the perf knobs; returns a list of error strings."""
    errors = []
    typed = []
    for opt, _key in OPTION_KEYS:
        value = params.get(opt)
        if value is not None and _not_int(value):
            errors.append('invalid %s %r: give an integer, not a %s (a YAML true/yes/on is a '
                          'boolean)' % (opt, value, type(value).__name__))
            typed.append(opt)
    if typed:
        return errors
    level = params.get('level')
    if level is not None and level not in ALL_LEVELS:
        errors.append('invalid level %r: perf_event_paranoid takes -1, 0, 1, 2 '
                      '(and 3/4 on Debian/Ubuntu kernels)' % (level,))
    mlock = params.get('mlock_kb')
    if mlock is not None and not 0 <= mlock <= INT_MAX // 1024:
        errors.append('invalid mlock_kb %r: use 0..%d (KiB per user)' % (mlock, INT_MAX // 1024))
    rate = params.get('max_sample_rate')
    if rate is not None and not 1 <= rate <= INT_MAX:
        errors.append('invalid max_sample_rate %r: use 1..%d (samples per second)'
                      % (rate, INT_MAX))
    kptr = params.get('kptr_restrict')
    if kptr is not None and kptr not in (0, 1, 2):
        errors.append('invalid kptr_restrict %r: use 0 (addresses visible), 1 (only with CAP_SYSLOG) or '
                      '2 (hidden from everybody)' % (kptr,))
    pct = params.get('cpu_time_max_percent')
    if pct is not None and not 0 <= pct <= 100:
        errors.append('invalid cpu_time_max_percent %r: use 0..100 (0 and 100 disable '
                      'throttling)' % (pct,))
    return errors
