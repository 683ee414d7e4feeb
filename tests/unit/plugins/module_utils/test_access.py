"""The effective-access verdict (module_utils/access.py), one test per gate and distro variant.

Each test builds perf_mac_facts-shaped facts for one host and reads the rows: root, the
perf_users group, the confined domains that matter, any other user.
"""
import copy

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import access

PERF_USERS_CAPS = 'cap_perfmon,cap_sys_ptrace,cap_syslog=ep'


def host(paranoid=2, variant='upstream', hook=True, lockdown='none', selinux='enforcing', klass=True,
         perfmon=True, deny_unknown=True, modules=None, perf_users_caps=PERF_USERS_CAPS, cap_perfmon=True,
         denials=None, class_module=False, rebuilt=False):
    enabled = selinux in ('enforcing', 'permissive')
    mods = list(modules or [])
    if class_module:
        mods.append({'name': 'perfsec_perf_event', 'priority': 250, 'enabled': True, 'perf_rules': []})
    return {
        'kernel': {'release': '6.1.0-28-amd64', 'perf_event_hook': hook, 'cap_perfmon': cap_perfmon,
                   'perf_event_paranoid': paranoid, 'lockdown': lockdown,
                   'paranoid_variant': {'variant': variant, 'source': 'test', 'evidence': ''}},
        'selinux': {'enabled': enabled, 'mode': selinux if enabled else 'disabled', 'perf_event_class': klass and enabled,
                    'perfmon': perfmon and enabled, 'deny_unknown': deny_unknown if enabled else None},
        'modules': mods,
        'perf_users': {'group': 'perf_users', 'group_exists': perf_users_caps is not None, 'members': ['alice'],
                       'dir': '/opt/perf_users',
                       'binary': '/opt/perf_users/perf' if perf_users_caps is not None else None,
                       'capabilities': perf_users_caps},
        'denials': {'groups': denials or []},
        'class_module': {'name': 'perfsec_perf_event', 'priority': 250},
        'policy_packages': {'installed': ['selinux-policy-x'], 'current': True} if rebuilt else None,
    }


def module(name, domain, perms, enabled=True, klass='perf_event'):
    return {'name': name, 'priority': 300, 'enabled': enabled,
            'perf_rules': [{'source': domain, 'target': 'self', 'class': klass, 'perms': sorted(perms)}]}


USER_T = module('perfsec_perf', 'user_t', ['open', 'cpu', 'kernel', 'tracepoint', 'read', 'write'])


def rows(facts, expected=None):
    return dict((r['who'], r) for r in access.verdicts(facts, expected))


def test_upstream_paranoid_2():
    r = rows(host(paranoid=2, modules=[USER_T]))
    assert list(r) == ['root', 'perf_users', 'user_t', 'other']
    assert r['root']['verdict'] == 'allowed' and r['root']['gate'] == 'capability'
    assert r['other']['verdict'] == 'partial' and r['other']['gate'] == 'paranoid'
    assert r['other']['uses'] == {'open': True, 'cpu': False, 'kernel': False, 'tracepoint': False}
    assert 'perf_event_paranoid 2 (upstream) refuses CPU-wide events without CAP_PERFMON' in r['other']['reason']
    assert r['other']['reason'].startswith('any other user (unprivileged, unconfined) can use perf for own '
                                           'processes in user space, not for CPU-wide events, kernel profiling, '
                                           'tracepoints: ')
    # the module grants user_t everything, but paranoid runs first for kernel/cpu events
    assert r['user_t']['verdict'] == 'partial' and r['user_t']['gate'] == 'paranoid'
    assert r['perf_users']['verdict'] == 'allowed' and r['perf_users']['gate'] == 'capability'


def test_upstream_kernel_treats_3_like_2():
    r = rows(host(paranoid=3, variant='upstream'))
    assert r['other']['verdict'] == 'partial' and r['perf_users']['verdict'] == 'allowed'


def test_debian_3_refuses_before_selinux():
    r = rows(host(paranoid=3, variant='debian', modules=[USER_T]))
    assert r['root']['verdict'] == 'allowed'
    for who in ('perf_users', 'user_t', 'other'):
        assert r[who]['verdict'] == 'blocked' and r[who]['gate'] == 'paranoid', who
        assert 'without CAP_SYS_ADMIN before SELinux is asked (no AVC)' in r[who]['reason']
    assert 'perf_event_paranoid 3 (debian)' in r['perf_users']['reason']    # CAP_PERFMON does not help


def test_ubuntu_4_refuses_before_selinux():
    r = rows(host(paranoid=4, variant='ubuntu'))
    assert r['root']['verdict'] == 'allowed'
    assert r['perf_users']['verdict'] == 'blocked' and r['perf_users']['gate'] == 'paranoid'
    assert r['other']['verdict'] == 'blocked' and 'perf_event_paranoid 4 (ubuntu)' in r['other']['reason']
    r = rows(host(paranoid=2, variant='ubuntu'))
    assert r['perf_users']['verdict'] == 'allowed' and r['other']['verdict'] == 'partial'


def test_lockdown_confidentiality_limits_root_too():
    r = rows(host(paranoid=-1, lockdown='confidentiality'))
    for who in ('root', 'perf_users', 'other'):
        assert r[who]['verdict'] == 'partial' and r[who]['gate'] == 'lockdown', who
        assert r[who]['uses']['tracepoint'] is False and r[who]['uses']['kernel'] is True
    assert 'lockdown=confidentiality' in r['root']['reason']
    assert rows(host(paranoid=-1, lockdown='integrity'))['root']['verdict'] == 'allowed'


def test_no_hook_selinux_cannot_mediate():
    # the policy would refuse user_t (no rule) and unknown classes, but SELinux is never asked
    r = rows(host(hook=False, paranoid=-1, klass=False, deny_unknown=True,
                  denials=[{'stype': 'user_t', 'tclass': 'perf_event', 'perms': ['open'], 'count': 1}]))
    assert r['user_t']['verdict'] == 'allowed' and r['user_t']['gate'] == 'hook'
    assert 'no perf_event LSM hook' in r['user_t']['reason']
    assert r['other']['verdict'] == 'allowed' and r['other']['gate'] == 'paranoid'
    r = rows(host(hook=False, paranoid=2, denials=[{'stype': 'user_t', 'tclass': 'perf_event'}]))
    assert r['user_t']['verdict'] == 'partial' and r['user_t']['gate'] == 'hook'


def test_class_undefined_unknown_allowed():
    r = rows(host(klass=False, perfmon=False, deny_unknown=False, paranoid=-1), {'user_t': 'blocked'})
    assert r['user_t']['verdict'] == 'allowed' and r['user_t']['gate'] == 'selinux'
    assert 'lacks class perf_event and allows unknown permissions' in r['user_t']['reason']
    assert r['perf_users']['verdict'] == 'allowed'       # capability2 perfmon unknown: allowed too


def test_class_undefined_unknown_denied_blocks_everybody():
    r = rows(host(klass=False, perfmon=False, deny_unknown=True))
    for who in ('root', 'perf_users', 'other'):
        assert r[who]['verdict'] == 'blocked' and r[who]['gate'] == 'selinux', who
        assert 'lacks class perf_event and denies unknown permissions' in r[who]['reason']


def test_permissive():
    r = rows(host(selinux='permissive', paranoid=-1), {'user_t': 'blocked'})
    assert r['user_t']['verdict'] == 'allowed' and r['user_t']['gate'] == 'selinux'
    assert 'SELinux is permissive' in r['user_t']['reason']


def test_selinux_disabled():
    r = rows(host(selinux='disabled', paranoid=-1), {'user_t': 'blocked'})
    assert r['user_t']['verdict'] == 'allowed' and 'SELinux is not enabled' in r['user_t']['reason']


def test_confined_domain_with_module_rule():
    r = rows(host(paranoid=-1, modules=[USER_T]))
    assert r['user_t']['verdict'] == 'allowed' and r['user_t']['gate'] == 'selinux'
    assert 'module perfsec_perf grants user_t perf_event { kernel }' in r['user_t']['reason']
    partly = module('perf_local', 'user_t', ['open', 'cpu'])
    r = rows(host(paranoid=-1, modules=[partly]))
    assert r['user_t']['verdict'] == 'partial' and r['user_t']['gate'] == 'selinux'
    assert r['user_t']['uses'] == {'open': True, 'cpu': True, 'kernel': False, 'tracepoint': False}
    assert 'no enabled module grants user_t perf_event { kernel }' in r['user_t']['reason']


def test_confined_domain_without_module_rule():
    denied = [{'stype': 'user_t', 'tclass': 'perf_event', 'perms': ['open'], 'count': 3}]
    r = rows(host(paranoid=-1, denials=denied))
    assert r['user_t']['verdict'] == 'blocked' and r['user_t']['gate'] == 'selinux'
    assert 'no enabled module grants user_t perf_event { open }' in r['user_t']['reason']
    # a disabled module grants nothing
    off = copy.deepcopy(USER_T)
    off['enabled'] = False
    assert rows(host(paranoid=-1, modules=[off]))['user_t']['verdict'] == 'blocked'


def test_perf_users_member_with_cap_perfmon():
    r = rows(host(paranoid=2))
    assert r['perf_users']['verdict'] == 'allowed' and r['perf_users']['gate'] == 'capability'
    assert 'CAP_PERFMON on the privileged perf copy passes perf_event_paranoid' in r['perf_users']['reason']
    # the copy without file capabilities: like any other user
    r = rows(host(paranoid=2, perf_users_caps=''))
    assert r['perf_users']['verdict'] == 'partial' and r['perf_users']['gate'] == 'paranoid'
    # a policy that denies unknown permissions and lacks capability2 perfmon refuses CAP_PERFMON
    r = rows(host(paranoid=2, perfmon=False, deny_unknown=True))
    assert r['perf_users']['verdict'] == 'partial' and r['perf_users']['gate'] == 'selinux'
    assert 'CAP_PERFMON is refused: the policy lacks capability2 perfmon' in r['perf_users']['reason']
    # a kernel without CAP_PERFMON (before 5.8)
    r = rows(host(paranoid=2, cap_perfmon=False))
    assert r['perf_users']['verdict'] == 'partial' and 'no CAP_PERFMON' in r['perf_users']['reason']
    # no copy at all
    r = rows(host(paranoid=2, perf_users_caps=None))
    assert r['perf_users']['verdict'] == 'partial' and 'no privileged perf copy' in r['perf_users']['reason']


def test_class_from_perfsec_has_no_rules_for_unconfined():
    for kw in ({'class_module': True}, {'rebuilt': True}):
        r = rows(host(paranoid=-1, **kw))
        assert r['root']['verdict'] == 'blocked' and r['root']['gate'] == 'selinux', kw
        assert 'no allow rules' in r['root']['reason']
    unconf = module('perfsec_perf', 'unconfined_t', ['open', 'cpu', 'kernel', 'tracepoint'])
    r = rows(host(paranoid=-1, class_module=True, modules=[unconf]))
    assert r['root']['verdict'] == 'allowed' and r['other']['verdict'] == 'allowed'
    assert 'unconfined_t' not in r


def test_expected_access_mismatch_and_summary():
    facts = host(paranoid=2)
    res = access.evaluate(facts, {'root': 'allowed', 'other': 'blocked', 'perf_users': 'allowed',
                                  'staff_t': 'allowed'})
    assert res['mismatches'] == [{'who': 'other', 'expected': 'blocked', 'verdict': 'partial'},
                                 {'who': 'staff_t', 'expected': 'allowed', 'verdict': 'blocked'}]
    by = dict((r['who'], r) for r in res['rows'])
    assert by['root']['mismatch'] is False and by['other']['mismatch'] is True
    assert res['summary'] == 'root, perf_users, other (partly) can use perf'
    res = access.evaluate(host(paranoid=3, variant='debian'))
    assert res['only_root'] is True and res['summary'] == 'only root can use perf' and res['mismatches'] == []
    assert access.validate_expected({'root': 'yes'}) == [
        "expected_access[root] is 'yes': use allowed, partial or blocked"]


def test_paranoid_variant_sources():
    pv = access.paranoid_variant
    assert pv('CONFIG_SECURITY_PERF_EVENTS_RESTRICT=y\n', '#1 SMP Debian 6.1.119-1', '6.1.0-28-amd64', 2)['source'] == 'config'
    assert pv('# CONFIG_SECURITY_PERF_EVENTS_RESTRICT is not set\n', '', 'x', 2)['variant'] == 'debian'
    assert pv('CONFIG_SECURITY_PERF_EVENTS_RESTRICT=y\n', '#45-Ubuntu SMP', '6.8.0-45-generic', 4)['variant'] == 'ubuntu'
    assert pv('', '#45-Ubuntu SMP PREEMPT_DYNAMIC', '6.8.0-45-generic', 4)['source'] == 'version'
    assert pv('', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)', '6.1.0-28-amd64', 3)['variant'] == 'debian'
    assert pv('', '#1 SMP', '6.12.0-custom', 3, 'runtime_only') == {
        'variant': 'debian', 'source': 'default',
        'evidence': 'the kernel runs perf_event_paranoid=3 and no sysctl file sets it: only the restrict patch '
                    'has a built-in default above 2'}
    assert pv('', '#1 SMP', '6.12.0-custom', 3, 'file')['variant'] == 'upstream'     # set by a file: proves nothing
    assert pv('CONFIG_PERF_EVENTS=y\n', '#1 SMP', '6.1.0-28-amd64', 2)['variant'] == 'upstream'
    assert pv('', '#1 SMP', '6.1.0-28-amd64', 2) == {'variant': 'debian', 'source': 'release',
                                                     'evidence': 'Debian kernel release 6.1.0-28-amd64'}
    assert pv('', '#1 SMP', '5.3.7-301.fc31.x86_64', 2)['variant'] == 'upstream'


def test_readers():
    assert access.parse_lockdown('none integrity [confidentiality]\n') == 'confidentiality'
    assert access.parse_lockdown('[none] integrity confidentiality') == 'none'
    assert access.parse_lockdown(None) is None
    assert access.file_caps('cap_perfmon,cap_sys_ptrace,cap_syslog=ep') == set(['perfmon', 'sys_ptrace', 'syslog'])
    assert access.file_caps('cap_perfmon=p') == set()
    assert access.file_caps('') == set() and access.file_caps(None) is None
    cil = ('(allow user_t self (perf_event (open cpu)))\n(allow user_t self (capability2 (perfmon syslog)))\n'
           '(allow staff_t user_t (perf_event (read)))\n(allow user_t self (file (read)))\n')
    assert access.perf_rules(cil) == [
        {'source': 'user_t', 'target': 'self', 'class': 'perf_event', 'perms': ['cpu', 'open']},
        {'source': 'user_t', 'target': 'self', 'class': 'capability2', 'perms': ['perfmon']},
        {'source': 'staff_t', 'target': 'user_t', 'class': 'perf_event', 'perms': ['read']}]


@pytest.mark.parametrize('paranoid,variant,blocks', [
    (3, 'debian', True), (4, 'debian', True), (2, 'debian', False), (-1, 'debian', False),
    (4, 'ubuntu', True), (3, 'ubuntu', True), (2, 'ubuntu', False),
    (3, 'upstream', False), (4, 'upstream', False), (None, 'debian', False)])
def test_paranoid_gate(paranoid, variant, blocks):
    """The gate perf_module reads before probing: only the distro patch at 3+ refuses before SELinux."""
    g = access.paranoid_gate(host(paranoid=paranoid, variant=variant))
    assert g['blocks'] is blocks
    assert g['level'] == paranoid and g['variant'] == variant
    assert g['restrict_level'] == (None if variant == 'upstream' else 3)
    if blocks:
        assert g['reason'].startswith('kernel.perf_event_paranoid is %d on this %s kernel' % (paranoid, variant.capitalize()))
        assert 'before SELinux is asked' in g['reason'] and 'no perf_event AVC is logged' in g['reason']
    elif paranoid is None:
        assert g['reason'] == 'kernel.perf_event_paranoid is unreadable'
    else:
        assert g['reason'] == 'kernel.perf_event_paranoid %d does not refuse before SELinux (%s)' % (paranoid, variant)
