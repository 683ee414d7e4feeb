"""module_utils/audit: property-based (hypothesis) test of the byte prefilter (issue 19).

Random byte logs mixing perf records of every form (the fuzz records of test_audit_fuzz.py,
hostile values included), the prefilter's needles and near misses (``tclass=`` alone,
``tclass=perf_even``, a class without ``tclass=``), newlines and ``\\r``, separators, invalid
UTF-8, and lines just under, at and over MAX_LINE, read at random block sizes (1 byte and up,
so that blocks split lines, needles and the newline itself anywhere): the prefilter gives the
rules of the line-by-line reader, and exactly the counts of test_audit_prefilter.expected.

Bounded in time: 200 examples per test, no deadline, no example database written to the
working tree. On the Python 3.6/3.7 lanes (no hypothesis installed) the module is skipped.
"""
import io
import os
import sys

import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import example, given, settings, HealthCheck, strategies as st  # noqa: E402

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_audit_fuzz as fz  # noqa: E402  pylint: disable=wrong-import-position
import test_audit_prefilter as tp  # noqa: E402  pylint: disable=wrong-import-position

SETTINGS = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CAP = au.MAX_LINE

PIECES = [b'{', b'}', b'{ open }', b'tclass=perf_event', b'tclass=capability2', b'tclass=cap2_userns', b'tclass=', b'tclass=perf_even',
          b'tclass=tclass=perf_event', b'perf_event', b'capability2', b'tclass=capability', b' tclass=perf_event ',
          b'\n', b'\n', b'\n', b'\r\n', b'\r', b' ', b'\t', b'----', b'time->Fri', b'-- Boot x --', b'avc:  denied  { open } for ',
          b'type=AVC msg=audit(1764337200.101:301): ', b'\xff', b'\xc3', b'\xe2\x80\xa8', b'\x00', b'\x85']


def _encode(text):
    return text.encode('utf-8', 'surrogatepass')


@st.composite
def padded(draw):
    """A record padded to a length around MAX_LINE (both sides of the cap)."""
    rec = _encode(draw(fz.record()))
    length = draw(st.sampled_from([CAP - 2, CAP - 1, CAP, CAP + 1, CAP + 2, 2 * CAP + 1]))
    pad = max(0, length - len(rec) - 1)
    return rec + b' ' + b'a' * pad if draw(st.booleans()) else b'a' * pad + b' ' + rec


record = fz.record().map(_encode)
# well-formed perf records of every form (the fuzz records above are mostly refused)
clean = st.builds(lambda prefix, perms, tclass, st_, same: _encode(
    '%savc:  denied  { %s } for  pid=1 comm="perf" scontext=u:r:%s:s0 tcontext=u:r:%s:s0 tclass=%s'
    % (prefix, ' '.join(perms), st_, st_ if same else 'kernel_t', tclass)),
    st.sampled_from(fz.PREFIXES), st.lists(st.sampled_from(sorted(au.PERF_EVENT_PERMS | au.CAP2_PERMS)), min_size=1, max_size=3),
    st.sampled_from(['perf_event', 'capability2', 'cap2_userns']), st.sampled_from(['user_t', 'staff_t']), st.booleans())
piece = st.one_of(clean, clean, record, record, st.sampled_from(PIECES), st.binary(max_size=40),
                  st.integers(CAP - 3, CAP + 3).map(lambda n: b'x' * n), padded())
# pieces joined mostly by newlines (whole records on their lines), sometimes glued together
logs = st.builds(lambda ps, sep, tail: sep.join(ps) + tail, st.lists(piece, max_size=40),
                 st.sampled_from([b'\n', b'\n', b'\n', b'\r\n', b'\n\n', b'']), st.sampled_from([b'', b'\n']))
block_sizes = st.one_of(st.integers(1, 48), st.sampled_from([CAP - 1, CAP, CAP + 1, 2 * CAP, au.BLOCK_SIZE]))
WIDE = dict(allowed_domains=['user_t', 'staff_t', 'unconfined_t'], comm=[], allowed_targets=['kernel_t'])
configs = st.one_of(st.just(WIDE), st.just(WIDE), st.sampled_from(tp.CONFIGS),
                    st.builds(lambda d, t, c, b, s: dict(allowed_domains=d, allowed_targets=t, comm=c,
                                                         include_bpf=b, since=s),
                              fz.config.map(lambda c: c[0]), st.sampled_from([[], ['kernel_t'], ['init_t', 'sshd_t']]),
                              st.sampled_from([[], ['perf']]), st.booleans(),
                              st.one_of(st.none(), st.sampled_from([0, 1.2, 1764337200.101, 1764337300.0]))))


@SETTINGS
@given(data=logs, block_size=block_sizes, cfg=configs, dense=st.sampled_from([au.DENSE_BRACES, 0, 1, 2]))
@example(data=b'tclass=perf_event\n' + b'a' * CAP + b'tclass=perf_event', block_size=CAP, cfg=tp.CONFIGS[0], dense=0)
@example(data=tp._padded(CAP) + b'\n' + tp._padded(CAP + 1), block_size=1, cfg=tp.CONFIGS[1], dense=0)
@example(data=b'\n'.join([tp._rec(), b'x' * (CAP + 1), tp._rec('read')]), block_size=CAP + 1, cfg=tp.CONFIGS[1], dense=0)
def test_prefilter_equals_the_line_reader(data, block_size, cfg, dense):
    old = tp.line_by_line(data, cfg)
    with tp.dense_braces(dense):            # also the tclass= search of blocks dense in braces
        got = tp.prefiltered(data, cfg, block_size)
    assert got[0] == old[0]                                 # the same rules
    assert got[1]['too_long'] == old[1]['too_long']
    assert got == tp.expected(data, cfg)                    # the counts, as defined
    assert got[1]['total'] == sum(v for k, v in got[1].items() if k != 'total')
    hypothesis.event('rules: %s' % ('some' if got[0] else 'none'))
    hypothesis.event('too_long: %s' % (got[1]['too_long'] > 0))
    hypothesis.event('not_perf: %s' % (got[1].get(au.NOT_PERF, 0) > 0))
    hypothesis.event('perf records parsed: %s' % (sum(got[2].values()) > 0))


@SETTINGS
@given(data=logs, sizes=st.lists(st.integers(0, 64), min_size=1, max_size=8))
def test_short_reads_change_nothing(data, sizes):
    """readinto may return fewer bytes than asked (a pipe-like file, or a file read while
    auditd appends): the items are the same, whatever the read sizes."""
    class Short(io.BytesIO):
        def __init__(self, b):
            io.BytesIO.__init__(self, b)
            self.k = 0

        def readinto(self, b):
            n = sizes[self.k % len(sizes)]
            self.k += 1
            if n == 0 and self.tell() < len(self.getvalue()):
                n = 1                                       # 0 would mean end of file
            return io.BytesIO.readinto(self, memoryview(b)[:n])

    def items(f):
        out = []
        for i in au.read_prefiltered(f, 64):
            out.append((i.reason, i.count) if isinstance(i, au.BulkSkip) else i)
        return out

    def merged(seq):
        lines = [i for i in seq if not isinstance(i, tuple)]
        bulk = sum(i[1] for i in seq if isinstance(i, tuple))
        return lines, bulk

    assert merged(items(Short(data))) == merged(items(io.BytesIO(data)))
