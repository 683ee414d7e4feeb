"""module_utils/audit: AVC parsing and perf rule generation.

The poisoned fixture mixes the three real perf denials of user_t with records of other
classes, other domains, other commands, USER_AVC text, forged/duplicated fields and garbage;
generation must grant exactly the real ones. The audit2allow test runs the real tool with
``-p`` on this machine's packaged policy and compares rule sets.
"""
import glob
import os
import random
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
    assert skipped == {'unparsable': 10, 'not_avc': 2, 'granted': 1, 'comm': 2, 'class': 2,
                       'domain': 2, 'perm': 1, 'total': 20}


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


def test_kernel_printk_format_and_target_type():
    line = ('audit: type=1400 audit(1764337200.101:301): avc:  denied  { tracepoint } for  pid=9 '
            'comm="perf" scontext=staff_u:staff_r:staff_t:s0 tcontext=system_u:system_r:kernel_t:s0 '
            'tclass=perf_event permissive=0')
    rules, skipped = au.generate_rules(line, ['staff_t'])
    assert rules == [('staff_t', 'kernel_t', 'perf_event', ['tracepoint'])] and skipped['total'] == 0
    te = au.render_te('m', rules)
    assert '\ttype kernel_t;' in te and '\ttype staff_t;' in te
    assert 'allow staff_t kernel_t:perf_event tracepoint;' in te


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
    path = os.path.join(FIX, 'perf_clean.log')
    expected = _audit2allow(path)
    assert len(expected) == 5
    rules, skipped = au.generate_rules(fixture_text('perf_clean.log'),
                                       ['user_t', 'staff_t', 'unconfined_t'], ['perf'])
    assert rules == expected
    assert skipped['total'] == 2     # the SYSCALL and PROCTITLE records


def test_poisoned_rules_are_a_subset_of_audit2allow():
    """audit2allow trusts everything it parses (USER_AVC, sshd_t, file, sys_admin...); we
    grant a subset of it: its own rules for user_t on perf_event/capability2, minus bpf."""
    theirs = _audit2allow(os.path.join(FIX, 'perf_poisoned.log'))
    ours, dummy = au.generate_rules(fixture_text('perf_poisoned.log'), ['user_t'], ['perf'])
    theirs_map = dict(((s, t, c), set(p)) for s, t, c, p in theirs)
    assert len(theirs) > len(ours)
    for s, t, c, p in ours:
        assert set(p) <= theirs_map[(s, t, c)]
