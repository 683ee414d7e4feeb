"""enable_perf_mac's perfsec_* variables are validated by perfsec.selinux.rollout's argument
spec: a wrong value fails the first task, naming the allowed values, before anything touches
the host (the real ansible-playbook, a local host whose plan would otherwise be read)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK_BIN), reason='no ansible-playbook in this lane')


def run(tmp_path, *extra):
    inv = str(tmp_path / 'inventory.ini')
    with open(inv, 'w') as f:
        f.write('host1 ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    env = dict(os.environ, LC_ALL='C.UTF-8', ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'))
    cmd = [PLAYBOOK_BIN, '-i', inv, 'perfsec.selinux.enable_perf_mac', '--check']
    for e in extra:
        cmd += ['-e', e]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       env=env, check=False)
    return p.returncode, p.stdout


@pytest.mark.parametrize('extra,expect', [
    ('perfsec_build=alway', r"perfsec_build.*(one of|choices).*auto, always, never"),
    ('perfsec_final_mode=disabled', r"perfsec_final_mode.*(one of|choices).*enforcing, permissive"),
    ('{"perfsec_perf_permissions": ["open", "ioctl"]}', r"perfsec_perf_permissions.*(one of|choices)"),
    ('perfsec_perf_module_priority=high', r"perfsec_perf_module_priority.*(int|integer)"),
])
def test_a_wrong_value_fails_first_with_the_allowed_values(tmp_path, extra, expect):
    rc, out = run(tmp_path, extra)
    assert rc != 0, out[-3000:]
    assert re.search(expect, out), out[-3000:]
    # it failed at the validation, before the plan read the host
    assert 'Plan the host' not in out, out[-3000:]


@pytest.mark.parametrize('extra,expect', [
    (['perfsec_profile=stig', 'paranoid_level=1'],
     r"perfsec_profile stig keeps kernel.perf_event_paranoid at exactly 2 \(DISA STIG / ComplianceAsCode "
     r"sysctl_kernel_perf_event_paranoid, CCE-81054-9 / CCE-83959-7 / CCE-90142-1\); level 1 was requested"),
    (['perfsec_profile=stig', 'paranoid_kptr_restrict=0'], r"perfsec_profile stig keeps kernel.kptr_restrict at 1"),
])
def test_the_stig_profile_refuses_before_the_plan(tmp_path, extra, expect):
    rc, out = run(tmp_path, *extra)
    assert rc != 0, out[-3000:]
    assert re.search(expect, out), out[-3000:]
    assert 'Plan the host' not in out, out[-3000:]
