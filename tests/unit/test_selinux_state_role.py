"""The selinux_state role in the real ansible-playbook: a host without SELinux (perf_mac_facts of an empty
root, the caller's facts current) fails after the plan with the message of the former assert, and the plan's
note is the text of the former "Say what is left to do" Jinja (both copied here)."""
import os
import sys

import pytest

from helpers import run_playbook_json

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK_BIN), reason='no ansible-playbook in this lane')

BOOK = """---
- name: The note
  hosts: all
  gather_facts: false
  vars:
    selinux_state_configfile: /srv/img/etc/selinux/config
    selinux_state_mode: enforcing
    __plan: "{{ {'status': 'disabled', 'enabled': false} | perfsec.selinux.selinux_state_plan('enforcing', '', inventory_hostname,
                                                                                               selinux_state_configfile) }}"
    selinux_state_applied: "{{ __plan.applied }}"
  tasks:
    - name: The former Jinja and the plan's note
      ansible.builtin.debug:
        msg:
          - >-
            {{ inventory_hostname }}: SELinux is disabled in the running kernel; {{ selinux_state_applied }} was
            written to {{ selinux_state_configfile }}. Relabel and reboot (perfsec.selinux.relabel), then run this
            role again for {{ selinux_state_mode }}.
          - "{{ __plan.note }}"

- name: A host without SELinux
  hosts: all
  gather_facts: false
  vars:
    selinux_state_configfile: /nonexistent/selinux/config
  tasks:
    - name: Read an empty root (no selinuxfs, no config)
      perfsec.selinux.perf_mac_facts:
        root: %(root)s
        gather_modules: false
        gather_denials: false

    - name: The former assert's message
      ansible.builtin.debug:
        msg: >-
          {{ inventory_hostname }} has no SELinux configuration ({{ selinux_state_configfile }} missing, no
          selinuxfs). Install the SELinux policy packages first (Debian: selinux-basics selinux-policy-default,
          then selinux-activate; Fedora/EL: selinux-policy-targeted).

    - name: The role, with the caller's facts current (no read of its own)
      ansible.builtin.include_role:
        name: perfsec.selinux.selinux_state
      vars:
        selinux_state_facts_current: true
"""


def test_no_selinux_fails_with_the_message_and_the_note_is_the_text(tmp_path):
    root = tmp_path / 'root'
    root.mkdir()
    rc, plays, out, err = run_playbook_json(tmp_path, BOOK % {'root': root}, PLAYBOOK_BIN, host='web1')
    assert rc == 2, out[-4000:] + err[-2000:]
    tasks = dict((t['task']['name'], t['hosts']['web1']) for t in plays[1]['tasks'])
    assert tasks['Read an empty root (no selinuxfs, no config)']['ansible_facts']['perfsec']['selinux']['status'] == 'absent'
    want = tasks["The former assert's message"]['msg']
    assert want.startswith('web1 has no SELinux configuration (/nonexistent/selinux/config missing, no selinuxfs). ')
    assert tasks['perfsec.selinux.selinux_state : Read the SELinux state'].get('skipped') is True
    failed = tasks['perfsec.selinux.selinux_state : Refuse a host without SELinux (what to install; '
                   'module_utils/selinuxstate.py)']
    assert failed['failed'] is True and failed['msg'] == want, failed['msg']
    assert [n for n in tasks if 'Set the SELinux mode' in n] == []      # it stopped there
    old, new = plays[0]['tasks'][0]['hosts']['web1']['msg']
    assert new == old
    assert old == ('web1: SELinux is disabled in the running kernel; permissive was written to '
                   '/srv/img/etc/selinux/config. Relabel and reboot (perfsec.selinux.relabel), then run this role '
                   'again for enforcing.')
