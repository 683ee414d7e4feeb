"""playbooks/harvest.yml (issue 20) end to end on the controller: two local "hosts", each with
its own recorded audit log (one poisoned), one merge on the controller. --check writes no
file; the first run writes it (0600); the second run with the same logs changes nothing; a
host whose log is gone shows in the summary; an empty harvest writes no file.
"""
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AUDIT = os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'audit')
pytestmark = pytest.mark.slow


def run_playbook(tmp, extra=(), check=False, diff=False):
    ap = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(ap):
        pytest.skip('ansible-playbook is not installed in this lane (%s)' % sys.executable)
    env = dict(os.environ, LC_ALL='C.UTF-8', LANG='C.UTF-8',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCAL_TEMP=os.path.join(tmp, 'ansible-tmp'))
    cmd = [ap, '-i', os.path.join(tmp, 'inventory'), 'perfsec.selinux.harvest', '-e', 'perfsec_harvest_since=0',
           '-e', '{"perfsec_harvest_domains": ["user_t", "staff_t"]}', '-e', 'perfsec_harvest_dest=%s/out.te' % tmp]
    for e in extra:
        cmd += ['-e', e]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    res = subprocess.run(cmd, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout
    return res.stdout


def recap_changed(out):
    return dict((h, int(c)) for h, c in re.findall(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)', out, re.M))


@pytest.fixture()
def fleet(tmp_path):
    tmp = str(tmp_path)
    for host, log in (('web1', 'perf_clean.log'), ('web2', 'perf_poisoned.log')):
        os.makedirs(os.path.join(tmp, host))
        shutil.copy(os.path.join(AUDIT, log), os.path.join(tmp, host, 'audit.log'))
    with open(os.path.join(tmp, 'inventory'), 'w') as f:
        f.write('[perf]\n')
        for host in ('web1', 'web2'):
            f.write('%s ansible_connection=local ansible_python_interpreter=%s perfsec_harvest_audit_log=%s/%s/audit.log\n'
                    % (host, sys.executable, tmp, host))
    return tmp


def test_harvest_check_then_write_then_unchanged(fleet):
    te = os.path.join(fleet, 'out.te')
    out = run_playbook(fleet, check=True, diff=True)
    assert not os.path.exists(te) and '+allow user_t self:perf_event' in out
    out = run_playbook(fleet)
    assert recap_changed(out)['web1'] == 1 and stat.S_IMODE(os.stat(te).st_mode) == 0o600
    text = open(te).read()
    assert 'allow user_t self:perf_event { cpu kernel open read tracepoint };' in text
    assert 'allow staff_t self:perf_event { cpu open };' in text and 'sshd_t' not in text.split('require')[1]
    assert 'hosts: web1=ok, web2=ok' in out and 'skipped by host: web1=5, web2=22' in out
    assert ('against the installed modules (per checksum): [3] rules to add, [0] installed rules not in this file '
            '(not denied in this window; installing the file would remove them)') in out
    out = run_playbook(fleet)
    assert sum(recap_changed(out).values()) == 0 and open(te).read() == text
    # a host without its log: reported, the other host's rules remain
    os.unlink(os.path.join(fleet, 'web2', 'audit.log'))
    out = run_playbook(fleet, extra=['perfsec_harvest_journal=never'])
    assert 'web2: no audit log' in out and 'web2=no_log' in out


def test_empty_harvest_writes_no_file(fleet):
    out = run_playbook(fleet, extra=['{"perfsec_harvest_domains": ["nobody_t"]}'])
    assert 'no perf denials since 1970-01-01T00:00:00Z on 2 hosts' in out
    assert not os.path.exists(os.path.join(fleet, 'out.te'))
