"""perfsec.selinux.rollback with rollback_strip_labels but without the exact confirmation sentence,
run by the real ansible-playbook on a local host: it fails at its first task with the one message
(module_utils/rollback.py), before the facts are read or any level runs; with the sentence the
refusal task is skipped (the check mode run stops nowhere else on this account)."""
import json
import os
import sys

import pytest

from helpers import run_playbook_json

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
CONFIRM = 'I understand that this removes every SELinux label'

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK_BIN), reason='no ansible-playbook in this lane')

BOOK = """- hosts: all
  gather_facts: false
  tasks:
    - name: The role, strip labels only
      ansible.builtin.include_role:
        name: perfsec.selinux.rollback
        tasks_from: main
      vars:
        rollback_module: false
        rollback_strip_labels: true
        rollback_strip_labels_confirm: %(confirm)s
        rollback_reboot: never
"""


def run(tmp_path, confirm):
    rc, plays, out, _err = run_playbook_json(tmp_path, BOOK % {'confirm': json.dumps(confirm)}, PLAYBOOK_BIN,
                                             args=['--check'])
    return rc, [(t['task']['name'], t['hosts']['host1']) for t in plays[0]['tasks']], out[-3000:]


@pytest.mark.parametrize('confirm', ['', 'yes', CONFIRM + '.'])
def test_without_the_sentence_it_stops_first_with_one_message(tmp_path, confirm):
    rc, tasks, out = run(tmp_path, confirm)
    assert rc == 2, out
    name, res = tasks[-1]
    assert name.startswith('perfsec.selinux.rollback : Refuse rollback_strip_labels'), out
    assert res['failed'] is True
    assert res['msg'] == ('rollback_strip_labels removes every security.selinux label from the local file systems; '
                          're-enabling SELinux then needs a full relabel. Set rollback_strip_labels_confirm to exactly '
                          '"%s" to go ahead.' % CONFIRM)
    # nothing ran before it but the include and the argument spec validation
    assert [n for n, r in tasks if 'Read the SELinux state' in n] == []


def test_with_the_sentence_the_refusal_is_skipped(tmp_path):
    rc, tasks, out = run(tmp_path, CONFIRM)
    refusal = [r for n, r in tasks if 'Refuse rollback_strip_labels' in n]
    assert refusal and refusal[0].get('skipped') is True, out
    assert [n for n, r in tasks if 'Read the SELinux state before the rollback' in n], out
