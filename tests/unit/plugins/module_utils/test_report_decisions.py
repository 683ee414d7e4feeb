"""module_utils/report.py row by row: each attention reason from the smallest change to a good
host's facts, the fleet's checksum mismatch, the counts and the printed line."""
import copy

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import report

GOOD = {
    'selinux': {'mode': 'enforcing', 'config_mode': 'enforcing', 'policy_type': 'targeted',
                'perf_event_class': True, 'autorelabel_pending': False},
    'kernel': {'perf_event_paranoid': 2, 'kptr_restrict': 1,
               'paranoid_source': {'state': 'persisted', 'file': '/etc/sysctl.d/99-zz-perfsec-perf.conf'}},
    'modules': [{'name': 'perfsec_perf', 'priority': 300, 'enabled': True, 'checksum': 'sha256:aa'}],
    'denials': {'count': 0},
    'policy_packages': {'current': True},
    'perf_users': {'binary': None, 'capabilities': ''},
    'access': {'mismatches': [], 'only_root': False, 'summary': 'perf: root, perf_users'},
    'stig': {'status': 'pass', 'file': '/etc/sysctl.d/99-zz-perfsec-perf.conf'},
    'audit_rule': {'hits': {'count': 3, 'summary': '3 perf_event_open() calls'}},
}


def changed(path, value):
    facts = copy.deepcopy(GOOD)
    d = facts
    for key in path[:-1]:
        d = d[key]
    d[path[-1]] = value
    return facts


@pytest.mark.parametrize('path,value,reason', [
    (('selinux', 'mode'), 'permissive', 'selinux'),
    (('selinux', 'config_mode'), 'permissive', 'selinux'),
    (('selinux', 'perf_event_class'), False, 'class'),
    (('policy_packages', 'current'), False, 'policy_replaced'),
    (('selinux', 'autorelabel_pending'), True, 'relabel'),
    (('denials', 'count'), 1, 'denials'),
    (('kernel', 'paranoid_source', 'state'), 'runtime_differs', 'paranoid_source'),
    (('perf_users', 'binary'), '/opt/perf_users/perf', 'perf_users'),
    (('access', 'mismatches'), [{'who': 'alice'}], 'access'),
])
def test_each_reason(path, value, reason):
    assert report.attention(GOOD) == []
    assert report.attention(changed(path, value)) == [reason]


def test_paranoid_low_only_without_an_enabled_module():
    low = changed(('kernel', 'perf_event_paranoid'), 1)
    assert report.attention(low) == []                       # the module confines perf
    low['modules'][0]['enabled'] = False
    assert report.attention(low) == ['paranoid']
    assert report.attention(changed(('kernel', 'perf_event_paranoid'), None)) == []


def test_policy_packages_unknown_is_not_flagged():
    assert report.attention(changed(('policy_packages', 'current'), None)) == []
    facts = copy.deepcopy(GOOD)
    del facts['policy_packages']
    assert report.attention(facts) == []


def test_stig_only_with_the_stig_profile():
    failing = changed(('stig', 'status'), 'fail')
    assert report.attention(failing) == []
    assert report.attention(failing, 'stig') == ['stig']
    assert report.attention(GOOD, 'stig') == []


def test_checksum_mismatch_and_order():
    other = changed(('modules',), [{'name': 'perfsec_perf', 'enabled': True, 'checksum': 'sha256:bb'},
                                   {'name': 'zz', 'enabled': True, 'checksum': ''}])
    third = changed(('modules',), [{'name': 'zz', 'enabled': True, 'checksum': 'sha256:cc'}])
    assert report.checksum_mismatch([GOOD, other, third]) == ['perfsec_perf']   # an empty checksum is no vote
    assert report.checksum_mismatch([GOOD, GOOD]) == []
    bad = changed(('selinux', 'mode'), 'permissive')
    assert report.attention(bad, 'default', ['perfsec_perf']) == ['selinux', 'checksum']
    assert report.attention(third, 'default', ['perfsec_perf']) == []


def test_summary_counts():
    bad = changed(('selinux', 'mode'), 'permissive')
    bad['selinux']['perf_event_class'] = False
    bad['access'] = {'mismatches': [{'who': 'x'}], 'only_root': True}
    del bad['audit_rule']
    sm = report.summary(['a', 'b', 'c'], ['a', 'b'], [GOOD, bad], [[], ['selinux']], ['m'])
    assert sm == {'hosts': 2, 'failed': 1, 'failed_hosts': ['c'], 'enforcing': 1, 'with_class': 1,
                  'only_root': 1, 'stig_pass': 2, 'audit_hits': 3, 'access_mismatch': 1,
                  'attention': 1, 'mismatch': ['m']}


def test_host_line():
    assert report.host_line(GOOD, []) == (
        'SELinux enforcing/enforcing targeted; class yes; paranoid 2 (/etc/sysctl.d/99-zz-perfsec-perf.conf); '
        'modules 1; denials 0; perf: root, perf_users; STIG paranoid check pass '
        '(/etc/sysctl.d/99-zz-perfsec-perf.conf); kptr_restrict 1; audit 3 perf_event_open() calls; attention: none')
    bare = changed(('kernel', 'paranoid_source', 'file'), '')
    bare['stig']['file'] = None
    line = report.host_line(bare, ['selinux', 'class'])
    assert '(runtime only)' in line and '(no file)' in line and line.endswith('attention: selinux, class')
