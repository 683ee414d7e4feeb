"""module_utils/audit: the byte prefilter of from_audit.paths (issue 19) against the line reader.

``read_lines`` is the line-by-line reader (every line decoded and parsed, the reader of
perf_semodule before issue 19); ``read_prefiltered`` reads blocks and passes on only the lines
that hold ``tclass=`` + a perf class, counting the others in bulk (``not_perf``). On every
recorded log of the tests (the fixture logs, the records the other audit tests build, logs of
bench/gen_audit_log.py) and at every block size (1 byte and up: every boundary split):

* the rules are those of the line reader;
* the counts are exactly the line reader's over the lines passed on, plus ``too_long`` for every
  line over MAX_LINE bytes (with or without a perf class) and ``not_perf`` for the others
  (``expected`` below spells this out).

The time window (``since``) and the bulk reason itself are tested here too. Python 3.6
compatible (no hypothesis here: see test_audit_prefilter_fuzz.py).
"""
import contextlib
import glob
import io
import os
import subprocess
import sys
import time
import tracemalloc

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_audit as ta  # noqa: E402  pylint: disable=wrong-import-position

FIX = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'fixtures', 'audit')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
CAP = au.MAX_LINE

FIXTURES = sorted(glob.glob(os.path.join(FIX, '*.log')))
BLOCK_SIZES = [1, 2, 3, 5, 7, 16, 64, 255, 4096, CAP - 1, CAP, CAP + 1, CAP + 2, au.BLOCK_SIZE]
CONFIGS = [
    dict(allowed_domains=['user_t', 'staff_t'], comm=['perf']),
    dict(allowed_domains=['user_t'], comm=[], include_bpf=True, allowed_targets=['kernel_t']),
    dict(allowed_domains=['unconfined_t', 'staff_t'], comm=['perf'], allowed_targets=['init_t']),
    dict(allowed_domains=['user_t', 'staff_t'], comm=[], since=1764337203.0),
    dict(allowed_domains=['user_t', 'staff_t', 'unconfined_t'], comm=['perf'], since=1700000100),
]


def _run(lines, cfg):
    forms = {}
    rules, skipped = au.generate_rules(lines, forms=forms, **cfg)
    return rules, skipped, forms


def line_by_line(data, cfg):
    return _run(au.read_lines(io.BytesIO(data)), cfg)


def prefiltered(data, cfg, block_size):
    return _run(au.read_prefiltered(io.BytesIO(data), block_size), cfg)


def has_perf_class(line):
    return b'{' in line and any(b'tclass=' + c in line for c in au.PREFILTER_CLASSES)


def expected(data, cfg):
    """The prefilter's contract, line by line: a line over MAX_LINE bytes is too_long; one with
    a brace and a perf class gets exactly the line reader's treatment; any other line is
    not_perf."""
    pieces = data.split(b'\n')
    if pieces[-1] == b'':
        pieces.pop()                    # no line after the last newline
    passed, too_long, not_perf = [], 0, 0
    for line in pieces:
        if len(line) > CAP:
            too_long += 1
        elif has_perf_class(line):
            passed.append(line.decode('utf-8', 'surrogateescape'))
        else:
            not_perf += 1
    rules, skipped, forms = _run(passed, cfg)
    skipped['too_long'] += too_long
    if not_perf:
        skipped[au.NOT_PERF] = not_perf
    skipped['total'] += too_long + not_perf
    return rules, skipped, forms


@contextlib.contextmanager
def dense_braces(n):
    """Blocks with more than ``n`` brace lines switch to the tclass= search (DENSE_BRACES)."""
    old = au.DENSE_BRACES
    au.DENSE_BRACES = n
    try:
        yield
    finally:
        au.DENSE_BRACES = old


def check(data, cfg, block_sizes=None, dense=(0, 1, 3)):
    """The prefilter at every block size (and with the brace search switching to the tclass=
    search after 0, 1, 3 brace lines) == expected; the same rules as the line reader."""
    old = line_by_line(data, cfg)
    want = expected(data, cfg)
    assert want[0] == old[0]                            # the contract keeps the rules
    assert want[1]['too_long'] == old[1]['too_long']    # and too_long
    for bs in BLOCK_SIZES if block_sizes is None else block_sizes:
        got = prefiltered(data, cfg, bs)
        assert got[0] == old[0], bs
        assert got == want, bs
    for n in dense:
        with dense_braces(n):
            for bs in ((7, au.BLOCK_SIZE) if len(data) < 200000 else (au.BLOCK_SIZE,)):
                assert prefiltered(data, cfg, bs) == want, (n, bs)
    return old, want


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


@pytest.mark.parametrize('cfg', CONFIGS, ids=lambda c: ','.join(c['allowed_domains']) + ('+since' if 'since' in c else ''))
@pytest.mark.parametrize('path', FIXTURES, ids=os.path.basename)
def test_fixture_logs_same_rules_and_counts(path, cfg):
    data = _read(path)
    old, want = check(data, cfg)
    # the prefilter never parses fewer perf records than there are
    assert sum(want[2].values()) <= sum(old[2].values())


def _variants(data):
    """The same log with CRLF line ends, without its last newline, with blank lines and
    leading spaces: what a copied or edited log looks like."""
    yield data
    yield data.replace(b'\n', b'\r\n')
    yield data.rstrip(b'\n')
    yield data.replace(b'\n', b'\n\n')
    yield data.replace(b'\n', b'\n  \t')
    yield b'\n' + data + b'\n\n'


@pytest.mark.parametrize('path', FIXTURES, ids=os.path.basename)
def test_fixture_log_variants(path):
    for data in _variants(_read(path)):
        check(data, CONFIGS[0], [1, 7, 64, au.BLOCK_SIZE])
        check(data, CONFIGS[3], [3, au.BLOCK_SIZE])


def test_all_fixtures_in_one_log():
    data = b''.join(_read(p) for p in FIXTURES)
    for cfg in CONFIGS:
        check(data, cfg, [1, 13, 4096, au.BLOCK_SIZE])


def _test_records():
    """The records the other audit tests build (test_audit.py), one per line."""
    lines = []
    for t in ta.FORGED_TARGETS:
        lines += [ta.avc('read write', ttype=t), ta.avc('open cpu kernel tracepoint', ttype=t),
                  ta.avc('perfmon bpf', ttype=t, tclass='capability2')]
    for prefix in ta.JOURNAL_PREFIXES:
        lines.append(prefix + 'audit: type=1400 audit(1764337200.101:301): ' + ta.avc('open', prefix=''))
        lines.append(prefix.partition('kernel: ')[0] + 'audit[1318098]: AVC ' + ta.avc('open', prefix=''))
    for bad in ta.HOSTILE:
        lines += [ta.avc('open', comm='"%s"' % bad), ta.avc('open%s' % bad), ta.avc('open', stype='user_t%s' % bad),
                  ta.avc('read', ttype='kernel_t%s' % bad), ta.avc('open', tclass='perf_event%s' % bad),
                  ta.avc('open', extra='path="%s" ' % bad)]
    for prefix in ['type=AVC msg=audit(1764337300.000:500): ', 'audit: type=1400 audit(1764337300.000:500): ',
                   '[ 12.5] audit: type=1400 audit(1764337300.000:500): ', 'Nov 28 13:40:00 vm1 audit[4242]: AVC ',
                   'AVC ', 'type=USER_AVC msg=audit(1.2:3): ', 'Nov 28 13:40:06 vm1 perf[812]: AVC ']:
        lines += [ta.avc('open', prefix=prefix, result='granted'), ta.avc('read', prefix=prefix, tclass='file'),
                  ta.avc('open', prefix=prefix, stype='sshd_t'), ta.avc('open', prefix=prefix, comm='"bash"'),
                  ta.avc('open', prefix=prefix, extra='scontext=u:r:unconfined_t:s0 '),
                  ta.avc('open', prefix=prefix, extra='tclass=capability2 '),
                  ta.avc('open', prefix=prefix, tclass='cap2_userns')]
    for sep in ['\x0c', '\x0b', '\x1c', '\x85', '\u2028', '\r']:
        lines.append('Nov 28 13:40:06 vm1 perf[812]: x' + sep + ta.avc('open'))
    n = CAP - 400
    head = 'type=AVC msg=audit(1.2:3): avc:  denied  { open } for  pid=1 '
    tail = ' scontext=u:r:user_t:s0 tcontext=u:r:user_t:s0 tclass=perf_event'
    for body in ['a' * n, 'a=' * (n // 2), 'x="' + 'a' * n, 'comm=' + 'AB' * (n // 2), 'x=' + ':' * n, ' ' * n, '{' * n]:
        lines.append(head + body + tail)
    for length in (CAP - 1, CAP, CAP + 1, CAP + 2, 64 * 1024):
        lines.append(ta._padded(length))
    return lines


def test_records_of_the_audit_tests():
    lines = _test_records()
    data = '\n'.join(lines).encode('utf-8', 'surrogatepass')
    for cfg in CONFIGS:
        check(data, cfg, [1, 9, 1000, CAP, au.BLOCK_SIZE])
    # shuffled in with the fixtures
    data = b'\n'.join([data] + [_read(p) for p in FIXTURES])
    check(data, CONFIGS[1], [5, au.BLOCK_SIZE])


@pytest.fixture(scope='module')
def generated_logs(tmp_path_factory):
    """Logs of bench/gen_audit_log.py (the benchmark's generator: auditd lines, a few perf
    events of every kind), small sizes."""
    d = tmp_path_factory.mktemp('genlog')
    out = []
    for size, seed in (('6M', 8), ('1M', 1), ('1M', 2)):
        path = str(d / ('gen-%s-%d.log' % (size, seed)))
        subprocess.check_call([sys.executable, os.path.join(ROOT, 'bench', 'gen_audit_log.py'), '--size', size,
                               '--seed', str(seed), '--out', path], stdout=subprocess.DEVNULL)
        out.append(path)
    return out


def test_generated_logs_same_rules_and_counts(generated_logs):
    bench_cfg = dict(allowed_domains=['unconfined_t', 'staff_t'], comm=['perf'])
    for path in generated_logs:
        data = _read(path)
        old, want = check(data, bench_cfg, [4093, 65536, au.BLOCK_SIZE])
        if path is generated_logs[0]:
            assert len(old[0]) >= 2, 'the generator plants perf denials of the allowed domains'
            assert old[1]['domain'] and old[1]['granted'] and old[1]['comm'] and old[1]['class']
        for cfg in CONFIGS[1:]:
            check(data, cfg, [au.BLOCK_SIZE])
    data = _read(generated_logs[-1])[:200000]
    check(data, bench_cfg, [1, 3, 97])                  # tiny blocks over real-looking lines


# --- over-long lines and memory ----------------------------------------------------------------

def _rec(perm='open', tclass='perf_event'):
    return ('type=AVC msg=audit(1764337300.000:500): avc:  denied  { %s } for  pid=1 comm="perf" '
            'scontext=u:r:user_t:s0 tcontext=u:r:user_t:s0 tclass=%s' % (perm, tclass)).encode()


def _padded(length, rec=None):
    rec = rec or _rec()
    line = rec + b' x="' + b'a' * (length - len(rec) - 5) + b'"'
    assert len(line) == length
    return line


@pytest.mark.parametrize('length', [CAP - 1, CAP, CAP + 1, CAP + 2, 2 * CAP + 7, 5 * CAP])
@pytest.mark.parametrize('where', ['first', 'middle', 'last', 'last_no_newline', 'alone_no_newline'])
def test_long_lines_with_and_without_perf_class(length, where):
    """A line over MAX_LINE bytes is too_long whether it holds tclass=perf_event or not, at every
    position and block size; a line of exactly MAX_LINE bytes is parsed."""
    for long_line in (_padded(length), b'z' * length, b'tclass=perf_event' + b'\xff' * (length - 17)):
        short = [_rec('read'), b'type=SYSCALL msg=audit(1.2:3): x=1', _rec('cpu', 'capability2')]
        if where == 'first':
            data = b'\n'.join([long_line] + short) + b'\n'
        elif where == 'middle':
            data = b'\n'.join(short[:1] + [long_line] + short[1:]) + b'\n'
        elif where == 'last':
            data = b'\n'.join(short + [long_line]) + b'\n'
        elif where == 'last_no_newline':
            data = b'\n'.join(short + [long_line])
        else:
            data = long_line
        old, want = check(data, CONFIGS[1], [1, 2, 11, CAP - 1, CAP, CAP + 1, 3 * CAP, au.BLOCK_SIZE])
        assert old[1]['too_long'] == (1 if length > CAP else 0)


def test_reader_never_holds_a_long_line():
    """A 4 MiB line without a newline, between two records, at a 64 KiB block size: one
    TOO_LONG_LINE, nothing over MAX_LINE + 1 characters, and the reader's own allocations stay
    near its one buffer (block + MAX_LINE + 1 bytes), far below the line."""
    data = _rec('open') + b'\n' + b'\0' * (4 << 20) + b'\n' + _rec('read') + b'\n' + b'x' * (3 << 20)
    f = io.BytesIO(data)
    tracemalloc.start()
    try:
        items = list(au.read_prefiltered(f, 1 << 16))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 512 * 1024, peak
    assert items.count(au.TOO_LONG_LINE) == 2
    lines = [i for i in items if isinstance(i, str)]
    assert all(len(line) <= CAP + 1 for line in lines) and len(lines) == 4
    rules, skipped = au.generate_rules(iter(items), ['user_t'], [])
    assert rules == [('user_t', 'self', 'perf_event', ['open', 'read'])]
    assert skipped['too_long'] == 2 and skipped['total'] == 2 and au.NOT_PERF not in skipped


def test_dense_braces_switch_to_the_tclass_search():
    """A block where most lines hold a brace (a JSON or journal export, say): past DENSE_BRACES
    brace lines the block is searched from tclass= instead; the same lines are passed on."""
    noise = b'Nov 28 13:40:00 vm1 app[1]: {"level": "info", "msg": "tclass=perf_event"}'
    lines = []
    for k in range(3 * au.DENSE_BRACES):
        lines.append(noise if k % 7 else _rec('open' if k % 2 else 'read'))
    lines.append(b'no brace tclass=perf_event ' + _rec()[:40])
    data = b'\n'.join(lines) + b'\n'
    old, want = check(data, CONFIGS[1], [au.BLOCK_SIZE], dense=(0, 5, au.DENSE_BRACES))
    assert old[0] == [('user_t', 'self', 'perf_event', ['open', 'read'])]
    assert want[1][au.NOT_PERF] == 1            # the line without a brace


def test_reads_in_blocks_of_the_block_size():
    sizes = []

    class Spy(io.BytesIO):
        def readinto(self, b):
            sizes.append(len(b))
            return io.BytesIO.readinto(self, b)

    data = (b'type=SYSCALL msg=audit(1.2:3): x=1\n' * 5000) + _rec() + b'\n'
    items = list(au.read_prefiltered(Spy(data), 4096))
    assert max(sizes) == 4096 and len(sizes) >= len(data) // 4096
    assert [i for i in items if isinstance(i, str)] == [_rec().decode()]
    assert sum(i.count for i in items if isinstance(i, au.BulkSkip)) == 5000


def test_lines_are_split_on_newline_only():
    """\\r, \\f, \\v, \\x1c-\\x1e, NEL and U+2028 do not end a line in the prefilter either."""
    for sep in (b'\r', b'\x0c', b'\x0b', b'\x1c', b'\x1d', b'\x1e', b'\xc2\x85', b'\xe2\x80\xa8'):
        data = b'Nov 28 13:40:06 vm1 perf[812]: x' + sep + _rec() + b'\n'
        old, want = check(data, CONFIGS[1], [1, 4, au.BLOCK_SIZE])
        assert old[0] == [] and want[1]['unparsable'] == 1


def test_bulk_count_and_reason():
    data = b'\n'.join([b'type=SYSCALL msg=audit(1.2:3): x=1'] * 7 + [b'', b'----', _rec()]) + b'\n'
    rules, skipped = au.generate_rules(au.read_prefiltered(io.BytesIO(data), 8), ['user_t'])
    assert rules == [('user_t', 'self', 'perf_event', ['open'])]
    assert skipped[au.NOT_PERF] == 9 and skipped['total'] == 9
    assert set(skipped) == set(au.SKIP_REASONS) | {au.NOT_PERF, 'total'}
    # only perf lines: no not_perf key
    rules, skipped = au.generate_rules(au.read_prefiltered(io.BytesIO(_rec() + b'\n')), ['user_t'])
    assert set(skipped) == set(au.SKIP_REASONS) | {'total'}
    # empty file
    assert list(au.read_prefiltered(io.BytesIO(b''))) == []


def test_bulk_skip_is_validated():
    for reason, count in (('unparsable', 1), ('not_perf', -1), ('not_perf', True), ('not_perf', 1.5), ('total', 1)):
        with pytest.raises(ValueError):
            au.BulkSkip(reason, count)
    with pytest.raises(ValueError):
        list(au.read_prefiltered(io.BytesIO(b'x'), 0))
    # anything else that is not a line is still unparsable
    rules, skipped = au.generate_rules([object(), 42, None], ['user_t'])
    assert skipped['unparsable'] == 3 and au.NOT_PERF not in skipped


def test_the_prefilter_classes_cover_every_class_that_can_give_a_rule():
    """allowed_perms is empty for every class but perf_event and capability2, and the record's
    tclass is a raw key=value field, so a rule needs the text tclass=perf_event/capability2;
    and its permissions are in braces."""
    assert au.parse_avc(ta.avc('open').replace('{ open }', 'open')) is None
    assert au.parse_avc(ta.avc('open').replace('{ open }', '( open )')) is None
    assert set(c.decode() for c in au.PREFILTER_CLASSES) >= {'perf_event', 'capability2'}
    for tclass in ('perf_event', 'capability2'):
        assert au.allowed_perms(tclass, include_bpf=True)
    for tclass in ('file', 'capability', 'cap2_userns', 'perf_eventx', 'bpf'):
        assert not au.allowed_perms(tclass, include_bpf=True)
    # a quoted value is no class name: the record does not parse
    assert au.parse_avc(ta.avc('open').replace('tclass=perf_event', 'tclass="perf_event"')) is None


# --- since ------------------------------------------------------------------------------------

@pytest.mark.parametrize('value,want', [
    (1764337200, 1764337200.0), (1764337200.5, 1764337200.5), ('1764337200', 1764337200.0),
    ('1764337200.25', 1764337200.25), (0, 0.0), ('0', 0.0)])
def test_parse_since_accepts_epoch_seconds(value, want):
    assert au.parse_since(value) == want


@pytest.mark.parametrize('value', [True, False, -1, -0.5, '-1', '', ' 1', '1 ', '1e9', '1.', '.5', 'nan',
                                   float('nan'), float('inf'), 'today', '2025-11-28', '2025-11-28T00:00:00Z',
                                   '11/28/2025 00:00:00', None, [1], {'a': 1}, '1' * 21, '1.' + '1' * 10, 1e21])
def test_parse_since_refuses_the_rest(value):
    with pytest.raises(ValueError):
        au.parse_since(value)


# 2026-12-02 06:37:56 UTC, a Wednesday
NOW = 1796193476.5


@pytest.fixture
def tz(monkeypatch):
    """Set the process's local time zone (POSIX TZ strings, no tzdata needed)."""
    def set_tz(name):
        monkeypatch.setenv('TZ', name)
        time.tzset()
    yield set_tz
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize('value,want', [
    ('1764337200', 1764337200.0), (1764337200, 1764337200.0),
    ('now', NOW), ('recent', NOW - 600), ('this-hour', 1796191200.0),
    ('today', 1796169600.0), ('yesterday', 1796083200.0), ('week-ago', 1795564800.0),
    ('this-week', 1795910400.0),            # Sunday 2026-11-29
    ('this-month', 1796083200.0), ('this-year', 1767225600.0),
    ('today 13:00', 1796216400.0), ('yesterday 23:59:59', 1796169599.0), ('13:00', 1796216400.0),
    ('2026-11-28', 1795824000.0), ('11/28/2026', 1795824000.0), ('28.11.2026', 1795824000.0),
    ('2026-11-28 13:00:05', 1795870805.0), ('  today   13:00 ', 1796216400.0)])
def test_resolve_since_in_utc(tz, value, want):
    tz('UTC0')
    assert au.resolve_since(value, now=NOW) == want


def test_resolve_since_is_the_hosts_local_time(tz):
    tz('XST-2')                           # UTC+2: the host's midnight is 22:00 UTC the day before
    assert au.resolve_since('today', now=NOW) == 1796169600.0 - 7200
    assert au.resolve_since('2026-11-28 13:00', now=NOW) == 1795870800.0 - 7200
    assert au.resolve_since('this-hour', now=NOW) == 1796191200.0    # whole-hour offset


def test_resolve_since_boot(tmp_path):
    assert au.resolve_since('boot', boot=1796190000) == 1796190000.0
    (tmp_path / 'stat').write_text(u'cpu  1 2 3\nbtime 1796190001\nprocesses 9\n')
    assert au.boot_time(str(tmp_path)) == 1796190001.0
    (tmp_path / 'stat').write_text(u'cpu  1 2 3\n')
    with pytest.raises(ValueError):
        au.boot_time(str(tmp_path))


@pytest.mark.parametrize('value', ['checkpoint', 'boot 13:00', 'now 13:00', 'recent 1:00', 'today 13', 'today 24:00',
                                   'today 12:60', 'today 12:00:60', '2026-02-30', '2026-13-01', '00/10/2026',
                                   '2026-11-28T13:00:00', 'today -if /tmp/forged.log', 'today 13:00 x', 'Today',
                                   '', ' ', '1e9', '-1', True, None, 1.5e21, 'x' * 41])
def test_resolve_since_refuses(tz, value):
    tz('UTC0')
    with pytest.raises(ValueError):
        au.resolve_since(value, now=NOW)


def _reasons(**kw):
    want = dict((r, 0) for r in au.SKIP_REASONS)
    want.update(before_since=0, no_time=0)
    want.update(kw)
    want['total'] = sum(want.values())
    return want


def test_since_on_the_auditd_form():
    """form_auditd.log: open, kernel read, perfmon of user_t at ...200.101, ...201.202, ...202.304;
    staff_t open cpu at ...203.405, its kernel_t read at ...203.406, a granted record at ...204.507,
    a file record at ...204.508; a SYSCALL and a USER_AVC (not_avc whatever their time)."""
    text = ta.fixture_text('form_auditd.log')
    forms = {}
    rules, skipped = au.generate_rules(text, ['user_t', 'staff_t'], ['perf'], since=1764337203.405, forms=forms)
    assert rules == [('staff_t', 'self', 'perf_event', ['cpu', 'open'])]
    assert skipped == _reasons(before_since=3, target=1, granted=1, **{'class': 1, 'not_avc': 2})
    assert forms['auditd'] == 4                 # only the records in the window
    # the record exactly at since is kept; one microsecond later it is not
    rules, skipped = au.generate_rules(text, ['user_t', 'staff_t'], ['perf'], since='1764337203.405001')
    assert rules == [] and skipped['before_since'] == 4
    # since 0 keeps everything, and only adds the two reasons
    rules0, skipped0 = au.generate_rules(text, ['user_t', 'staff_t'], ['perf'], since=0)
    rules1, skipped1 = au.generate_rules(text, ['user_t', 'staff_t'], ['perf'])
    assert rules0 == rules1 == ta.FORM_RULES
    assert skipped0 == dict(skipped1, before_since=0, no_time=0)


@pytest.mark.parametrize('fname,no_time', [
    ('form_auditd.log', 0), ('form_kernel.log', 0), ('form_dmesg.log', 0),
    ('form_ausearch_interpreted.log', 7),       # local-time stamps: no epoch
    ('form_journal_cat.log', 7),                # no stamp at all
    ('form_journal.log', 6),                    # the audit[PID] transport lines have none
])
def test_since_no_time_per_form(fname, no_time):
    rules, skipped = au.generate_rules(ta.fixture_text(fname), ['user_t', 'staff_t'], ['perf'], since=1)
    assert skipped['no_time'] == no_time and skipped['before_since'] == 0
    if no_time == 7:
        assert rules == []
    else:
        assert rules[0][0] in ('staff_t', 'user_t')
    # without since there is no such reason: no_time is never counted
    rules, skipped = au.generate_rules(ta.fixture_text(fname), ['user_t', 'staff_t'], ['perf'])
    assert 'no_time' not in skipped and 'before_since' not in skipped


def test_since_reads_the_record_stamp_of_every_stamped_form():
    stamp = 'audit(1764337300.250:500): '
    for prefix, form in [('type=AVC msg=' + stamp, 'auditd'), ('node=vm1 type=AVC msg=' + stamp, 'auditd'),
                         ('audit: type=1400 ' + stamp, 'kernel'), ('[ 12.5] audit: type=1400 ' + stamp, 'dmesg'),
                         ('Nov 28 13:40:00 vm1 kernel: audit: type=1400 ' + stamp, 'journal'),
                         ('1764337300.999 vm1 kernel: [ 1.5] audit: type=1400 ' + stamp, 'journal')]:
        line = ta.avc('open', prefix=prefix)
        rec = au.parse_avc(line)
        assert rec['form'] == form and rec['time'] == 1764337300.25
        assert au.generate_rules(line, ['user_t'], since=1764337300.25)[0] == [('user_t', 'self', 'perf_event', ['open'])]
        assert au.generate_rules(line, ['user_t'], since=1764337300.26)[1]['before_since'] == 1
    for prefix in ['Nov 28 13:40:00 vm1 audit[4242]: AVC ', 'AVC ', 'type=AVC msg=audit(11/28/25 13:40:00.101:301) : ']:
        assert au.parse_avc(ta.avc('open', prefix=prefix))['time'] is None


def test_since_and_the_prefilter_agree_with_the_line_reader():
    data = b''.join(_read(p) for p in FIXTURES)
    for since in (0, 1764337200.101, 1764337203.0, 1764337207.005, 1900000000):
        check(data, dict(allowed_domains=['user_t', 'staff_t'], comm=[], since=since), [1, 29, au.BLOCK_SIZE])
