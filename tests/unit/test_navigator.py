"""ansible-navigator (the AAP developer CLI) runs the collection from the installed tarball with
--ee false in stdout mode, and its playbook artifact - the JSON `ansible-navigator replay`
reads back, what AAP developers hand each other - holds our tasks, all ok or skipped.

Reuses the tarball fixture of test_collection_tarball_playbook.py (built, or the release
tarball with PERFSEC_RELEASE_TARBALL, installed offline into a clean collections path). The
playbook is a project file importing perfsec.selinux.enable_perf_mac, as an AAP project
would; --check --diff on localhost (relabel_mode=never: this controller's kernel has SELinux
off). No VM: the ansible-runner test of tests/operator covers a real host.
"""
import json
import os
import sys

import pytest

from test_collection_tarball_playbook import BIN, installed, _run  # noqa: F401  pylint: disable=unused-import

NAV = os.path.join(BIN, 'ansible-navigator')
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not os.path.exists(NAV), reason='ansible-navigator not installed')]


def test_navigator_run_ee_false_stdout_and_replay(installed):  # noqa: F811
    work, tmp = installed['work'], installed['tmp']
    home = tmp / 'nav-home'
    home.mkdir(exist_ok=True)
    (work / 'site.yml').write_text('- name: Run perfsec.selinux.enable_perf_mac\n'
                                   '  ansible.builtin.import_playbook: perfsec.selinux.enable_perf_mac\n')
    env = dict(installed['env'], HOME=str(home), TERM='dumb')
    artifact = tmp / 'navigator-artifact.json'
    rc, out = _run([NAV, 'run', 'site.yml', '--ee', 'false', '--mode', 'stdout', '--pae', 'true', '--pas', str(artifact),
                    '--lf', str(tmp / 'navigator.log'), '-i', 'localhost,', '-c', 'local', '--check', '--diff',
                    '-e', 'relabel_mode=never', '-e', 'ansible_python_interpreter=%s' % sys.executable],
                   env, str(work))
    assert rc == 0, out
    assert 'PLAY RECAP' in out and 'failed=0' in out, out
    with open(str(artifact)) as f:
        art = json.load(f)
    assert art['status'] == 'successful', art['status']
    assert [p['name'] for p in art['plays']][0].startswith('Enable perf MAC'), [p['name'] for p in art['plays']]
    tasks = [t for p in art['plays'] for t in p['tasks']]
    assert {t['__result'] for t in tasks} <= {'Ok', 'Skipped'}, sorted({t['__result'] for t in tasks})
    facts = [t for t in tasks if t.get('resolved_action') == 'perfsec.selinux.perf_mac_facts']
    assert facts and all(t['task_path'].startswith(str(installed['coll'])) for t in facts), facts[:1]
    # the artifact replays
    rc, out = _run([NAV, 'replay', str(artifact), '--ee', 'false', '--mode', 'stdout',
                    '--lf', str(tmp / 'navigator-replay.log')], env, str(work))
    assert rc == 0 and 'PLAY RECAP' in out, out
