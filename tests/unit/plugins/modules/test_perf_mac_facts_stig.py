"""perf_mac_facts (issue 17): the STIG check, kptr_restrict, the audit rule and its hits, and the plan's
paranoid / audit_rule steps, on a fake root."""
import os
import time

from ansible_collections.perfsec.selinux.plugins.modules import perf_mac_facts as pmf
from ansible_collections.perfsec.selinux.plugins.module_utils import auditrules as ar

from helpers import make_proc, make_root, run_module, write_file

HIT = ('type=SYSCALL msg=audit(%d.000:7): arch=c000003e syscall=298 success=no exit=-13 auid=1001 uid=1001 '
       'comm="perf" exe="/usr/bin/perf" subj=user_u:user_r:user_t:s0 key="perfsec-perf"\n')


def fake(tmp_path, paranoid=3, files=None):
    root = str(tmp_path)
    make_proc(root, paranoid=paranoid, extra={'kptr_restrict': 1})
    base = {'/etc/selinux/config': 'SELINUX=permissive\nSELINUXTYPE=default\n',
            '/etc/os-release': 'ID=rhel\nVERSION_ID="8.10"\nPRETTY_NAME="RHEL 8.10"\n',
            '/var/log/audit/audit.log': HIT % time.time()}
    base.update(files or {})
    make_root(root, base)
    return root


def facts(capsys, root, **args):
    r = run_module(pmf.main, capsys, check=True, root=root, gather_modules=False, **args)
    assert not r.get('failed'), r
    return r['ansible_facts']['perfsec']


def test_stig_fail_then_pass(tmp_path, capsys):
    root = fake(tmp_path, files={'/etc/sysctl.d/10-perf.conf': 'kernel.perf_event_paranoid = 3\n'})
    f = facts(capsys, root)
    assert f['os']['id'] == 'rhel' and f['stig']['cce'] == 'CCE-81054-9'
    assert f['stig']['status'] == 'fail' and f['stig']['file'] == '/etc/sysctl.d/10-perf.conf'
    write_file(os.path.join(root, 'etc/sysctl.d/99-zz-perfsec-perf.conf'), 'kernel.perf_event_paranoid = 2\n')
    write_file(os.path.join(root, 'proc/sys/kernel/perf_event_paranoid'), '2\n')
    f = facts(capsys, root)
    assert f['stig']['status'] == 'pass' and f['stig']['file'] == '/etc/sysctl.d/99-zz-perfsec-perf.conf'
    assert f['stig']['earlier'] == ['/etc/sysctl.d/10-perf.conf:1']


def test_kptr_and_audit_hits(tmp_path, capsys):
    root = fake(tmp_path)
    f = facts(capsys, root)
    assert f['kernel']['kptr_restrict'] == 1 and f['kptr']['symbols']['other'] is False
    a = f['audit_rule']
    assert a['present'] is False and a['hits']['count'] == 1 and a['hits']['failed'] == 1
    assert a['hits']['users'] == [{'name': '1001', 'count': 1}]
    assert facts(capsys, root, gather_denials=False)['audit_rule']['hits']['count'] == 0


def test_plan_steps_paranoid_and_audit_rule(tmp_path, capsys):
    root = fake(tmp_path)
    f = facts(capsys, root, plan={'profile': 'stig', 'audit_rule': True})
    steps = [s['step'] for s in f['plan']['steps']]
    assert 'paranoid' in steps and 'audit_rule' in steps and steps.index('paranoid') < len(steps)
    why = dict((s['step'], s['reason']) for s in f['plan']['steps'])
    assert why['paranoid'].startswith('perfsec_profile stig: kernel.perf_event_paranoid must be 2')
    assert 'does not exist' in why['audit_rule']
    # the rule file as perf_audit_rule writes it, and paranoid 2 persisted: neither step
    path = os.path.join(root, ar.DEFAULT_PATH.lstrip('/'))
    write_file(path, ar.render(ar.abis(os.uname()[4])))
    os.chmod(path, 0o600)
    write_file(os.path.join(root, 'etc/sysctl.d/99-zz-perfsec-perf.conf'), 'kernel.perf_event_paranoid = 2\n')
    write_file(os.path.join(root, 'proc/sys/kernel/perf_event_paranoid'), '2\n')
    f = facts(capsys, root, plan={'profile': 'stig', 'audit_rule': True})
    assert not f['plan']['needs']['paranoid'] and not f['plan']['needs']['audit_rule']
    assert f['audit_rule']['current'] is True and f['audit_rule']['managed'] is True
    # without the profile nothing is planned for paranoid, whatever its value
    write_file(os.path.join(root, 'proc/sys/kernel/perf_event_paranoid'), '3\n')
    f = facts(capsys, root, plan={})
    assert not f['plan']['needs']['paranoid'] and not f['plan']['needs']['audit_rule']


def test_intended_access_warns_per_blocked_row(tmp_path, capsys):
    root = fake(tmp_path)
    r = run_module(pmf.main, capsys, check=True, root=root, gather_modules=False,
                   intended_access=['perf_users', 'user_t'])
    blocked = r['ansible_facts']['perfsec']['access']['intended_blocked']
    assert [b['who'] for b in blocked] == ['perf_users', 'user_t']
    assert any('perf_users should be able to use perf but is blocked' in str(w) for w in r.get('warnings', []))
