# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse kernel AVC denials and turn the perf ones into allow rules.

Record forms read (each counted by :func:`generate_rules` under its form name):

``auditd``
    ``[node=NAME ]type=AVC msg=audit(SECS.MS:SERIAL): avc:  denied ...``: the auditd log,
    ``ausearch --raw`` and ``ausearch`` (its ``----`` / ``time->`` lines are ignored).
``ausearch_interpreted``
    ``type=AVC msg=audit(11/28/25 13:40:00.101:301) : avc:  denied ...`` (``ausearch -i``).
``kernel``
    ``audit: type=1400 audit(SECS.MS:SERIAL): avc:  denied ...``: the kernel's printk text
    (``journalctl -k -o cat``, ``dmesg -t``).
``dmesg``
    the same after a dmesg prefix: ``[ 1234.567890] audit: type=1400 ...`` (also ``dmesg -T``,
    ``-H``, ``-d``, ``-x``, ``-r``).
``journal``
    a journalctl ``short*`` line (``short``, ``short-precise``, ``short-iso``,
    ``short-iso-precise``, ``short-full``, ``short-unix``, ``short-monotonic``, ``short-delta``,
    with or without the host name) or a syslog file line, from the identifier ``kernel``
    (``Dec 01 10:00:00 host kernel: audit: type=1400 audit(...): avc: ...``, optionally with a
    ``[ 1234.5]`` kernel timestamp) or ``audit[PID]`` (journald's audit transport:
    ``Dec 01 10:00:00 host audit[1318098]: AVC avc:  denied ...``). Lines of any other
    identifier (``perf[812]: type=AVC ...``: a user process wrote it) are unparsable.
``journal_cat``
    ``AVC avc:  denied ...``: the audit transport in ``journalctl -o cat``.

Contexts are read with or without an MLS/MCS level. USER_AVC and every other record type is
skipped (``not_avc``), never granted. Lines are split on ``\\n`` only and only ASCII spaces
separate fields; a line longer than :data:`MAX_LINE` characters (the kernel's records are under
9 KB) is skipped (``too_long``) before any regular expression runs, and every pattern here is
anchored with bounded or unambiguous repetitions, so parsing is linear in the input size.

Journal text from the identifiers ``kernel`` / ``audit`` can be written by any local user
(``logger -t kernel``); ``journalctl -k`` and ``journalctl _TRANSPORT=audit`` select the
kernel's own records. The contract below bounds what any record, forged or not, can grant.

Security contract of :func:`generate_rules`: a rule is emitted only for a *denied* record

* whose class is ``perf_event`` or ``capability2``, and whose permissions are in the
  allow-list for that class (``perf_event``: ``open cpu kernel tracepoint read write``;
  ``capability2``: ``perfmon``, plus ``bpf`` only when asked);
* whose source type is in ``allowed_domains``;
* whose target is the source itself (rule target ``self``) for ``perf_event`` ``open``,
  ``cpu``, ``kernel``, ``tracepoint`` and every ``capability2`` permission (the kernel checks
  those from a process to itself); ``perf_event`` ``read`` / ``write`` may also target a type
  listed in ``allowed_targets`` (an event opened by another domain). A target type taken from a
  record is never copied otherwise, so an attribute (``domain``), ``kernel_t``, ``init_t`` or an
  unknown / absurd type in a record grants nothing: the record is skipped and counted
  (``target``), and check mode and the real run see the same rules.

Only names that match :data:`TYPE_RE` / :data:`PERM_RE` reach the rules, so no other log text
ever reaches :func:`render_te`. Output is sorted: the same records always give the same module.

Reading log files: :func:`read_prefiltered` reads a binary file in blocks of
:data:`BLOCK_SIZE` bytes, splits them at ``\n`` (the partial last line is carried over) and
passes on only the lines that hold a ``{`` and ``tclass=perf_event``, ``tclass=capability2`` or
``tclass=cap2_userns`` (:data:`PREFILTER_CLASSES`): a record without them cannot give a rule,
nor a ``domain`` / ``perm`` / ``target`` skip (an AVC record holds its permissions in braces and
its class as a ``tclass=`` field). The other lines are counted in bulk, per block, under the
reason ``not_perf`` (blank lines and separators included), without being decoded or parsed; so
with it, ``not_avc``, ``unparsable``, ``granted``, ``comm`` and ``class`` and the form counts
only cover the lines that were passed on. A line longer than
:data:`MAX_LINE` bytes is ``too_long`` either way (one :data:`TOO_LONG_LINE` per line, never held
whole). :func:`read_lines` is the line-by-line reader (every line decoded and parsed); on the
same file both give the same rules, and the same counts for the lines passed on.

Time window: with ``since`` (epoch seconds), :func:`generate_rules` uses only the AVC records
whose own ``audit(SECS.MS:SERIAL)`` stamp (auditd, ``kernel``, ``dmesg`` and the ``kernel``
journal lines) is at or after it; older ones are skipped as ``before_since``, and records that
carry no such stamp (``ausearch -i``, the journal's ``audit[PID]`` transport, ``journal_cat``)
as ``no_time``. Both reasons are present only when ``since`` is given.
Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import binascii
import re
import time

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C

PERF_EVENT_PERMS = frozenset(C.PERF_EVENT_PERMS)
# perf_event permissions checked against the event's creator: the only ones that may target
# another type (from allowed_targets); the others are checked from a process to itself
PERF_EVENT_OTHER_TARGET_PERMS = frozenset(['read', 'write'])
CAP2_PERMS = frozenset(['perfmon'])
CAP2_BPF = 'bpf'

# The kernel's audit records are at most MAX_AUDIT_MESSAGE_LENGTH (8970) bytes; the margin is
# for the node=, journal and dmesg prefixes.
MAX_LINE = 10240
# What a bounded line reader passes on for a line longer than MAX_LINE (counted as too_long)
TOO_LONG_LINE = '\0' * (MAX_LINE + 1)

TYPE_RE = re.compile(r'^[a-zA-Z][a-zA-Z0-9_]*\Z')
PERM_RE = re.compile(r'^[a-z][a-z0-9_]*\Z')
KEY_RE = re.compile(r'^[a-z_][a-z0-9_]{0,63}\Z')
HEX_RE = re.compile(r'^[0-9A-F]+\Z')

FORMS = ('auditd', 'ausearch_interpreted', 'kernel', 'dmesg', 'journal', 'journal_cat')
SKIP_REASONS = ('too_long', 'unparsable', 'not_avc', 'granted', 'comm', 'class', 'domain', 'perm', 'target')
# reasons present only when used: not_perf (lines counted in bulk by read_prefiltered),
# before_since / no_time (generate_rules with since)
NOT_PERF = 'not_perf'
SINCE_REASONS = ('before_since', 'no_time')
BULK_REASONS = frozenset([NOT_PERF])

# read_prefiltered: block size, and the tclass values that make a line worth parsing
BLOCK_SIZE = 1 << 20
PREFILTER_CLASSES = (b'perf_event', b'capability2', b'cap2_userns')
_TCLASS = b'tclass='
_BRACE = b'{'
_NL = b'\n'
# lines with a brace per block beyond which read_prefiltered searches tclass= instead
DENSE_BRACES = 2048
# read_prefiltered(exe=True): how far after an AVC line its SYSCALL record is looked for
EXE_WINDOW = 16384
_EVENT_B_RE = re.compile(br'(?:node=[^ \n]{1,255} )?type=AVC msg=audit\(([0-9]{1,20}\.[0-9]{1,9}:[0-9]{1,20})\):')
_NODE_B_RE = re.compile(br'node=[^ \n]{1,255} \Z')

# --- record framing: every pattern is anchored, its repetitions bounded or unambiguous -------
_RAW_TS_RE = re.compile(r'^[0-9]{1,20}\.[0-9]{1,9}:[0-9]{1,20}\Z')
_AUDITD_RE = re.compile(
    r'(?:node=[^ ]{1,255} )?type=(?P<type>[A-Z][A-Z0-9_]{0,31}) msg=audit\((?P<ts>[^()]{1,64})\) ?:(?: +|\Z)')
_PRINTK = (r'(?:audit: )?type=(?P<ktype>[0-9]{1,5}) '
           r'audit\((?P<kts>[0-9]{1,20}\.[0-9]{1,9}):[0-9]{1,20}\):(?: +|\Z)')
_PRINTK_RE = re.compile(_PRINTK)
_DMESG_RE = re.compile(
    r'(?:<[0-9]{1,3}>)?(?:[a-z]{1,8} {0,8}:[a-z]{1,8} {0,8}: )?\[[ 0-9A-Za-z.:+<>]{1,64}\] ' + _PRINTK)
_JOURNAL_TS = '(?:' + '|'.join([
    # short, short-precise, syslog: "Dec 01 10:00:00", "Dec  1 10:00:00.123456"
    r'[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?',
    # short-iso, short-iso-precise, RFC 3339 syslog
    r'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:?[0-9]{2})?',
    # short-full: "Mon 2025-12-01 10:00:00 CET"
    r'[A-Z][a-z]{2} [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})? [A-Za-z0-9+-]{1,10}',
    # short-unix
    r'[0-9]{1,12}\.[0-9]{1,9}',
    # short-monotonic, short-delta
    r'\[ {0,12}[0-9]{1,12}\.[0-9]{1,9}(?: <[ 0-9.]{1,24}>)?\]',
]) + ')'
_JOURNAL_RE = re.compile(
    _JOURNAL_TS + r' (?:[^ :]{1,255} )?'          # host names hold no ':' (or --no-hostname)
    r'(?:kernel: (?:\[[ 0-9.]{1,32}\] )?' + _PRINTK +
    r'|audit(?:\[[0-9]{1,10}\])?: (?P<atype>[A-Z][A-Z0-9_]{0,31})(?: +|\Z))')
_CAT_RE = re.compile(r'AVC +')
_BODY_RE = re.compile(r'avc: +(denied|granted) +\{([^{}]{0,4096})\} +for +')
_SPACES_RE = re.compile(r' *')


def _untrusted(value):
    """Decode an audit "untrusted string": quoted as-is, or hex-encoded when unquoted."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    if value and len(value) % 2 == 0 and HEX_RE.match(value):
        try:
            return binascii.unhexlify(value).decode('utf-8', 'replace')
        except (binascii.Error, TypeError, ValueError):
            return None
    return value


def context_type(ctx):
    parts = (ctx or '').split(':')
    if len(parts) < 3 or not TYPE_RE.match(parts[2]):
        return None
    return parts[2]


def _frame(s):
    """(form, is_avc, body offset, epoch stamp text or None) of a stripped line, or None when it
    is no audit record. The stamp is the ``SECS.MS`` of ``audit(SECS.MS:SERIAL)``; ``ausearch -i``,
    the journal's audit transport and ``journal_cat`` have none."""
    m = _AUDITD_RE.match(s)
    if m:
        ts = m.group('ts')
        if _RAW_TS_RE.match(ts):
            return 'auditd', m.group('type') == 'AVC', m.end(), ts[:ts.index(':')]
        if ' ' in ts:
            return 'ausearch_interpreted', m.group('type') == 'AVC', m.end(), None
        return None
    for form, regex in (('kernel', _PRINTK_RE), ('dmesg', _DMESG_RE)):
        m = regex.match(s)
        if m:
            return form, m.group('ktype') == '1400', m.end(), m.group('kts')
    m = _JOURNAL_RE.match(s)
    if m:
        if m.group('ktype') is not None:
            return 'journal', m.group('ktype') == '1400', m.end(), m.group('kts')
        return 'journal', m.group('atype') == 'AVC', m.end(), None
    m = _CAT_RE.match(s)
    if m and s.startswith('avc:', m.end()):
        return 'journal_cat', True, m.end(), None
    return None


def _fields(rest, pos):
    """``key=value`` fields separated by spaces, from ``pos`` → dict, or None on stray text
    or a duplicated key. One pass (str.find), linear in the length."""
    fields = {}
    n = len(rest)
    i = pos
    while True:
        i = _SPACES_RE.match(rest, i).end()
        if i >= n:
            return fields
        eq = rest.find('=', i)
        if eq < 0:
            return None                     # stray text: not a kernel record
        key = rest[i:eq]
        if not KEY_RE.match(key):
            return None
        if key in fields:
            return None                     # duplicated key: forged or mangled
        j = eq + 1
        if rest.startswith('"', j):
            end = rest.find('"', j + 1)
            if end < 0:
                return None
            end += 1
        else:
            end = rest.find(' ', j)
            if end < 0:
                end = n
        if end == j or (end < n and rest[end] != ' '):
            return None
        fields[key] = rest[j:end]
        i = end


def _parse(s):
    """A stripped line → (form, record or None, is_avc) or None when it is no audit record."""
    fr = _frame(s)
    if fr is None:
        return None
    form, is_avc, pos, stamp = fr
    if not is_avc:
        return form, None, False
    m = _BODY_RE.match(s, pos)
    if not m:
        return form, None, True
    perms = [p for p in m.group(2).split(' ') if p]
    if not perms or not all(PERM_RE.match(p) for p in perms):
        return form, None, True
    fields = _fields(s, m.end())
    if fields is None:
        return form, None, True
    for key in ('scontext', 'tcontext', 'tclass'):
        if key not in fields:
            return form, None, True
    stype = context_type(fields['scontext'])
    ttype = context_type(fields['tcontext'])
    tclass = fields['tclass']
    if not stype or not ttype or not PERM_RE.match(tclass):
        return form, None, True
    comm = _untrusted(fields['comm']) if 'comm' in fields else None
    exe = _untrusted(fields['exe']) if 'exe' in fields else None
    event = None
    if form == 'auditd':
        event = _AUDITD_RE.match(s).group('ts')
    return form, {'result': m.group(1), 'perms': sorted(set(perms)), 'comm': comm,
                  'stype': stype, 'ttype': ttype, 'tclass': tclass,
                  'permissive': fields.get('permissive'), 'form': form,
                  'time': float(stamp) if stamp is not None else None,
                  'exe': exe, 'event': event}, True


def _strip(line):
    return line.strip(' \t\r\n')


def _too_long(line):
    # longer than MAX_LINE, not counting the line's own newline; no copy of the line
    n = len(line)
    return n > MAX_LINE and not (n == MAX_LINE + 1 and line.endswith('\n'))


def parse_avc(line):
    """One line → dict(result, perms, comm, stype, ttype, tclass, permissive, form, time, exe,
    event) or None when the line is not a well-formed kernel AVC record (or longer than
    MAX_LINE). ``time``: the record's ``audit(SECS.MS:SERIAL)`` stamp as epoch seconds, or None
    when its form has none. ``exe``: the record's own ``exe=`` field (kernel AVC records for
    perf_event carry none: see :class:`ExeHint`), or None. ``event``: the ``SECS.MS:SERIAL`` of
    an ``auditd`` record (the id its SYSCALL record shares), else None. Raises nothing."""
    if not isinstance(line, str) or _too_long(line):
        return None
    r = _parse(_strip(line))
    return r[1] if r else None


def parse_line(line):
    """One line (str) → (None, record) for a well-formed kernel AVC record (the dict of
    :func:`parse_avc`), else (reason, None): ``too_long``, ``ignored`` (blank lines and
    ausearch / journalctl separators, which :func:`generate_rules` does not count),
    ``unparsable`` or ``not_avc``, as :func:`generate_rules` counts them. Raises nothing."""
    if not isinstance(line, str):
        return 'unparsable', None
    if _too_long(line):
        return 'too_long', None
    s = _strip(line)
    if _ignored(s):
        return 'ignored', None
    parsed = _parse(s)
    if parsed is None:
        return 'unparsable', None
    if not parsed[2]:
        return 'not_avc', None
    if parsed[1] is None:
        return 'unparsable', None
    return None, parsed[1]


def allowed_perms(tclass, include_bpf=False):
    if tclass == 'perf_event':
        return PERF_EVENT_PERMS
    if tclass == 'capability2':
        return CAP2_PERMS | (frozenset([CAP2_BPF]) if include_bpf else frozenset())
    return frozenset()


def grant_target(rec, perms, allowed_targets):
    """(rule target, perms it may get) for a record: ``self`` with every perm when the target
    is the source, a type of ``allowed_targets`` with perf_event read/write only, else
    (None, [])."""
    if rec['ttype'] == rec['stype']:
        return 'self', list(perms)
    if rec['tclass'] != 'perf_event' or rec['ttype'] not in allowed_targets:
        return None, []
    return rec['ttype'], [p for p in perms if p in PERF_EVENT_OTHER_TARGET_PERMS]


def iter_lines(text):
    """The lines of a text, split on ``\\n`` only (never on \\f, \\v, \\x1c-\\x1e, \\x85,
    U+2028...), lazily."""
    start = 0
    n = len(text)
    while start < n:
        end = text.find('\n', start)
        if end < 0:
            end = n
        yield text[start:end]
        start = end + 1


def _ignored(s):
    # blank lines and ausearch / journalctl separators are not records and are not counted
    return (not s or s == '----' or s.startswith('time->')
            or (s.startswith('-- ') and s.endswith(' --')))


def _decode(raw):
    # as ansible's to_text(errors='surrogate_or_replace') on Python 3
    return raw.decode('utf-8', 'surrogateescape')


def read_lines(f):
    """The lines of a binary file object, one by one, each decoded (the reference reader: every
    line reaches the parser). Memory is bounded whatever the input: a line is read at most
    MAX_LINE + 1 bytes at a time; a longer line is passed on as TOO_LONG_LINE (too_long) and
    the rest of it is discarded as it is read."""
    in_long_line = False
    while True:
        raw = f.readline(MAX_LINE + 1)
        if not raw:
            break
        complete = raw.endswith(b'\n')
        if in_long_line:
            in_long_line = not complete     # the rest of an over-long line: dropped
            continue
        if not complete and len(raw) > MAX_LINE:
            in_long_line = True
            yield TOO_LONG_LINE
            continue
        yield _decode(raw)


def _count_lines(buf, start, end):
    """Newlines in ``buf[start:end]``. bytes.replace finds them with memchr, about 4x faster
    than count() on log text; it runs on the whole buffer (slicing first would cost a second
    large allocation), minus the newlines outside the range."""
    size = len(buf)
    if (end - start) * 4 < size:
        return buf.count(_NL, start, end)
    return size - len(buf.replace(_NL, b'')) - buf.count(_NL, 0, start) - buf.count(_NL, end, size)


def _perf_line(buf, ls, le):
    """The line ``buf[ls:le]`` holds ``tclass=`` + one of PREFILTER_CLASSES."""
    k = buf.find(_TCLASS, ls, le)
    while k >= 0:
        if buf.startswith(PREFILTER_CLASSES, k + len(_TCLASS)):
            return True
        k = buf.find(_TCLASS, k + len(_TCLASS), le)
    return False


def _candidates(buf, start, end):
    """(line start, line end) of the lines of ``buf[start:end]`` that hold a ``{`` and
    ``tclass=`` + a perf class, in order. Found from the ``{`` (memchr: an AVC record holds
    its permissions in braces, most other lines hold none); in a block with more than
    DENSE_BRACES lines with a brace, the rest is searched from ``tclass=`` instead. Both
    searches give the same lines."""
    seen = 0
    i = buf.find(_BRACE, start, end)
    while i >= 0:
        ls = max(buf.rfind(_NL, start, i) + 1, start)
        le = buf.find(_NL, i, end)
        if _perf_line(buf, ls, le):
            yield ls, le
        seen += 1
        if seen > DENSE_BRACES:
            start = le + 1
            break
        i = buf.find(_BRACE, le + 1, end)
    else:
        return
    i = buf.find(_TCLASS, start, end)
    while i >= 0:
        j = i + len(_TCLASS)
        if not buf.startswith(PREFILTER_CLASSES, j):
            i = buf.find(_TCLASS, j, end)
            continue
        ls = max(buf.rfind(_NL, start, i) + 1, start)
        le = buf.find(_NL, j, end)
        if buf.find(_BRACE, ls, le) >= 0:
            yield ls, le
        i = buf.find(_TCLASS, le + 1, end)


def _exe_hint(buf, ls, le, end):
    """The ExeHint of the auditd AVC line ``buf[ls:le]``: the ``exe=`` of the SYSCALL record of
    the same event (same ``audit(SECS.MS:SERIAL)``) when it starts a line within EXE_WINDOW
    bytes after it, in ``buf[le:end]``; else None. Bounded: one search of at most EXE_WINDOW
    bytes per AVC line."""
    m = _EVENT_B_RE.match(buf, ls, min(le, ls + 400))
    if not m:
        return None
    needle = b'type=SYSCALL msg=audit(' + m.group(1) + b'):'
    k = buf.find(needle, le, min(end, le + EXE_WINDOW))
    if k < 0:
        return None
    ks = buf.rfind(_NL, le, k) + 1
    if ks != k and not _NODE_B_RE.match(buf, ks, k):
        return None                         # not at the start of a record line
    ke = buf.find(_NL, k, end)
    if ke < 0 or ke - ks > MAX_LINE:
        return None
    gs = buf.find(b'\x1d', k, ke)
    if gs >= 0:
        ke = gs        # auditd's log_format = ENRICHED: the interpreted fields follow a GS byte
    s = _strip(_decode(buf[ks:ke]))
    fm = _AUDITD_RE.match(s)
    if not fm or fm.group('type') != 'SYSCALL':
        return None
    fields = _fields(s, fm.end())
    if not fields or 'exe' not in fields:
        return None
    exe = _untrusted(fields['exe'])
    if exe is None:
        return None
    return ExeHint(fm.group('ts'), exe)


def _scan_block(buf, start, end, exe=False):
    """The complete lines of ``buf[start:end]`` (``buf[end - 1]`` is a newline): TOO_LONG_LINE
    for each line over MAX_LINE, the decoded lines that hold ``{`` and ``tclass=`` + one of
    PREFILTER_CLASSES (each followed by its ExeHint, when ``exe`` and one is found), then one
    BulkSkip for the others (when there are any)."""
    lines = _count_lines(buf, start, end)
    # over-long lines, found in about (end - start) / MAX_LINE steps: the last newline of the
    # next MAX_LINE + 1 bytes ends a run of lines that all fit; none means the line is too long
    long_starts = None
    p = start
    while p < end:
        r = buf.rfind(_NL, p, min(p + MAX_LINE + 1, end))
        if r >= 0:
            p = r + 1
            continue
        if long_starts is None:
            long_starts = set()
        long_starts.add(p)
        p = buf.find(_NL, p, end) + 1
    if long_starts:
        for dummy in long_starts:
            yield TOO_LONG_LINE
    passed = 0
    for ls, le in _candidates(buf, start, end):
        if long_starts is None or ls not in long_starts:
            passed += 1
            yield _decode(buf[ls:le])
            if exe:
                hint = _exe_hint(buf, ls, le, end)
                if hint is not None:
                    yield hint
    rest = lines - passed - (len(long_starts) if long_starts else 0)
    if rest:
        yield BulkSkip(NOT_PERF, rest)


def read_prefiltered(f, block_size=BLOCK_SIZE, exe=False):
    """The lines of a binary file object (``readinto``) that can hold a perf denial, decoded,
    and :class:`BulkSkip` counts (``not_perf``) for the others, which are never decoded nor
    parsed: see the module's docstring. Reads ``block_size`` bytes at a time into one buffer
    of ``block_size + MAX_LINE + 1`` bytes (the carried partial line is at most MAX_LINE
    bytes: a longer one is passed on as TOO_LONG_LINE at once and the rest of it dropped as it
    is read), so memory is bounded whatever the input. Lines are split on ``\\n`` only.

    ``exe``: after an auditd AVC line passed on, also an :class:`ExeHint` with the ``exe=`` of
    the SYSCALL record of the same event when it follows in the same block (within EXE_WINDOW
    bytes); the SYSCALL line itself is still counted as ``not_perf``. Evidence only, never a
    grant: :func:`generate_rules` ignores the hints."""
    if not isinstance(block_size, int) or block_size < 1:
        raise ValueError('block_size must be a positive integer')
    buf = bytearray(block_size + MAX_LINE + 1)
    view = memoryview(buf)
    fill = 0            # buf[:fill]: the start of the current line (no newline in it)
    skipping = False    # in a line already passed on as TOO_LONG_LINE: drop it up to its newline
    while True:
        got = f.readinto(view[fill:fill + block_size])
        if not got:
            break
        end = fill + got
        last = buf.rfind(_NL, fill, end)
        if last < 0:
            if not skipping:
                fill = end
                if fill > MAX_LINE:
                    skipping, fill = True, 0
                    yield TOO_LONG_LINE
            continue
        start = 0
        if skipping:                    # fill is 0: the long line ends at the first newline
            start = buf.find(_NL, 0, end) + 1
            skipping = False
        if start <= last:
            yield from _scan_block(buf, start, last + 1, exe)
        rest = end - last - 1
        if rest > MAX_LINE:
            skipping, fill = True, 0
            yield TOO_LONG_LINE
        else:
            buf[0:rest] = buf[last + 1:end]
            fill = rest
    if fill and not skipping:           # the last line, without its newline
        buf[fill] = 10
        yield from _scan_block(buf, 0, fill + 1, exe)


SINCE_RE = re.compile(r'^[0-9]{1,20}(?:\.[0-9]{1,9})?\Z')


class BulkSkip(object):
    """In an iterable of lines given to :func:`generate_rules`: ``count`` lines skipped without
    being parsed, under ``reason`` (one of BULK_REASONS)."""
    __slots__ = ('reason', 'count')

    def __init__(self, reason, count):
        if reason not in BULK_REASONS or not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError('invalid bulk skip %r %r' % (reason, count))
        self.reason = reason
        self.count = count

    def __repr__(self):
        return 'BulkSkip(%r, %d)' % (self.reason, self.count)


class ExeHint(object):
    """In the lines of :func:`read_prefiltered` with ``exe=True``: the executable (``exe=`` of the
    SYSCALL record) of the audit event ``event`` (``SECS.MS:SERIAL``), right after its AVC line.
    Untrusted text (decoded as ``comm`` is), for evidence only."""
    __slots__ = ('event', 'exe')

    def __init__(self, event, exe):
        self.event = event
        self.exe = exe

    def __repr__(self):
        return 'ExeHint(%r, %r)' % (self.event, self.exe)


def parse_since(value):
    """``since`` → epoch seconds (float): an int or float, or a string of digits with an optional
    fraction (``1764337200``, ``1764337200.5``), at least 0. Anything else (a boolean, a date
    text, a negative, nan/inf, an exponent) raises ValueError."""
    if isinstance(value, bool):
        raise ValueError('a boolean is not a time')
    if isinstance(value, (int, float)):
        t = float(value)
    elif isinstance(value, str) and SINCE_RE.match(value):
        t = float(value)
    else:
        raise ValueError('not epoch seconds')
    if not (0 <= t < 1e20):        # also refuses nan
        raise ValueError('out of range')
    return t


# ausearch's -ts keywords that resolve_since knows (not "checkpoint": that is ausearch's own file)
SINCE_INSTANTS = ('now', 'recent', 'this-hour', 'boot')
SINCE_DAYS = ('today', 'yesterday', 'this-week', 'week-ago', 'this-month', 'this-year')
SINCE_WORDS = SINCE_INSTANTS + SINCE_DAYS
_SINCE_DATE = (
    (re.compile(r'^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\Z'), (0, 1, 2)),     # 2026-11-28
    (re.compile(r'^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\Z'), (2, 0, 1)),     # 11/28/2026 (ausearch, C locale)
    (re.compile(r'^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})\Z'), (2, 1, 0)),  # 28.11.2026
)
_SINCE_CLOCK = re.compile(r'^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?\Z')
SINCE_HELP = ('epoch seconds (1764337200), one of %s, a date (2026-11-28, 11/28/2026 or 28.11.2026) '
              'or a day keyword, optionally followed by a time (13:00 or 13:00:00), or a time alone '
              '(today at that time); dates and times are the host\'s local time, like ausearch -ts'
              % ', '.join(SINCE_WORDS))


def boot_time(proc='/proc'):
    """The host's boot time in epoch seconds, from the btime line of /proc/stat."""
    with open(proc + '/stat') as f:
        for line in f:
            if line.startswith('btime '):
                return float(line.split()[1])
    raise ValueError('no btime in %s/stat' % proc)


def _local(y, mo, d, h=0, mi=0, s=0):
    """Local wall time → epoch seconds; ValueError for a date or time that does not exist."""
    if not (1 <= mo <= 12 and 1 <= d <= 31 and 0 <= h <= 23 and 0 <= mi <= 59 and 0 <= s <= 59):
        raise ValueError('no such date or time')
    t = time.mktime((y, mo, d, h, mi, s, 0, 0, -1))
    back = time.localtime(t)
    if (back.tm_year, back.tm_mon, back.tm_mday) != (y, mo, d):
        raise ValueError('no such date')          # 2/30 would be normalised to March
    return t


def resolve_since(value, now=None, boot=None):
    """What the host means by ``since``, in epoch seconds (float): epoch seconds as
    :func:`parse_since` takes them, or a text as ``ausearch -ts`` takes it (SINCE_HELP), in
    the host's local time zone: ``now``, ``recent`` (10 minutes ago), ``this-hour``, ``boot``
    (/proc/stat btime, or ``boot``), or a day - ``today``, ``yesterday``, ``this-week`` (the last
    Sunday, as ausearch in the C locale), ``week-ago`` (7 days ago), ``this-month``,
    ``this-year``, or a date - at 00:00:00 or at the time that follows it; a time alone is
    today at that time. ``now``: the current epoch seconds (for tests). Anything else raises
    ValueError."""
    try:
        return parse_since(value)
    except ValueError:
        if not isinstance(value, str):
            raise
    words = value.split()
    if not 1 <= len(words) <= 2 or len(value) > 40:
        raise ValueError('not a start time')
    now = time.time() if now is None else float(now)
    lt = time.localtime(now)
    head = words[0]
    clock = words[1] if len(words) == 2 else None
    if head in SINCE_INSTANTS and clock is None:
        if head == 'now':
            return now
        if head == 'recent':
            return now - 600
        if head == 'boot':
            return boot_time() if boot is None else float(boot)
        return _local(lt.tm_year, lt.tm_mon, lt.tm_mday, lt.tm_hour)
    m = _SINCE_CLOCK.match(head)
    if m and clock is None:
        clock, day = head, (lt.tm_year, lt.tm_mon, lt.tm_mday)
    elif head in SINCE_DAYS:
        back = {'today': 0, 'yesterday': 1, 'week-ago': 7, 'this-week': (lt.tm_wday + 1) % 7}
        if head == 'this-month':
            day = (lt.tm_year, lt.tm_mon, 1)
        elif head == 'this-year':
            day = (lt.tm_year, 1, 1)
        else:
            noon = time.localtime(_local(lt.tm_year, lt.tm_mon, lt.tm_mday, 12) - back[head] * 86400)
            day = (noon.tm_year, noon.tm_mon, noon.tm_mday)
    else:
        day = None
        for rx, order in _SINCE_DATE:
            m = rx.match(head)
            if m:
                parts = [int(g) for g in m.groups()]
                day = tuple(parts[i] for i in order)
                break
        if day is None:
            raise ValueError('not a start time')
    hms = (0, 0, 0)
    if clock is not None:
        m = _SINCE_CLOCK.match(clock)
        if not m:
            raise ValueError('not a time of day')
        hms = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    return _local(day[0], day[1], day[2], *hms)


def generate_rules(text, allowed_domains, comm=None, include_bpf=False, allowed_targets=None, forms=None,
                   since=None):
    """Denials in ``text`` → (rules, skipped) where rules is a sorted list of
    ``(source, target, tclass, [perms])`` (target ``self`` when equal to the source, or a type
    of ``allowed_targets`` for perf_event read/write) and skipped a dict
    {reason: count, 'total': n} with every reason of SKIP_REASONS. ``comm``: list of command
    names to keep (empty/None: any); it is a filter, not a trust boundary (comm is chosen by
    the process). ``text`` is a string or an iterable of lines (a large log is streamed,
    never held whole); a :class:`BulkSkip` in it adds its count to its reason (then present in
    skipped). ``forms``: an optional dict, set to {form: AVC records read} for every form of
    FORMS. ``since``: epoch seconds (see :func:`parse_since`), or None; when given, AVC records
    stamped before it are skipped as ``before_since`` and those without a stamp as ``no_time``
    (both reasons then present), before they are counted in ``forms``. ``total`` is the sum of
    every reason.
    """
    allowed_domains = set(allowed_domains or [])
    targets = set(t for t in (allowed_targets or []) if isinstance(t, str) and TYPE_RE.match(t) and t != 'self')
    comms = set(comm or [])
    skipped = dict((r, 0) for r in SKIP_REASONS)
    if since is not None:
        since = float(since)
        for r in SINCE_REASONS:
            skipped[r] = 0
    counts = dict((f, 0) for f in FORMS)
    acc = {}
    if isinstance(text, str):
        lines = iter_lines(text)
    else:
        lines = text or []
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode('utf-8', 'replace')
        elif not isinstance(line, str):
            if isinstance(line, BulkSkip):
                skipped[line.reason] = skipped.get(line.reason, 0) + line.count
            elif isinstance(line, ExeHint):
                continue                    # evidence for perf_denials, never a grant
            else:
                skipped['unparsable'] += 1
            continue
        if _too_long(line):
            skipped['too_long'] += 1
            continue
        s = _strip(line)
        if _ignored(s):
            continue
        parsed = _parse(s)
        if parsed is None:
            skipped['unparsable'] += 1
            continue
        form, rec, is_avc = parsed
        if not is_avc:
            skipped['not_avc'] += 1
            continue
        if rec is None:
            skipped['unparsable'] += 1
            continue
        if since is not None:
            if rec['time'] is None:
                skipped['no_time'] += 1
                continue
            if rec['time'] < since:
                skipped['before_since'] += 1
                continue
        counts[form] += 1
        if rec['result'] != 'denied':
            skipped['granted'] += 1
            continue
        if comms and rec['comm'] not in comms:
            skipped['comm'] += 1
            continue
        allowed = allowed_perms(rec['tclass'], include_bpf)
        if not allowed:
            skipped['class'] += 1
            continue
        if rec['stype'] not in allowed_domains:
            skipped['domain'] += 1
            continue
        perms = [p for p in rec['perms'] if p in allowed]
        if not perms:
            skipped['perm'] += 1
            continue
        target, perms = grant_target(rec, perms, targets)
        if not perms:
            skipped['target'] += 1
            continue
        acc.setdefault((rec['stype'], target, rec['tclass']), set()).update(perms)
    rules = [(k[0], k[1], k[2], sorted(v)) for k, v in sorted(acc.items())]
    skipped['total'] = sum(skipped.values())
    if forms is not None:
        forms.clear()
        forms.update(counts)
    return rules, skipped


def rule_text(rule):
    src, tgt, tclass, perms = rule
    p = perms[0] if len(perms) == 1 else '{ %s }' % ' '.join(perms)
    return 'allow %s %s:%s %s;' % (src, tgt, tclass, p)


# a comment line render_te takes: printable ASCII only (no newline, no control character)
COMMENT_MAX = 240
COMMENT_RE = re.compile(r'^[ -~]{0,%d}\Z' % COMMENT_MAX)


def render_te(name, rules, version='1.0', comments=None, header=None):
    """A .te for the rules (audit2allow's layout, sorted). Every name is checked again: a rule
    that is not made of valid type / class / permission names raises ValueError.

    ``comments``: an optional dict {(source, target, class): [line, ...]} of comment lines
    written (as ``# line``) above that rule; ``header``: comment lines after the module
    statement. Each line must match COMMENT_RE (printable ASCII, at most 240 characters; the
    caller neutralises log text first), else ValueError: no text can end a comment early."""
    comments = comments or {}
    for text in [t for v in comments.values() for t in v] + list(header or []):
        if not isinstance(text, str) or not COMMENT_RE.match(text):
            raise ValueError('invalid comment line %r' % (text,))
    types = set()
    classes = {}
    for src, tgt, tclass, perms in rules:
        if (not TYPE_RE.match(src) or not (tgt == 'self' or TYPE_RE.match(tgt)) or not PERM_RE.match(tclass)
                or not perms or not all(PERM_RE.match(p) for p in perms)):
            raise ValueError('invalid rule %r' % ((src, tgt, tclass, perms),))
        types.add(src)
        if tgt != 'self':
            types.add(tgt)
        classes.setdefault(tclass, set()).update(perms)
    lines = ['', 'module %s %s;' % (name, version), '']
    if header:
        lines += ['# ' + t if t else '#' for t in header] + ['']
    lines.append('require {')
    for t in sorted(types):
        lines.append('\ttype %s;' % t)
    for c in sorted(classes):
        perms = sorted(classes[c])
        lines.append('\tclass %s %s;' % (c, perms[0] if len(perms) == 1 else '{ %s }' % ' '.join(perms)))
    lines.append('}')
    by_src = {}
    for r in rules:
        by_src.setdefault(r[0], []).append(r)
    for src in sorted(by_src):
        lines += ['', '#============= %s ==============' % src]
        for r in by_src[src]:
            lines += ['# ' + t if t else '#' for t in comments.get((r[0], r[1], r[2]), [])]
            lines.append(rule_text(r))
    return '\n'.join(lines) + '\n'


def grant_te(name, domains, permissions=C.PERF_EVENT_PERMS):
    """The declared perf module: ``permissions`` on class perf_event for each domain, to
    itself (the rollout's default module without a probe user), in the layout and order the
    rollout's Jinja template wrote before (so the compiled module is the same). ValueError names
    what is wrong: no domain, an invalid type, or a permission perf_event does not have."""
    if not domains:
        raise ValueError('grant.domains is empty: list the domains that may use perf (for example [user_t])')
    bad = [d for d in domains if not isinstance(d, str) or not TYPE_RE.match(d)]
    if bad:
        raise ValueError('invalid SELinux type in grant.domains: %r' % bad[0])
    unknown = sorted(set(permissions or ()) - set(C.PERF_EVENT_PERMS))
    if not permissions or unknown:
        raise ValueError('grant.permissions must be perf_event permissions (%s), got %s'
                         % (' '.join(C.PERF_EVENT_PERMS), ', '.join(unknown) if unknown else 'none'))
    # the given order, duplicates dropped: the compiled CIL lists the permissions in the order the
    # require block declares them, and hosts converged with that order must stay converged
    doms = [d for i, d in enumerate(domains) if d not in domains[:i]]
    perms = ' '.join(p for i, p in enumerate(permissions) if p not in permissions[:i])
    lines = ['module %s 1.0;' % name, 'require {'] + ['\ttype %s;' % d for d in doms]
    lines += ['\tclass perf_event { %s };' % perms, '}']
    lines += ['allow %s self:perf_event { %s };' % (d, perms) for d in doms]
    return '\n'.join(lines) + '\n'


# source, target and class hold no ':' / space, so every split point is forced (linear)
AUDIT2ALLOW_RULE_RE = re.compile(
    r'^allow[ \t]+([^ \t]+)[ \t]+([^ \t:]+):([^ \t:;{}]+)[ \t]+(?:\{([^{}]*)\}|([^ \t;{}]+))[ \t]*;[ \t]*\Z')


def parse_allow_rules(te_text):
    """``allow`` lines of a .te / audit2allow output → sorted (src, tgt, class, [perms])."""
    acc = {}
    for line in iter_lines(te_text or ''):
        m = AUDIT2ALLOW_RULE_RE.match(line.strip(' \t\r'))
        if not m:
            continue
        perms = [p for p in (m.group(4) or m.group(5) or '').replace('\t', ' ').split(' ') if p]
        acc.setdefault((m.group(1), m.group(2), m.group(3)), set()).update(perms)
    return [(k[0], k[1], k[2], sorted(v)) for k, v in sorted(acc.items())]
