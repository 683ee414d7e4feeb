"""module_utils/audit: AVC parsing and perf rule generation.

The poisoned fixture mixes the three real perf denials of user_t with records of other
classes, other domains, other commands, USER_AVC text, forged/duplicated fields and garbage;
generation must grant exactly the real ones. The audit2allow test runs the real tool with
``-p`` on this machine's packaged policy and compares rule sets.
"""
import glob
import os
import random
import re
import subprocess

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   'fixtures', 'audit')


def fixture_text(name):
    with open(os.path.join(FIX, name), 'rb') as f:
        return f.read().decode('utf-8', 'replace')


USER_T_RULES = [('user_t', 'self', 'capability2', ['perfmon']),
                ('user_t', 'self', 'perf_event', ['cpu', 'kernel', 'open', 'read'])]


def test_poisoned_input_grants_only_the_real_denials():
    rules, skipped = au.generate_rules(fixture_text('perf_poisoned.log'), ['user_t'], ['perf'])
    assert rules == USER_T_RULES
    assert skipped == {'too_long': 0, 'unparsable': 10, 'not_avc': 2, 'granted': 1, 'comm': 2, 'class': 2,
                       'domain': 2, 'perm': 1, 'target': 0, 'total': 20}


def test_poisoned_input_te_text_has_nothing_else():
    rules, dummy = au.generate_rules(fixture_text('perf_poisoned.log'), ['user_t'], ['perf'])
    te = au.render_te('my-perf', rules)
    allow = [line for line in te.splitlines() if line.startswith('allow')]
    assert allow == ['allow user_t self:capability2 perfmon;',
                     'allow user_t self:perf_event { cpu kernel open read };']
    for bad in ('staff_t', 'sshd_t', 'unconfined_t', 'shadow_t', 'sys_admin', 'bpf', 'write',
                'tracepoint', 'frobnicate', 'capability ', 'file'):
        assert bad not in te


def test_bpf_only_when_asked():
    text = fixture_text('perf_poisoned.log')
    rules, skipped = au.generate_rules(text, ['user_t'], ['perf'], include_bpf=True)
    assert ('user_t', 'self', 'capability2', ['bpf', 'perfmon']) in rules
    assert skipped['perm'] == 0


def test_other_allowed_domain_and_any_comm():
    text = fixture_text('perf_poisoned.log')
    rules, skipped = au.generate_rules(text, ['staff_t'], [])
    assert rules == [('staff_t', 'self', 'perf_event', ['cpu', 'open'])]
    assert skipped['comm'] == 0
    rules, dummy = au.generate_rules(text, ['user_t'], [])
    # the "bash" record and the hex-encoded "perf sc" record count once comm is not filtered
    assert ('user_t', 'self', 'perf_event', ['cpu', 'kernel', 'open', 'read', 'tracepoint']) in rules


def test_no_allowed_domains_grants_nothing():
    rules, skipped = au.generate_rules(fixture_text('perf_clean.log'), [], [])
    assert rules == [] and skipped['domain'] == 7


def test_forged_comm_in_other_domain_is_not_granted():
    line = ('type=AVC msg=audit(1.2:3): avc:  denied  { open } for  pid=1 comm="perf" '
            'scontext=system_u:system_r:sshd_t:s0 tcontext=system_u:system_r:sshd_t:s0 tclass=perf_event')
    rules, skipped = au.generate_rules(line, ['user_t'], ['perf'])
    assert rules == [] and skipped['domain'] == 1


def test_hex_comm_is_decoded():
    rec = au.parse_avc('type=AVC msg=audit(1.2:3): avc:  denied  { open } for  pid=1 comm=706572662078 '
                       'scontext=u:r:user_t:s0 tcontext=u:r:user_t:s0 tclass=perf_event')
    assert rec['comm'] == 'perf x'


def test_kernel_printk_format_other_target_is_not_copied():
    # issue 13 finding 1: this record used to give `allow staff_t kernel_t:perf_event tracepoint;`
    line = ('audit: type=1400 audit(1764337200.101:301): avc:  denied  { tracepoint } for  pid=9 '
            'comm="perf" scontext=staff_u:staff_r:staff_t:s0 tcontext=system_u:system_r:kernel_t:s0 '
            'tclass=perf_event permissive=0')
    rules, skipped = au.generate_rules(line, ['staff_t'])
    assert rules == [] and skipped['target'] == 1 and skipped['total'] == 1
    # tracepoint is checked from a process to itself: even an allowed target does not get it
    rules, skipped = au.generate_rules(line, ['staff_t'], allowed_targets=['kernel_t'])
    assert rules == [] and skipped['target'] == 1
    rules, skipped = au.generate_rules(line.replace('system_u:system_r:kernel_t:s0', 'staff_u:staff_r:staff_t:s0'),
                                       ['staff_t'])
    assert rules == [('staff_t', 'self', 'perf_event', ['tracepoint'])] and skipped['total'] == 0


def test_generation_is_deterministic():
    lines = fixture_text('perf_poisoned.log').splitlines()
    first = au.render_te('m', au.generate_rules('\n'.join(lines), ['user_t'], ['perf'])[0])
    rnd = random.Random(4)
    for dummy in range(5):
        rnd.shuffle(lines)
        assert au.render_te('m', au.generate_rules('\n'.join(lines), ['user_t'], ['perf'])[0]) == first


def test_parse_allow_rules_roundtrip():
    rules, dummy = au.generate_rules(fixture_text('perf_clean.log'), ['user_t', 'staff_t', 'unconfined_t'], [])
    assert au.parse_allow_rules(au.render_te('m', rules)) == rules


def _policy_file():
    cands = sorted(glob.glob('/etc/selinux/default/policy/policy.*'))
    return cands[-1] if cands else None


def _audit2allow(path):
    exe = '/usr/bin/audit2allow'
    pol = _policy_file()
    if not os.path.exists(exe) or not pol:
        pytest.skip('audit2allow or the packaged default policy is not installed')
    out = subprocess.run([exe, '-p', pol, '-i', path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True).stdout.decode()
    return au.parse_allow_rules(out)


def test_same_rules_as_audit2allow_on_clean_records():
    """audit2allow copies the target type (staff_t -> kernel_t tracepoint); we grant its
    other rules exactly, and that one only as a skipped ``target`` record."""
    path = os.path.join(FIX, 'perf_clean.log')
    expected = _audit2allow(path)
    assert len(expected) == 5
    assert ('staff_t', 'kernel_t', 'perf_event', ['tracepoint']) in expected
    rules, skipped = au.generate_rules(fixture_text('perf_clean.log'),
                                       ['user_t', 'staff_t', 'unconfined_t'], ['perf'])
    assert rules == [r for r in expected if r[1] == 'self']
    assert skipped['total'] == 3 and skipped['target'] == 1    # + the SYSCALL and PROCTITLE records


def test_poisoned_rules_are_a_subset_of_audit2allow():
    """audit2allow trusts everything it parses (USER_AVC, sshd_t, file, sys_admin...); we
    grant a subset of it: its own rules for user_t on perf_event/capability2, minus bpf."""
    theirs = _audit2allow(os.path.join(FIX, 'perf_poisoned.log'))
    ours, dummy = au.generate_rules(fixture_text('perf_poisoned.log'), ['user_t'], ['perf'])
    theirs_map = dict(((s, t, c), set(p)) for s, t, c, p in theirs)
    assert len(theirs) > len(ours)
    for s, t, c, p in ours:
        assert set(p) <= theirs_map[(s, t, c)]


# --- issue 13 ----------------------------------------------------------------------------------
# Regression tests for findings 1 (forged targets), 2 (quadratic parsing, line cap) and 9 (the
# record forms users have), and the "what held up" properties. Each finding's test fails on the
# code before the fix (see the report of the change for the runs).

def avc(perms, stype='user_t', ttype=None, tclass='perf_event', comm='"perf"', extra='',
        prefix='type=AVC msg=audit(1764337300.000:500): ', result='denied'):
    return ('%savc:  %s  { %s } for  pid=4242 comm=%s %sscontext=user_u:user_r:%s:s0 '
            'tcontext=system_u:system_r:%s:s0 tclass=%s permissive=0'
            % (prefix, result, perms, comm, extra, stype, ttype or stype, tclass))


FORGED_TARGETS = ['domain', 'kernel_t', 'init_t', 'file_type', 'sshd_t', 'x' * 5000]


@pytest.mark.parametrize('ttype', FORGED_TARGETS, ids=lambda t: t if len(t) < 20 else 'x*%d' % len(t))
def test_finding1_forged_target_grants_nothing(ttype):
    """An attribute, kernel_t, init_t, another domain or an absurd (unknown) type as tcontext:
    skipped and counted, never copied into a rule."""
    lines = [avc('read write', ttype=ttype), avc('open cpu kernel tracepoint', ttype=ttype),
             avc('perfmon bpf', ttype=ttype, tclass='capability2')]
    rules, skipped = au.generate_rules('\n'.join(lines), ['user_t'], [], include_bpf=True)
    assert rules == []
    assert skipped['target'] == 3 and skipped['total'] == 3


def test_finding1_one_bad_target_does_not_block_the_good_rules():
    """The 5,000-character target used to reach the .te (the real install then failed with
    "Failed to resolve" while check mode predicted success): now the same rules either way."""
    good = [avc('open'), avc('kernel read'), avc('perfmon', tclass='capability2')]
    bad = [avc('read write', ttype='q' * 5000), avc('read', ttype='domain'), avc('cpu', ttype='init_t')]
    rules, skipped = au.generate_rules('\n'.join(bad[:1] + good[:2] + bad[1:] + good[2:]), ['user_t'], [])
    assert rules == [('user_t', 'self', 'capability2', ['perfmon']),
                     ('user_t', 'self', 'perf_event', ['kernel', 'open', 'read'])]
    assert skipped['target'] == 3 and skipped['total'] == 3
    te = au.render_te('m', rules)
    for bad_name in ('qqqq', 'domain', 'init_t'):
        assert bad_name not in te


def test_finding1_allowed_targets_get_read_write_only():
    text = '\n'.join([
        avc('open read write', ttype='kernel_t'),      # read/write to an allowed target; open: self only
        avc('tracepoint', ttype='kernel_t'),           # self only: skipped
        avc('perfmon', ttype='kernel_t', tclass='capability2'),   # capability2: self only
        avc('read', ttype='domain'),                   # not listed (an attribute): skipped
        avc('write', ttype='init_t'),                  # not listed: skipped
        avc('open'),                                   # self
        avc('read', stype='staff_t', ttype='kernel_t'),  # staff_t is not an allowed domain
    ])
    rules, skipped = au.generate_rules(text, ['user_t'], [], allowed_targets=['kernel_t'])
    assert rules == [('user_t', 'kernel_t', 'perf_event', ['read', 'write']),
                     ('user_t', 'self', 'perf_event', ['open'])]
    assert skipped['target'] == 4 and skipped['domain'] == 1 and skipped['total'] == 5
    te = au.render_te('m', rules)
    assert 'allow user_t kernel_t:perf_event { read write };' in te and '\ttype kernel_t;' in te
    assert 'domain' not in te and 'init_t' not in te and 'tracepoint' not in te
    # without allowed_targets the read/write record is a target skip too
    rules, skipped = au.generate_rules(text, ['user_t'], [])
    assert rules == [('user_t', 'self', 'perf_event', ['open'])] and skipped['target'] == 5


def test_finding1_invalid_or_self_allowed_targets_are_ignored():
    text = '\n'.join([avc('read', ttype='self'), avc('read', ttype='kernel_t')])
    rules, skipped = au.generate_rules(text, ['user_t'], [],
                                       allowed_targets=['self', 'kernel_t;', 'kernel_t\n', ' kernel_t', 42])
    assert rules == [] and skipped['target'] == 2


def test_finding1_rules_stay_sorted_and_deterministic_with_targets():
    lines = [avc('read', ttype='b_t'), avc('write', ttype='a_t'), avc('open'), avc('read', stype='staff_t'),
             avc('write', stype='staff_t', ttype='a_t'), avc('read', ttype='a_t')]
    want = au.generate_rules('\n'.join(lines), ['user_t', 'staff_t'], [], allowed_targets=['a_t', 'b_t'])
    assert want[0] == [('staff_t', 'a_t', 'perf_event', ['write']), ('staff_t', 'self', 'perf_event', ['read']),
                       ('user_t', 'a_t', 'perf_event', ['read', 'write']), ('user_t', 'b_t', 'perf_event', ['read']),
                       ('user_t', 'self', 'perf_event', ['open'])]
    rnd = random.Random(13)
    for dummy in range(5):
        rnd.shuffle(lines)
        assert au.generate_rules('\n'.join(lines), ['user_t', 'staff_t'], [], allowed_targets=['b_t', 'a_t']) == want


# au.MAX_LINE; the literal lets these tests run (and fail for the right reason) on the old code
CAP = getattr(au, 'MAX_LINE', 10240)


def _padded(length):
    """A valid user_t open record padded (with a path= field) to exactly ``length`` characters."""
    base = avc('open', extra='path="/" ')
    pad = length - len(base)
    assert pad >= 0
    return avc('open', extra='path="/%s" ' % ('a' * pad))


def test_finding2_line_over_the_cap_is_skipped_before_parsing():
    at_cap = _padded(CAP)
    over = _padded(CAP + 1)
    assert len(at_cap) == CAP and len(over) == CAP + 1
    assert au.parse_avc(at_cap)['perms'] == ['open']
    assert au.parse_avc(over) is None              # perf_mac_facts.count_denials reads through this
    rules, skipped = au.generate_rules(over + '\n' + _padded(64 * 1024), ['user_t'], [])
    assert rules == [] and skipped['too_long'] == 2 and skipped['total'] == 2
    rules, skipped = au.generate_rules(iter([at_cap + '\n', over + '\n']), ['user_t'], [])
    assert rules == [('user_t', 'self', 'perf_event', ['open'])] and skipped['too_long'] == 1
    assert au.parse_avc(at_cap + '\n') is not None and au.parse_avc(over + '\n') is None
    rules, skipped = au.generate_rules([au.TOO_LONG_LINE], ['user_t'], [])
    assert skipped == dict(dict((r, 0) for r in au.SKIP_REASONS), too_long=1, total=1)


@pytest.mark.parametrize('shape', ['letters', 'equals', 'quote', 'hexcomm', 'colons', 'spaces', 'braces'])
def test_finding2_worst_case_shapes_under_the_cap_parse_correctly(shape):
    """The shapes that made the old field regex quadratic, just under the cap: still parsed
    to the right answer (their cost is measured in bench/parsers.py, not here)."""
    n = CAP - 400
    head = 'type=AVC msg=audit(1.2:3): avc:  denied  { open } for  pid=1 '
    tail = ' scontext=u:r:user_t:s0 tcontext=u:r:user_t:s0 tclass=perf_event'
    body = {'letters': 'a' * n, 'equals': 'a=' * (n // 2), 'quote': 'x="' + 'a' * n,
            'hexcomm': 'comm=' + 'AB' * (n // 2), 'colons': 'x=' + ':' * n, 'spaces': ' ' * n,
            'braces': '{' * n}[shape]
    rec = au.parse_avc(head + body + tail)
    if shape in ('equals', 'hexcomm', 'colons', 'spaces'):
        assert rec is not None and rec['stype'] == 'user_t'
    else:
        assert rec is None
    rules, skipped = au.generate_rules(':' * n + '\n' + 'avc:' * (n // 4), ['user_t'])
    assert rules == [] and skipped['unparsable'] == 2


def test_finding2_rule_regex_refuses_runs_of_colons():
    assert au.parse_allow_rules('allow a b::c:d x;\nallow a ' + ':' * 5000 + ' x;\n') == []
    assert au.parse_allow_rules('allow user_t self:perf_event { open read };\n'
                                'allow user_t kernel_t:perf_event read;\n') == [
        ('user_t', 'kernel_t', 'perf_event', ['read']), ('user_t', 'self', 'perf_event', ['open', 'read'])]


@pytest.mark.parametrize('sep', ['\x0c', '\x0b', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029', '\r'])
def test_finding2_lines_are_split_on_newline_only(sep):
    """Python's splitlines() cuts at \\f, \\v, \\x1c-\\x1e, \\x85, U+2028/9 and \\r: a user's
    journal message ``x<sep>type=AVC ...`` became a record of its own."""
    text = 'Nov 28 13:40:06 vm1 perf[812]: x' + sep + avc('open')
    rules, skipped = au.generate_rules(text, ['user_t'], [])
    assert rules == [] and skipped['unparsable'] == 1 and skipped['total'] == 1


@pytest.mark.parametrize('ws', ['\xa0', '\t', '\x0b', '\u2003'])
def test_finding2_only_ascii_spaces_separate_fields(ws):
    line = avc('open').replace(' tclass=', ws + 'tclass=')
    assert au.parse_avc(line) is None
    line = avc('open').replace('{ open }', '{' + ws + 'open' + ws + '}')
    assert au.parse_avc(line) is None


FORM_RULES = [('staff_t', 'self', 'perf_event', ['cpu', 'open']),
              ('user_t', 'self', 'capability2', ['perfmon']),
              ('user_t', 'self', 'perf_event', ['kernel', 'open', 'read'])]
FORM_FIXTURES = [
    # fixture, form, AVC records, skipped besides granted/class/target (1 each)
    ('form_auditd.log', 'auditd', 7, {'not_avc': 2}),
    ('form_ausearch_interpreted.log', 'ausearch_interpreted', 7, {'not_avc': 2}),   # real ausearch -i output
    ('form_kernel.log', 'kernel', 7, {'not_avc': 2, 'unparsable': 1}),
    ('form_dmesg.log', 'dmesg', 7, {'not_avc': 2, 'unparsable': 1}),
    ('form_journal.log', 'journal', 10, {'not_avc': 2, 'unparsable': 2}),
    ('form_journal_cat.log', 'journal_cat', 7, {'unparsable': 2}),
]


@pytest.mark.parametrize('fname,form,count,other', FORM_FIXTURES, ids=[f[1] for f in FORM_FIXTURES])
def test_finding9_every_record_form_gives_the_same_rules(fname, form, count, other):
    """The same denials (with and without MLS levels, a range with categories) in each form,
    with a SYSCALL, a USER_AVC, a granted record, another class and another target."""
    text = fixture_text(fname)
    rules, skipped = au.generate_rules(text, ['user_t', 'staff_t'], ['perf'])
    assert rules == FORM_RULES
    want = dict((r, 0) for r in au.SKIP_REASONS)
    want.update(granted=1, **{'class': 1})
    want.update(target=1, **other)
    want['total'] = sum(want.values())
    assert skipped == want
    forms = {'stale': 1}
    rules, dummy = au.generate_rules(text, ['user_t', 'staff_t'], ['perf'], allowed_targets=['kernel_t'], forms=forms)
    assert forms == dict((f, count if f == form else 0) for f in au.FORMS)
    assert rules == [('staff_t', 'kernel_t', 'perf_event', ['read'])] + FORM_RULES


JOURNAL_PREFIXES = [
    'Nov 28 13:40:00 vm1 kernel: ',                      # short
    'Nov  8 13:40:00 vm1 kernel: ',                      # syslog, day padded with a space
    'Nov 28 13:40:00.123456 vm1 kernel: ',               # short-precise
    '2025-11-28T13:40:00+0100 vm1 kernel: ',             # short-iso (systemd < 255)
    '2025-11-28T13:40:00+01:00 vm1 kernel: ',            # short-iso
    '2025-11-28T13:40:00.123456+01:00 vm1 kernel: ',     # short-iso-precise
    '2025-11-28T12:40:00.123456Z vm1 kernel: ',          # RFC 3339 syslog
    'Fri 2025-11-28 13:40:00 CET vm1 kernel: ',          # short-full
    '1764337200.123456 vm1 kernel: ',                    # short-unix
    '[ 1234.567890] vm1 kernel: ',                       # short-monotonic
    '[ 1234.567890 <    0.000010>] vm1 kernel: ',        # short-delta
    'Nov 28 13:40:00 kernel: ',                          # --no-hostname
    'Nov 28 13:40:00 vm1 kernel: [ 1234.567890] ',       # kern.log with the kernel timestamp
]


@pytest.mark.parametrize('prefix', JOURNAL_PREFIXES)
def test_finding9_journal_output_modes(prefix):
    kernel = prefix + 'audit: type=1400 audit(1764337200.101:301): ' + avc('open', prefix='')
    transport = prefix.split('kernel: ')[0] + 'audit[1318098]: AVC ' + avc('open', prefix='')
    for line in (kernel, transport):
        rec = au.parse_avc(line)
        assert rec is not None and rec['form'] == 'journal' and rec['perms'] == ['open'], line


@pytest.mark.parametrize('line', ['type=EOE msg=audit(1764337200.101:301): ', 'node=vm1 type=EOE msg=audit(1.2:3):',
                                  'audit: type=1320 audit(1764337200.101:301): ', 'Nov 28 13:40:00 vm1 audit[1]: EOE',
                                  'type=EOE msg=audit(11/28/25 13:40:00.101:301) : '])
def test_finding9_empty_records_are_not_avc(line):
    rules, skipped = au.generate_rules(line, ['user_t'], [])
    assert rules == [] and skipped['not_avc'] == 1 and skipped['total'] == 1


def test_finding9_the_seeds_journal_line():
    line = ('Nov 28 13:40:00 fedora audit[1318098]: AVC avc:  denied  { open } for  pid=1318098 '
            'comm="perf" scontext=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 '
            'tcontext=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 tclass=perf_event permissive=0')
    forms = {}
    rules, skipped = au.generate_rules(line, ['unconfined_t'], ['perf'], forms=forms)
    assert rules == [('unconfined_t', 'self', 'perf_event', ['open'])] and skipped['total'] == 0
    assert forms['journal'] == 1


@pytest.mark.parametrize('prefix,form', [
    ('[ 1234.567890] ', 'dmesg'), ('[Fri Nov 28 13:40:00 2025] ', 'dmesg'), ('[Nov28 13:40] ', 'dmesg'),
    ('[  +0.000012] ', 'dmesg'), ('kern  :notice: [ 1237.000002] ', 'dmesg'), ('<5>[ 1238.000003] ', 'dmesg'),
    ('', 'kernel'), ('node=vm1 ', None)])
def test_finding9_dmesg_and_kernel_forms(prefix, form):
    line = prefix + 'audit: type=1400 audit(1764337200.101:301): ' + avc('open', prefix='')
    rec = au.parse_avc(line)
    if form is None:
        assert rec is None
    else:
        assert rec['form'] == form and rec['stype'] == 'user_t'


@pytest.mark.parametrize('line', [
    # a user process's own journal/syslog lines are not kernel records
    'Nov 28 13:40:06 vm1 perf[812]: AVC ' + avc('open', prefix=''),
    'Nov 28 13:40:06 vm1 perf[812]: type=AVC msg=audit(1.2:3): ' + avc('open', prefix=''),
    'Nov 28 13:40:06 vm1 auditx[1]: AVC ' + avc('open', prefix=''),
    'Nov 28 13:40:06 vm1 kernel: AVC ' + avc('open', prefix=''),
    'Nov 28 13:40:06 vm1 audit[1]: type=1400 audit(1.2:3): ' + avc('open', prefix=''),
    'garbage audit: type=1400 audit(1.2:3): ' + avc('open', prefix=''),
    'type=AVC msg=audit(x): ' + avc('open', prefix=''),
    '{"MESSAGE": "AVC ' + avc('open', prefix='') + '"}',
])
def test_finding9_other_identifiers_and_shapes_are_unparsable(line):
    rules, skipped = au.generate_rules(line, ['user_t'], [])
    assert rules == [] and skipped['unparsable'] == 1 and skipped['total'] == 1


@pytest.mark.parametrize('form_prefix', [
    'type=AVC msg=audit(1764337300.000:500): ', 'audit: type=1400 audit(1764337300.000:500): ',
    '[ 12.5] audit: type=1400 audit(1764337300.000:500): ', 'Nov 28 13:40:00 vm1 audit[4242]: AVC ', 'AVC '])
def test_what_held_up_in_every_form(form_prefix):
    """USER_AVC, granted, other classes, other domains, forged comm and duplicated keys are
    skipped and counted in every form."""
    lines = [
        avc('open', prefix=form_prefix, result='granted'),
        avc('read', prefix=form_prefix, tclass='file'),
        avc('sys_admin', prefix=form_prefix, tclass='capability'),
        avc('open', prefix=form_prefix, stype='sshd_t'),                 # comm "perf" forged by sshd_t
        avc('open', prefix=form_prefix, comm='"bash"'),
        avc('open', prefix=form_prefix, extra='scontext=u:r:unconfined_t:s0 '),   # duplicated key
        avc('open', prefix=form_prefix, extra='tclass=capability2 '),            # duplicated key
    ]
    rules, skipped = au.generate_rules('\n'.join(lines), ['user_t'], ['perf'])
    assert rules == []
    assert (skipped['granted'], skipped['class'], skipped['domain'], skipped['comm'],
            skipped['unparsable']) == (1, 2, 1, 1, 2)


HOSTILE = [';', '$(id)', '`id`', '{', '}', '{ x }', '\x00', '\x1b[31m', '\x7f', '\ud800', '\ufffd',
           'allow user_t self:capability sys_admin;', '\nallow', '../', 'user_t\n', 'é']


@pytest.mark.parametrize('bad', HOSTILE, ids=[repr(h) for h in HOSTILE])
def test_what_held_up_no_log_text_reaches_the_te(bad):
    lines = [
        avc('open', comm='"%s"' % bad),                         # comm is a filter only
        avc('open', comm=bad),
        avc('open%s' % bad), avc('%s open' % bad),
        avc('open', stype='user_t%s' % bad), avc('open', ttype='user_t%s' % bad),
        avc('read', ttype='kernel_t%s' % bad),
        avc('open', tclass='perf_event%s' % bad),
        avc('open', extra='path="%s" ' % bad),
        avc('open').replace('tcontext=system_u:system_r', 'tcontext=%s:r' % bad),
    ]
    # held up before issue 13 too (this test passes on the old code); allowed_targets: in the fuzz test
    rules, skipped = au.generate_rules('\n'.join(lines), ['user_t'], [])
    te = au.render_te('m', rules)
    allowed_words = {'module', 'm', '1', '0', 'require', 'type', 'class', 'allow', 'self', 'user_t',
                     'perf_event', 'open'}
    assert set(re.findall(r'[A-Za-z0-9_]+', te)) <= allowed_words
    assert re.match(r'^[A-Za-z0-9_ \t\n{};:.#=]*\Z', te)
    for r in rules:
        assert r[:3] == ('user_t', 'self', 'perf_event')


def test_render_te_refuses_a_rule_with_log_text():
    with pytest.raises(ValueError):
        au.render_te('m', [('user_t', 'self', 'perf_event', ['open;'])])
    with pytest.raises(ValueError):
        au.render_te('m', [('user_t', 'domain; allow', 'perf_event', ['read'])])
