"""The collection run the way AWX / Ansible Automation Platform run it: `ansible-runner run` on
a private data dir, against the test-bed VM.

The private data dir is what AWX writes for a job: project/ (a project whose playbooks import
ours by name, with the collection installed offline from the tarball into the collections
path the job uses, as AWX installs a project's collections/requirements.yml), inventory/hosts,
env/extravars, env/envvars, env/cmdline (the job template's check mode and diff) and
env/ssh_key (the machine credential: ansible-runner loads it into an ssh-agent). Asserted:
the runner's status and rc, the job events of our tasks (event_data.task / resolved_action,
no failed or unreachable event), and artifacts/<ident>/{status,rc,stdout,job_events}, and the
report files the report job wrote.
"""
import glob
import json
import os
import shutil

import pytest
import yaml

from opslib import BIN, clean_env, run, vm_ssh

pytestmark = pytest.mark.vm

PLAYBOOKS = {
    'enable_perf_mac.yml': 'perfsec.selinux.enable_perf_mac',
    'report.yml': 'perfsec.selinux.report',
}


@pytest.fixture(scope='module')
def pdd(tmp_path_factory, tarball, vm):
    """The private data dir, as AWX lays it out for a job."""
    base = tmp_path_factory.mktemp('runner')
    pdd = base / 'pdd'
    for d in ('project', 'inventory', 'env', 'collections'):
        (pdd / d).mkdir(parents=True)
    for name, fqcn in PLAYBOOKS.items():
        (pdd / 'project' / name).write_text(yaml.safe_dump(
            [{'name': 'Run %s' % fqcn, 'ansible.builtin.import_playbook': fqcn}], sort_keys=False))
    # the collection, from the release tarball, offline, into the job's collections path
    rc, out = run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '-p',
                   str(pdd / 'collections'), tarball], clean_env(HOME=str(base)), str(base))
    assert rc == 0 and 'was installed successfully' in out, out
    (pdd / 'inventory' / 'hosts').write_text(yaml.safe_dump({'all': {'hosts': {'fleet1': {
        'ansible_host': '127.0.0.1', 'ansible_port': vm['port'], 'ansible_user': 'root',
        'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
                                   '-o ServerAliveInterval=10 -o ServerAliveCountMax=3',
        'ansible_python_interpreter': '/usr/bin/python3'}}}}))
    shutil.copy(vm['identity_file'], str(pdd / 'env' / 'ssh_key'))
    os.chmod(str(pdd / 'env' / 'ssh_key'), 0o600)
    (pdd / 'env' / 'extravars').write_text(yaml.safe_dump({'report_output_dir': str(base / 'reports')}))
    (pdd / 'env' / 'envvars').write_text(yaml.safe_dump({
        'ANSIBLE_COLLECTIONS_PATH': str(pdd / 'collections'), 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_HOST_KEY_CHECKING': 'False'}))
    (pdd / 'env' / 'settings').write_text(yaml.safe_dump({'job_timeout': 1800, 'idle_timeout': 900}))
    return {'pdd': pdd, 'base': base, 'coll': pdd / 'collections' / 'ansible_collections' / 'perfsec' / 'selinux'}


def runner(pdd, playbook, ident, cmdline=None):
    env_cmdline = pdd['pdd'] / 'env' / 'cmdline'
    if cmdline:
        env_cmdline.write_text(cmdline)
    elif env_cmdline.exists():
        env_cmdline.unlink()
    rc, out = run([os.path.join(BIN, 'ansible-runner'), 'run', str(pdd['pdd']), '-p', playbook, '--ident', ident],
                  clean_env(HOME=str(pdd['base'])), str(pdd['base']))
    art = pdd['pdd'] / 'artifacts' / ident
    events = []
    for path in glob.glob(str(art / 'job_events' / '*.json')):
        with open(path) as f:
            events.append(json.load(f))
    events.sort(key=lambda e: e['counter'])
    return rc, out, art, events


def check_artifacts(rc, out, art, events):
    assert rc == 0, out
    assert (art / 'status').read_text().strip() == 'successful', out
    assert (art / 'rc').read_text().strip() == '0'
    stdout = (art / 'stdout').read_text()
    assert 'PLAY RECAP' in stdout and 'fleet1' in stdout
    bad = [e for e in events if e['event'] in ('runner_on_failed', 'runner_on_unreachable')
           and not e['event_data'].get('ignore_errors')]
    assert bad == [], json.dumps(bad, indent=1)[:4000]
    stats = [e for e in events if e['event'] == 'playbook_on_stats']
    assert len(stats) == 1
    st = stats[0]['event_data']
    assert st['failures'] == {} and st['dark'] == {}, st
    assert st['ok'].get('fleet1', 0) > 0, st
    return stdout, st


def ours(events, coll, kinds=('runner_on_ok',)):
    """Task results of ours: tasks read from the installed collection, by event kind."""
    return [e for e in events if e['event'] in kinds and e['event_data'].get('host') == 'fleet1'
            and str(coll) in e['event_data'].get('task_path', '')]


def test_enable_perf_mac_check_mode_under_ansible_runner(pdd, vm):
    rc, out, art, events = runner(pdd, 'enable_perf_mac.yml', 'check', cmdline='--check --diff')
    stdout, st = check_artifacts(rc, out, art, events)
    mine = ours(events, pdd['coll'], ('runner_on_ok', 'runner_on_skipped'))
    # check mode reports what it would change: on a fresh permissive Debian 12, the mode and the
    # perf module, by our tasks (the host itself is checked unchanged below)
    would = {e['event_data'].get('resolved_action') for e in mine
             if e['event'] == 'runner_on_ok' and e['event_data']['res'].get('changed')}
    assert st['changed'].get('fleet1', 0) == len([e for e in mine if e['event'] == 'runner_on_ok'
                                                  and e['event_data']['res'].get('changed')]), st
    assert 'perfsec.selinux.perf_semodule' in would and 'ansible.posix.selinux' in would, would
    assert mine, 'no task of perfsec.selinux ran from the installed collection'
    tasks = {e['event_data']['task'] for e in mine}
    actions = {e['event_data'].get('resolved_action') for e in mine}
    assert 'perfsec.selinux.perf_mac_facts' in actions, sorted(actions)
    facts = [e for e in mine if e['event_data'].get('resolved_action') == 'perfsec.selinux.perf_mac_facts'
             and e['event'] == 'runner_on_ok']
    plan = facts[0]['event_data']['res'].get('plan') or facts[0]['event_data']['res']['ansible_facts']['perfsec']
    assert plan, facts[0]['event_data']['res']
    # the plan is printed, and the host got its steps: a permissive Debian 12 needs the module
    assert 'fleet1: ' in stdout and 'module' in stdout, stdout[-3000:]
    assert any(t.startswith('Plan') or 'plan' in t.lower() for t in tasks), sorted(tasks)
    # check mode changed nothing on the host
    mods = vm_ssh(vm, 'semodule -l | grep -c "^perfsec_perf$" || true; getenforce')[1]
    assert mods.split() == ['0', 'Permissive'], mods


def test_report_under_ansible_runner(pdd):
    rc, out, art, events = runner(pdd, 'report.yml', 'report')
    stdout, st = check_artifacts(rc, out, art, events)
    mine = ours(events, pdd['coll'])
    assert 'perfsec.selinux.perf_mac_facts' in {e['event_data'].get('resolved_action') for e in mine}
    reports = pdd['base'] / 'reports'
    html, md = reports / 'perfsec-report.html', reports / 'perfsec-report.md'
    assert html.is_file() and md.is_file(), os.listdir(str(reports)) if reports.exists() else 'no report dir'
    assert 'fleet1' in md.read_text() and 'fleet1' in html.read_text()
    # the job's stdout has the report's one line per host
    assert 'fleet1' in stdout
