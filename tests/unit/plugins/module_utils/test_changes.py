"""module_utils/changes.py row by row: each step's line from the plan and what the step returned,
their order (the perf module before the final mode when it was probed while permissive), and no
line for a step that was planned but changed nothing or was not reached."""
import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils.changes import changes, policy_problem


def plan(*steps, **kw):
    p = {'needs': dict((s, True) for s in steps), 'probe_permissive': None,
         'class_module': {'name': 'perfsec_perf_event', 'priority': 250}}
    p.update(kw)
    return p


@pytest.mark.parametrize('steps,done,line', [
    ((), {'installed': ['selinux-policy-1-1.perf1.noarch', 'selinux-policy-targeted-1-1.perf1.noarch']},
     'policy installed: selinux-policy-1-1.perf1.noarch, selinux-policy-targeted-1-1.perf1.noarch'),
    (('class_module',), {'class_module': True}, 'class perf_event from module perfsec_perf_event@250 (no rebuild, no reboot)'),
    (('class_module', 'relabel'), {'class_module': True}, 'class perf_event from module perfsec_perf_event@250'),
    (('permissive',), {'permissive': True}, 'permissive for the relabel'),
    (('relabel',), {'relabelled': True}, 'relabelled and rebooted'),
    (('paranoid',), {'paranoid': {'status': 'pass', 'file': '/etc/sysctl.d/99-zz-perfsec-perf.conf'}},
     'kernel.perf_event_paranoid 2 (STIG check pass, /etc/sysctl.d/99-zz-perfsec-perf.conf wins at boot)'),
    (('audit_rule',), {'audit_rule': '/etc/audit/rules.d/perfsec-perf.rules'},
     'audit rule /etc/audit/rules.d/perfsec-perf.rules loaded'),
    (('final_mode',), {'final_mode': True}, 'enforcing (config and runtime)'),
    (('module',), {'module': True}, 'perf module perfsec_perf installed at 300'),
    (('module',), {'module_waits': True}, 'perf module perfsec_perf (after the new policy is loaded)'),
])
def test_each_line(steps, done, line):
    assert changes(plan(*steps), done) == [line]


@pytest.mark.parametrize('steps,done', [
    (('class_module',), {'class_module': False}),          # planned, the task changed nothing
    ((), {'class_module': True}),                          # not planned
    (('relabel',), {'relabelled': False}),                 # not reached (an earlier step failed)
    (('paranoid',), {'paranoid': None}),
    (('audit_rule',), {'audit_rule': None}),
    (('final_mode',), {'final_mode': False}),
    ((), {'module_waits': True}),
    ((), {}),
])
def test_no_line(steps, done):
    assert changes(plan(*steps), done) == []


def test_order_and_the_probe_before_the_final_mode():
    done = {'installed': ['p-1'], 'permissive': True, 'relabelled': True, 'final_mode': True, 'module': True,
            'audit_rule': '/r'}
    steps = ('policy_install', 'permissive', 'relabel', 'audit_rule', 'final_mode', 'module')
    assert changes(plan(*steps), done, final_mode='enforcing') == [
        'policy installed: p-1', 'permissive for the relabel', 'relabelled and rebooted', 'audit rule /r loaded',
        'enforcing (config and runtime)', 'perf module perfsec_perf installed at 300']
    probed = plan(*steps, probe_permissive='module before final_mode (the host is permissive now)')
    assert changes(probed, done, module_name='m', module_priority=400)[-2:] == [
        'perf module m installed at 400 (probed while permissive, one transaction)', 'enforcing (config and runtime)']


@pytest.mark.parametrize('selinux,declared,ready', [
    ({'enabled': True, 'perf_event_class': True, 'autorelabel_pending': False}, {}, True),
    ({'enabled': True, 'perf_event_class': False, 'autorelabel_pending': False}, {'perf_event': True}, True),
    ({'enabled': True, 'perf_event_class': False, 'autorelabel_pending': False}, {'perf_event': False}, False),
    ({'enabled': True, 'perf_event_class': False, 'autorelabel_pending': False}, None, False),
    ({'enabled': False, 'perf_event_class': True, 'autorelabel_pending': False}, {}, False),
    ({'enabled': True, 'perf_event_class': True, 'autorelabel_pending': True}, {}, False),
    ({}, {}, False),
])
def test_policy_problem_rows(selinux, declared, ready):
    problem = policy_problem(selinux, declared, ['class from module'], 'enforcing')
    assert (problem == '') is ready
    if not ready:
        assert problem.startswith('SELinux enabled=%s, class perf_event defined=%s, relabel pending=%s; '
                                  % (bool(selinux.get('enabled')), bool(selinux.get('perf_event_class')),
                                     bool(selinux.get('autorelabel_pending'))))
        assert 'plan notes: class from module.' in problem and problem.endswith('before going enforcing.')


def test_policy_problem_without_notes():
    assert 'plan notes: none.' in policy_problem({'enabled': False}, {}, [], 'permissive')


SKIPPED = {'changed': False, 'skipped': True}
STIG = {'status': 'pass', 'file': '/etc/sysctl.d/99-zz-perfsec-perf.conf'}


@pytest.mark.parametrize('steps,done,check_mode,lines', [
    ((), {'policy_install_result': {'changed': True, 'installed': ['p-1']}}, False, ['policy installed: p-1']),
    ((), {'policy_install_result': {'changed': False, 'installed': []}}, False, []),
    (('class_module',), {'class_module_result': {'changed': True}}, False,
     ['class perf_event from module perfsec_perf_event@250 (no rebuild, no reboot)']),
    (('class_module',), {'class_module_result': {'changed': False}}, False, []),
    # check mode skips the class module task: reached, it would change the store
    (('class_module',), {'class_module_result': SKIPPED}, True,
     ['class perf_event from module perfsec_perf_event@250 (no rebuild, no reboot)']),
    (('class_module',), {'class_module_result': None}, True, []),         # not reached
    (('paranoid',), {'paranoid_result': {'changed': True, 'stig': STIG}}, False,
     ['kernel.perf_event_paranoid 2 (STIG check pass, /etc/sysctl.d/99-zz-perfsec-perf.conf wins at boot)']),
    (('paranoid',), {'paranoid_result': {'changed': False, 'stig': STIG}}, False, []),
    (('audit_rule',), {'audit_rule_result': {'changed': True, 'path': '/r'}}, False, ['audit rule /r loaded']),
    (('audit_rule',), {'audit_rule_result': SKIPPED, 'paranoid_result': None}, False, []),
])
def test_lines_from_registered_results(steps, done, check_mode, lines):
    assert changes(plan(*steps), done, check_mode) == lines
