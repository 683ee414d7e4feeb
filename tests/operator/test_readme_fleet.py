"""README.md's "On your fleet" commands, extracted from the README text itself and run as
written against the test-bed VM, so the README cannot drift.

Every fenced block whose info string is ``sh fleet-example LABEL`` is one step; the labels
below must all be there, once each, in this order. Each block runs with bash -euo pipefail in
one working directory (the controller's project directory) with a fresh HOME (so
`ansible-galaxy collection install` goes to ~/.ansible/collections, its default), the release
tarball copied there (what the README tells the reader to do), and this checkout's venv on
PATH (ansible-core with the ansible.posix of the `ansible` package).

What the reader's controller has and the README cannot show is the ssh side: the inventory
names perf1.example.com, which an ssh_config (ANSIBLE_SSH_ARGS=-F ...) maps to the VM's
forwarded port, user root and key, as ~/.ssh/config would on a real controller. The git
install resolves https://github.com/perfsec/selinux.git to this checkout's git repository
(git's url.<base>.insteadOf, in the environment): no network here, same command.
"""
import os
import re
import shutil

import pytest

from opslib import BIN, ROOT, clean_env, run, vm_ssh

pytestmark = pytest.mark.vm

BLOCK = re.compile(r'^```sh fleet-example ([\w-]+)\n(.*?)^```[ \t]*$', re.M | re.S)
STEPS = ['install-tarball', 'install-git', 'inventory', 'check', 'report', 'run', 'rollback']


def readme_blocks():
    with open(os.path.join(ROOT, 'README.md')) as f:
        text = f.read()
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


def test_readme_has_the_fleet_steps():
    labels = [block[0] for block in readme_blocks()]
    assert labels == STEPS, labels


def recap(out, host='perf1.example.com'):
    m = re.search(r'^%s\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)' % re.escape(host),
                  out, re.M)
    assert m, out[-3000:]
    return dict(zip(('ok', 'changed', 'unreachable', 'failed'), (int(x) for x in m.groups())))


@pytest.fixture(scope='module')
def controller(tmp_path_factory, tarball, vm):
    base = tmp_path_factory.mktemp('fleet')
    work, home = base / 'project', base / 'home'
    work.mkdir()
    home.mkdir()
    shutil.copy(tarball, str(work))
    ssh_config = base / 'ssh_config'
    ssh_config.write_text(
        'Host perf1.example.com\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n'
        '  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n'
        '  ServerAliveInterval 10\n  ServerAliveCountMax 3\n' % (vm['port'], vm['identity_file']))
    env = clean_env(HOME=str(home), ANSIBLE_SSH_ARGS='-F %s -o ControlMaster=auto -o ControlPersist=60s' % ssh_config,
                    ANSIBLE_LOCAL_TEMP=str(base / 'ansible-local'))
    return {'work': work, 'home': home, 'env': env, 'base': base}


def step(controller, label):
    blocks = dict(readme_blocks())
    assert label in blocks, label
    rc, out = run(['bash', '-euo', 'pipefail', '-c', blocks[label]], controller['env'], str(controller['work']),
                  timeout=2400)
    assert rc == 0, '%s:\n%s\n---\n%s' % (label, blocks[label], out[-6000:])
    return out


def test_install_from_git(tmp_path, controller):
    """The git install, in its own HOME (the tarball install below is the one the steps use)."""
    env = dict(controller['env'], HOME=str(tmp_path), GIT_CONFIG_COUNT='1',
               GIT_CONFIG_KEY_0='url.file://%s/.git.insteadOf' % ROOT,
               GIT_CONFIG_VALUE_0='https://github.com/perfsec/selinux.git')
    blocks = dict(readme_blocks())
    rc, out = run(['bash', '-euo', 'pipefail', '-c', blocks['install-git']], env, str(tmp_path))
    assert rc == 0, out
    assert 'perfsec.selinux:' in out and 'was installed successfully' in out, out
    coll = tmp_path / '.ansible' / 'collections' / 'ansible_collections' / 'perfsec' / 'selinux'
    assert (coll / 'playbooks' / 'enable_perf_mac.yml').is_file()
    rc, out = run([os.path.join(BIN, 'ansible-doc'), 'perfsec.selinux.perf_mac_facts'], env, str(tmp_path))
    assert rc == 0 and str(coll) in out, out


def test_fleet_steps_as_written(controller, vm):
    out = step(controller, 'install-tarball')
    assert 'was installed successfully' in out, out
    assert (controller['home'] / '.ansible' / 'collections' / 'ansible_collections' / 'perfsec' / 'selinux').is_dir()

    step(controller, 'inventory')

    out = step(controller, 'check')
    r = recap(out)
    assert (r['failed'], r['unreachable']) == (0, 0) and r['changed'] > 0, r  # would-be changes
    assert 'perf1.example.com: final_mode (' in out and 'module (' in out, out[-4000:]  # the plan line
    state = vm_ssh(vm, 'semodule -l | grep -c "^perfsec_perf$" || true; getenforce')[1]
    assert state.split() == ['0', 'Permissive'], state

    out = step(controller, 'report')
    assert recap(out)['failed'] == 0
    html = controller['work'] / 'perfsec-report' / 'perfsec-report.html'
    md = controller['work'] / 'perfsec-report' / 'perfsec-report.md'
    assert html.is_file() and md.is_file()
    assert 'perf1.example.com' in md.read_text()

    out = step(controller, 'run')
    r = recap(out)
    assert (r['failed'], r['unreachable']) == (0, 0) and r['changed'] > 0, r
    state = vm_ssh(vm, 'semodule -l | grep -c "^perfsec_perf$" || true; getenforce')[1]
    assert state.split() == ['1', 'Enforcing'], state

    out = step(controller, 'rollback')
    r = recap(out)
    assert (r['failed'], r['unreachable']) == (0, 0) and r['changed'] > 0, r
    state = vm_ssh(vm, 'semodule -l | grep -c "^perfsec_perf$" || true; getenforce')[1]
    assert state.split() == ['0', 'Permissive'], state
