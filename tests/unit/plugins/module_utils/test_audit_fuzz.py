"""module_utils/audit: property-based (hypothesis) tests of the AVC parser and rule generator.

The contract, whatever the input lines (arbitrary text, decoded bytes, or AVC records of every
form with hostile values in every field):

* generate_rules never raises; every skip reason is counted and ``total`` is their sum;
* every rule's source is in allowed_domains, its class perf_event or capability2, its perms a
  non-empty sorted subset of the class allow-list (bpf only with include_bpf);
* its target is ``self``, or a type of allowed_targets with perf_event read/write only, never
  an attribute (``domain`` is in the pool of record target types, never in allowed_targets);
* each granted permission was denied by some input line for that source and class;
* render_te's output holds no word but the .te keywords and validated type/class/perm names;
* line order does not matter, lines without ``avc:`` change nothing.

Bounded in time: ~200 examples per test, no deadline, no example database written to the
working tree. On the Python 3.6/3.7 lanes (no hypothesis installed) the module is skipped.
"""
import re

import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import example, given, settings, HealthCheck, strategies as st  # noqa: E402

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au  # noqa: E402

SETTINGS = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

HOSTILE = [';', '$(id)', '`id`', '{', '}', '"', "'", '=', ':', ' ', '\t', '\x0c', '\x0b', '\x85',
           '\u2028', '\xa0', '\x00', '\x1b[0m', '\ud800', '\ufffd', 'é', '\r', '../', 'allow x self:y z;']
TYPES = ['user_t', 'staff_t', 'unconfined_t', 'sshd_t', 'kernel_t', 'init_t', 'domain', 'file_type',
         'a' * 300, 'self', 'user_t2', 'User_T']
PERMS = ['open', 'cpu', 'kernel', 'tracepoint', 'read', 'write', 'perfmon', 'bpf', 'sys_admin',
         'setenforce', 'frobnicate', 'Open', '1open']
CLASSES = ['perf_event', 'capability2', 'capability', 'file', 'security', 'perf_eventx']
ALLOWED_TARGETS_POOL = ['kernel_t', 'init_t', 'sshd_t', 'staff_t', 'user_t2']     # types, no attribute
ATTRIBUTES = {'domain', 'file_type'}


def sometimes(draw, clean, hostile, percent=5):
    """Mostly a clean value (so that whole records pass the parser and reach the contract
    checks), sometimes a hostile one."""
    # hypothesis starts from (and shrinks towards) small integers: 0 is the clean value
    return draw(hostile) if draw(st.integers(0, 99)) >= 100 - percent else draw(clean)


maybe_hostile = st.sampled_from(HOSTILE)


def tiers(draw, *choices):
    """One of ``choices`` [(percent, strategy), ...]: the first ones (the valid values, which
    hypothesis starts from) most of the time, the hostile last ones sometimes."""
    k = draw(st.integers(0, 99))
    for percent, strategy in choices:
        if k < percent:
            return draw(strategy)
        k -= percent
    return draw(choices[-1][1])


COMMON = st.sampled_from(['user_t', 'staff_t'])     # the usual allowed domains


@st.composite
def name(draw):
    return tiers(draw, (60, COMMON), (35, st.sampled_from(TYPES)),
                 (5, st.one_of(st.builds(lambda a, b: a + b, st.sampled_from(TYPES), maybe_hostile),
                               st.text(max_size=12))))


@st.composite
def context(draw):
    return '%s:%s:%s%s' % (draw(st.sampled_from(['user_u', 'system_u', 'staff_u', ''])),
                           draw(st.sampled_from(['user_r', 'system_r', 'object_r'])), draw(name()),
                           sometimes(draw, st.sampled_from(['', ':s0', ':s0-s0:c0.c1023', ':s0:c1,c2']),
                                     st.sampled_from([':', '::', ':s0 x'])))


PREFIXES = [
    'type=AVC msg=audit(1764337200.101:301): ', 'node=vm1 type=AVC msg=audit(1764337200.101:301): ',
    'type=AVC msg=audit(11/28/25 13:40:00.101:301) : ', 'audit: type=1400 audit(1764337200.101:301): ',
    'type=1400 audit(1.2:3): ', '[ 1234.567890] audit: type=1400 audit(1.2:3): ',
    '[Fri Nov 28 13:40:00 2025] audit: type=1400 audit(1.2:3): ',
    'Nov 28 13:40:00 vm1 kernel: audit: type=1400 audit(1.2:3): ', 'Nov 28 13:40:00 vm1 audit[1]: AVC ',
    '2025-11-28T13:40:00.123456+01:00 vm1 audit[1]: AVC ', 'AVC ']
BAD_PREFIXES = ['type=USER_AVC msg=audit(1.2:3): ', 'audit: type=1107 audit(1.2:3): ', '',
                'Nov 28 13:40:00 vm1 perf[1]: AVC ', 'Nov 28 13:40:00 vm1 audit[1]: USER_AVC ', 'x ']


@st.composite
def record(draw):
    """An AVC record of some form, with any part possibly hostile, reordered or duplicated."""
    scontext = draw(context())
    fields = [('pid', sometimes(draw, st.sampled_from(['1', '4242']), st.sampled_from(['', '"', '1 2']))),
              ('comm', sometimes(draw, st.sampled_from(['"perf"', '"perf"', '"bash"', '70657266', 'perf']),
                                 st.builds(lambda h: '"perf%s"' % h, maybe_hostile))),
              ('scontext', scontext),
              ('tcontext', tiers(draw, (55, st.just(scontext)),
                                 (30, st.builds(lambda t, lv: 'system_u:system_r:%s%s' % (t, lv),
                                                st.sampled_from(['kernel_t', 'init_t', 'domain', 'sshd_t']),
                                                st.sampled_from(['', ':s0']))),
                                 (15, context()))),
              ('tclass', tiers(draw, (70, st.sampled_from(['perf_event', 'capability2'])),
                               (25, st.sampled_from(CLASSES)),
                               (5, st.builds(lambda c, h: c + h, st.sampled_from(CLASSES), maybe_hostile))))]
    if draw(st.booleans()):
        fields.append(('permissive', draw(st.sampled_from(['0', '1']))))
    if draw(st.integers(0, 9)) == 9:
        fields.append(draw(st.sampled_from(fields)))                     # a duplicated key
    if draw(st.integers(0, 9)) == 9:
        fields = draw(st.permutations(fields))
    sep = sometimes(draw, st.sampled_from([' ', '  ']), st.sampled_from(['\t', '\xa0', '\x0c']), 5)
    perms = tiers(draw, (70, st.lists(st.sampled_from(PERMS[:8]), min_size=1, max_size=4)),
                  (25, st.lists(st.sampled_from(PERMS), min_size=1, max_size=4)),
                  (5, st.lists(st.one_of(st.sampled_from(PERMS), st.text(max_size=6)), max_size=4)))
    inner = sometimes(draw, st.just(' '), st.sampled_from(['  ', '\x0b', '\xa0']), 5).join(perms)
    result = tiers(draw, (80, st.just('denied')), (15, st.just('granted')),
                   (5, st.sampled_from(['Denied', 'denied;'])))
    body = 'avc:  %s  { %s } for  %s' % (result, inner, sep.join('%s=%s' % kv for kv in fields))
    line = (sometimes(draw, st.sampled_from(PREFIXES), st.sampled_from(BAD_PREFIXES)) + body
            + sometimes(draw, st.just(''), st.one_of(st.sampled_from([' ', ' x', ' }', '\r']), maybe_hostile)))
    if draw(st.integers(0, 19)) == 19:
        line = line + ' path="/' + 'a' * au.MAX_LINE + '"'              # over the line cap
    return line


raw_line = st.one_of(st.text(max_size=200),
                     st.binary(max_size=200).map(lambda b: b.decode('utf-8', 'surrogateescape')),
                     st.binary(max_size=200).map(lambda b: b.decode('utf-8', 'replace')),
                     st.binary(max_size=200).map(lambda b: b.decode('latin-1')))
lines_st = st.lists(st.one_of(record(), record(), record(), raw_line), max_size=12)
config = st.tuples(st.one_of(st.just(['user_t']), st.just(['staff_t', 'user_t']),        # allowed_domains
                             st.lists(st.sampled_from(TYPES), min_size=1, max_size=4, unique=True)),
                   st.one_of(st.just([]), st.just(['kernel_t']),                          # allowed_targets
                             st.lists(st.sampled_from(ALLOWED_TARGETS_POOL), max_size=3, unique=True)),
                   st.one_of(st.just([]), st.just(['perf']), st.lists(st.sampled_from(['perf', 'bash', 'perf x']))),
                   st.booleans())

TE_WORDS = {'module', 'require', 'type', 'class', 'allow', 'self', 'm', '1', '0'}


def denied_somewhere(lines, src, tclass, perm):
    """Some input line denies ``perm`` of ``tclass`` to a ``src`` context."""
    for line in lines:
        if ('denied' in line and ':%s' % src in line and 'tclass=%s' % tclass in line
                and re.search(r'\{[^{}]*(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])[^{}]*\}' % perm, line)):
            return True
    return False


def check_contract(lines, allowed_domains, allowed_targets, comm, include_bpf):
    forms = {}
    rules, skipped = au.generate_rules('\n'.join(lines), allowed_domains, comm, include_bpf,
                                       allowed_targets=allowed_targets, forms=forms)
    assert set(skipped) == set(au.SKIP_REASONS) | {'total'}
    assert all(isinstance(v, int) and v >= 0 for v in skipped.values())
    assert skipped['total'] == sum(skipped[r] for r in au.SKIP_REASONS)
    assert sorted(forms) == sorted(au.FORMS) and all(v >= 0 for v in forms.values())
    assert rules == sorted(rules)
    assert len(set(r[:3] for r in rules)) == len(rules)
    for src, tgt, tclass, perms in rules:
        assert src in allowed_domains and au.TYPE_RE.match(src)
        assert tclass in ('perf_event', 'capability2')
        assert perms and perms == sorted(set(perms))
        assert set(perms) <= au.allowed_perms(tclass, include_bpf)
        if not include_bpf:
            assert 'bpf' not in perms
        assert tgt not in ATTRIBUTES
        if tgt != 'self':
            assert tclass == 'perf_event' and tgt in allowed_targets and set(perms) <= {'read', 'write'}
        for p in perms:
            assert denied_somewhere(lines, src, tclass, p), (src, tclass, p)
    te = au.render_te('m', rules)
    vocab = TE_WORDS | set(allowed_domains) | set(allowed_targets) | au.PERF_EVENT_PERMS | au.CAP2_PERMS \
        | {au.CAP2_BPF, 'perf_event', 'capability2'}
    assert set(re.findall(r'[^ \t\n{};:#=.]+', te)) <= vocab
    assert au.parse_allow_rules(te) == rules
    hypothesis.event('rules: %s' % ('none' if not rules else 'some'))
    hypothesis.event('non-self target: %s' % any(r[1] != 'self' for r in rules))
    hypothesis.event('forged target skipped: %s' % (skipped['target'] > 0))
    return rules, skipped


FORGED_DOMAIN = ('type=AVC msg=audit(1764337200.101:301): avc:  denied  { read write } for  pid=1 comm="perf" '
                 'scontext=user_u:user_r:user_t:s0 tcontext=system_u:system_r:domain:s0 tclass=perf_event')


@SETTINGS
@given(lines=lines_st, cfg=config)
@example(lines=[FORGED_DOMAIN], cfg=(['user_t'], [], [], False))                 # issue 13 finding 1
@example(lines=[FORGED_DOMAIN.replace('read write', 'open cpu').replace(':domain:', ':kernel_t:')],
         cfg=(['user_t'], ['kernel_t'], ['perf'], False))
def test_generate_rules_contract(lines, cfg):
    check_contract(lines, *cfg)


@SETTINGS
@given(lines=lines_st, cfg=config, seed=st.randoms(use_true_random=False),
       noise=st.lists(st.text(max_size=80).filter(lambda t: 'avc:' not in t), max_size=5))
def test_order_and_noise_change_nothing(lines, cfg, seed, noise):
    rules, skipped = au.generate_rules('\n'.join(lines), cfg[0], cfg[2], cfg[3], allowed_targets=cfg[1])
    mixed = list(lines) + noise
    seed.shuffle(mixed)
    rules2, dummy = au.generate_rules('\n'.join(mixed), cfg[0], cfg[2], cfg[3], allowed_targets=cfg[1])
    assert rules2 == rules


@SETTINGS
@given(line=st.one_of(record(), raw_line))
def test_parse_avc_never_raises_and_returns_validated_names(line):
    rec = au.parse_avc(line)
    if rec is not None:
        assert rec['result'] in ('denied', 'granted')
        assert au.TYPE_RE.match(rec['stype']) and au.TYPE_RE.match(rec['ttype'])
        assert au.PERM_RE.match(rec['tclass']) and rec['perms'] and all(au.PERM_RE.match(p) for p in rec['perms'])
        assert rec['form'] in au.FORMS and len(line) <= au.MAX_LINE + 1


@SETTINGS
@given(data=st.lists(st.binary(max_size=300), max_size=8))
def test_decoded_bytes_as_an_iterable_of_lines(data):
    """Lines as perf_semodule streams them (decoded bytes, newline kept) and raw bytes."""
    lines = [b.decode('utf-8', 'surrogateescape') + '\n' for b in data]
    rules, skipped = au.generate_rules(iter(lines), ['user_t'], [], allowed_targets=['kernel_t'])
    rules_b, dummy = au.generate_rules(iter(data), ['user_t'], [], allowed_targets=['kernel_t'])
    for r in rules + rules_b:
        assert r[0] == 'user_t' and r[1] in ('self', 'kernel_t')


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from('allow :;{}\t\nab_x'), max_size=400))
def test_parse_allow_rules_never_raises(text):
    for src, tgt, tclass, perms in au.parse_allow_rules(text):
        assert ':' not in tgt and ':' not in tclass and ' ' not in src
