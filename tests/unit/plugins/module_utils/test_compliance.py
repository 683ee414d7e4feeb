"""module_utils/compliance.py: the STIG check, the profile's refusals, kptr_restrict - row by row."""
import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import compliance as c

RHEL = {'8': {'ID': 'rhel', 'VERSION_ID': '8.10'}, '9': {'ID': 'almalinux', 'ID_LIKE': 'rhel centos fedora',
                                                         'VERSION_ID': '9.4'},
        '10': {'ID': 'centos', 'VERSION_ID': '10'}}
DEBIAN = {'ID': 'debian', 'VERSION_ID': '12'}


def e(path, value, line=1):
    return {'path': path, 'line': line, 'value': value}


@pytest.mark.parametrize('major,cce', [('8', 'CCE-81054-9'), ('9', 'CCE-83959-7'), ('10', 'CCE-90142-1')])
def test_cce_per_rhel_release(major, cce):
    assert c.paranoid_cce(RHEL[major]) == cce
    assert c.stig_paranoid_check([e('/etc/sysctl.d/a.conf', '2')], 2, RHEL[major])['product'] == 'RHEL ' + major


def test_no_cce_off_rhel_but_the_rule_applies():
    r = c.stig_paranoid_check([e('/etc/sysctl.d/a.conf', '2')], 2, DEBIAN)
    assert r['cce'] is None and r['product'] is None and r['status'] == 'pass'


def test_os_release_parsing():
    osr = c.parse_os_release('# c\nID="rhel"\nVERSION_ID=\'9.4\'\nNAME=Red Hat\n')
    assert osr == {'ID': 'rhel', 'VERSION_ID': '9.4', 'NAME': 'Red Hat'}
    assert c.product(osr) == ('RHEL', '9') and c.product({}) == (None, None)


# --- the check, judged on the last assignment ---------------------------------------------------
@pytest.mark.parametrize('entries,runtime,status,file,words', [
    ([e('/etc/sysctl.d/99-zz-perfsec-perf.conf', '2', 4)], 2, 'pass', '/etc/sysctl.d/99-zz-perfsec-perf.conf',
     'sets it last'),
    ([e('/etc/sysctl.d/10-a.conf', '3'), e('/etc/sysctl.d/99-zz.conf', '2')], 2, 'pass', '/etc/sysctl.d/99-zz.conf',
     'sets it last'),
    ([e('/etc/sysctl.d/10-a.conf', '2'), e('/etc/sysctl.conf', '1', 7)], 2, 'fail', '/etc/sysctl.conf',
     '/etc/sysctl.conf:7 sets 1'),
    ([], 2, 'fail', None, 'no sysctl file sets'),
    ([e('/etc/sysctl.d/99-zz.conf', '2')], 3, 'fail', '/etc/sysctl.d/99-zz.conf', 'running value is 3'),
    ([e('/etc/sysctl.d/99-zz.conf', '2')], None, 'fail', '/etc/sysctl.d/99-zz.conf', 'cannot be read'),
    ([e('/etc/sysctl.d/99-zz.conf', 'two')], 2, 'fail', '/etc/sysctl.d/99-zz.conf', 'sets two'),
])
def test_stig_check_rows(entries, runtime, status, file, words):
    r = c.stig_paranoid_check(entries, runtime, RHEL['9'])
    assert (r['status'], r['file']) == (status, file) and words in r['reason']
    assert r['rule'] == 'sysctl_kernel_perf_event_paranoid' and r['expected'] == 2


def test_earlier_other_values_are_listed():
    r = c.stig_paranoid_check([e('/etc/sysctl.d/10-a.conf', '3', 2), e('/etc/sysctl.d/99-zz.conf', '2')], 2)
    assert r['earlier'] == ['/etc/sysctl.d/10-a.conf:2'] and r['status'] == 'pass'


# --- the profile ----------------------------------------------------------------------------
def test_default_profile_allows_everything():
    assert c.profile_errors('default', level=-1, persist=False, runtime=False, kptr_restrict=0) == []


@pytest.mark.parametrize('level', [-1, 0, 1, 3, 4])
def test_stig_refuses_other_levels_in_one_message(level):
    errs = c.profile_errors('stig', level=level, os_release=RHEL['8'])
    assert len(errs) == 1 and 'level %d was requested' % level in errs[0] and 'CCE-81054-9' in errs[0]
    assert 'perf_users' in errs[0]


def test_stig_accepts_2_and_lists_every_cce_off_rhel():
    assert c.profile_errors('stig', level=2) == [] and c.profile_errors('stig') == []
    assert 'CCE-81054-9 / CCE-83959-7 / CCE-90142-1' in c.paranoid_level_message(1, DEBIAN)


def test_stig_persist_runtime_kptr():
    assert len(c.profile_errors('stig', persist=False, runtime=False, kptr_restrict=0)) == 3
    assert c.profile_errors('stig', kptr_restrict=1) == []
    assert c.profile_errors('nist') == ["unknown profile 'nist': use one of default, stig"]


def test_profile_step():
    fail = c.stig_paranoid_check([], 3)
    assert c.profile_step('stig', fail).startswith('perfsec_profile stig: kernel.perf_event_paranoid must be 2')
    assert c.profile_step('default', fail) is None
    assert c.profile_step('stig', c.stig_paranoid_check([e('/etc/sysctl.d/z.conf', '2')], 2)) is None


# --- kptr_restrict --------------------------------------------------------------------------
@pytest.mark.parametrize('value,caps,symbols', [
    (0, None, {'root': True, 'perf_users': True, 'other': True}),
    (1, 'cap_perfmon,cap_sys_ptrace,cap_syslog=ep', {'root': True, 'perf_users': True, 'other': False}),
    (1, 'cap_perfmon=ep', {'root': True, 'perf_users': False, 'other': False}),
    (2, 'cap_syslog=ep', {'root': False, 'perf_users': False, 'other': False}),
    (None, None, {'root': None, 'perf_users': None, 'other': None}),
])
def test_kptr_rows(value, caps, symbols):
    assert c.kptr_restrict(value, caps)['symbols'] == symbols


ACCESS = {'rows': [{'who': 'root', 'verdict': 'allowed', 'gate': 'capability', 'reason': 'r'},
                   {'who': 'perf_users', 'verdict': 'blocked', 'gate': 'paranoid', 'reason': 'pu blocked'},
                   {'who': 'user_t', 'verdict': 'partial', 'gate': 'selinux', 'reason': 'u'},
                   {'who': 'other', 'verdict': 'blocked', 'gate': 'paranoid', 'reason': 'o'}]}


@pytest.mark.parametrize('intended,blocked', [
    (['perf_users', 'user_t'], ['perf_users']),
    (['user_t'], []),
    (['unconfined_t', 'other'], ['other']),
    (['staff_t'], ['staff_t']),
    ([], []),
])
def test_blocked_intended_rows(intended, blocked):
    assert [r['who'] for r in c.blocked_intended(ACCESS, intended)] == blocked


def test_blocked_intended_keeps_the_gate_and_says_why_without_a_row():
    r = c.blocked_intended(ACCESS, ['perf_users', 'staff_t'])
    assert r[0] == {'who': 'perf_users', 'verdict': 'blocked', 'gate': 'paranoid', 'reason': 'pu blocked'}
    assert 'no row' in r[1]['reason'] and r[1]['verdict'] is None


@pytest.mark.parametrize('profile,level,kptr,want', [
    ('stig', None, None, []),
    ('stig', '2', '1', []),                                   # strings, as -e passes them
    ('stig', '', None, []),
    ('default', '0', '0', []),
    ('stig', '1', None, ['^perfsec_profile stig keeps kernel.perf_event_paranoid at exactly 2 .*level 1 was requested']),
    ('stig', 2, 0, ['^perfsec_profile stig keeps kernel.kptr_restrict at 1 .*0 was requested']),
    ('stig', 3, '2', ['level 3 was requested', 'kptr_restrict at 1']),
    ('stig', 'two', None, ['^kernel.perf_event_paranoid must be an integer']),
])
def test_profile_refusals_of_the_role_variables(profile, level, kptr, want):
    import re
    got = c.profile_refusals(profile, level, kptr)
    assert len(got) == len(want)
    for msg, pattern in zip(got, want):
        assert re.search(pattern, msg), msg
    if level == '1':                                          # the STIG rule's every CCE: no host is read here
        assert 'CCE-81054-9 / CCE-83959-7 / CCE-90142-1' in got[0]
